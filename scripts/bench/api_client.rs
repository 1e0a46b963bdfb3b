//! Raw keep-alive HTTP/1.1 load client for scripts/bench-api.sh (std only, no crates).
//!
//! Built by the script with `rustc -O --edition 2021`. Every request is a `POST /` with an
//! ELBv2 Query-protocol form body and a fake SigV4 `Authorization` header (moto reads the region
//! and service from its credential scope; localelb reads the region from it).
//!
//! Usage:
//!   api_client ADDR reset PATH                  POST PATH once, exit 1 unless 200
//!   api_client ADDR vpc                         EC2 CreateVpc, print its id (moto needs a real VPC)
//!   api_client ADDR seed K                      create tg-seed-0..K-1 (C=1), exit 1 on any error
//!   api_client ADDR create C N SECS PREFIX      C connections x N CreateTargetGroup (unique names)
//!   api_client ADDR describe-name C N SECS K    DescribeTargetGroups Names.member.1=tg-seed-(i%K)
//!   api_client ADDR describe-all C N SECS       DescribeTargetGroups (no filter)
//!
//! CreateTargetGroup sends VpcId=$BENCH_VPC_ID (default vpc-12345678).
//!
//! Each connection stops after N requests or SECS seconds, whichever comes first. The result is
//! one line on stdout:
//!   RESULT ok=.. err=.. total=.. secs=.. rps=.. p50_ms=.. p99_ms=.. reconnects=..
//! where rps counts successful (200) requests over the wall time of the whole run and the
//! percentiles are over every request's latency (write of the request to the last body byte).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const AUTH: &str = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/elasticloadbalancing/aws4_request, SignedHeaders=host, Signature=0";
const AUTH_EC2: &str = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0";
const IO_TIMEOUT: Duration = Duration::from_secs(30);

struct Conn {
    addr: String,
    reader: Option<BufReader<TcpStream>>,
    reconnects: u64,
}

struct Response {
    status: u16,
    body: Vec<u8>,
}

impl Conn {
    fn new(addr: &str) -> Conn {
        Conn { addr: addr.to_string(), reader: None, reconnects: 0 }
    }

    fn connect(&mut self) -> std::io::Result<()> {
        let s = TcpStream::connect(&self.addr)?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(IO_TIMEOUT))?;
        s.set_write_timeout(Some(IO_TIMEOUT))?;
        self.reader = Some(BufReader::with_capacity(64 * 1024, s));
        Ok(())
    }

    fn close(&mut self) {
        if let Some(r) = self.reader.take() {
            let _ = r.get_ref().shutdown(Shutdown::Both);
        }
    }

    /// One request; a request on a reused connection that the server had already closed
    /// (error or EOF before any response byte) is retried once on a new connection.
    fn post(&mut self, path: &str, body: &str) -> std::io::Result<Response> {
        self.post_as(AUTH, path, body)
    }

    fn post_as(&mut self, auth: &str, path: &str, body: &str) -> std::io::Result<Response> {
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: localelb-bench\r\nAuthorization: {auth}\r\n\
             Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\nContent-Length: {}\r\n\
             Connection: keep-alive\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        let reused = self.reader.is_some();
        match self.try_post(req.as_bytes()) {
            Ok(r) => Ok(r),
            Err((e, got_bytes)) => {
                self.close();
                if reused && !got_bytes {
                    self.reconnects += 1;
                    self.try_post(req.as_bytes()).map_err(|(e, _)| {
                        self.close();
                        e
                    })
                } else {
                    Err(e)
                }
            }
        }
    }

    fn try_post(&mut self, req: &[u8]) -> Result<Response, (std::io::Error, bool)> {
        if self.reader.is_none() {
            self.connect().map_err(|e| (e, false))?;
        }
        let r = self.reader.as_mut().unwrap();
        r.get_mut().write_all(req).map_err(|e| (e, false))?;
        let (resp, keep) = read_response(r)?;
        if !keep {
            self.close();
            self.reconnects += 1;
        }
        Ok(resp)
    }
}

fn bad(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg)
}

fn read_line(r: &mut BufReader<TcpStream>, line: &mut String) -> std::io::Result<usize> {
    line.clear();
    let n = r.read_line(line)?;
    while line.ends_with('\n') || line.ends_with('\r') {
        line.pop();
    }
    Ok(n)
}

/// Reads one full response. Returns it and whether the connection may be reused.
/// The bool in the error tells whether any byte of the response had arrived.
fn read_response(r: &mut BufReader<TcpStream>) -> Result<(Response, bool), (std::io::Error, bool)> {
    let mut line = String::new();
    match read_line(r, &mut line) {
        Ok(0) => return Err((std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed"), false)),
        Ok(_) => {}
        Err(e) => return Err((e, false)),
    }
    let mut inner = || -> std::io::Result<(Response, bool)> {
        // Status line: HTTP/1.x NNN reason
        let mut parts = line.splitn(3, ' ');
        let version = parts.next().unwrap_or("").to_string();
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(format!("bad status line {line:?}")))?;
        let mut keep = version == "HTTP/1.1";
        let mut content_length: Option<usize> = None;
        let mut chunked = false;
        let mut h = String::new();
        loop {
            if read_line(r, &mut h)? == 0 {
                return Err(bad("EOF in headers".into()));
            }
            if h.is_empty() {
                break;
            }
            let Some((name, value)) = h.split_once(':') else { continue };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => {
                    content_length = Some(value.parse().map_err(|_| bad(format!("bad content-length {value:?}")))?)
                }
                "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
                "connection" => {
                    let v = value.to_ascii_lowercase();
                    if v.contains("close") {
                        keep = false;
                    } else if v.contains("keep-alive") {
                        keep = true;
                    }
                }
                _ => {}
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                if read_line(r, &mut h)? == 0 {
                    return Err(bad("EOF in chunk size".into()));
                }
                let size_str = h.split(';').next().unwrap_or("").trim();
                let size = usize::from_str_radix(size_str, 16).map_err(|_| bad(format!("bad chunk size {h:?}")))?;
                if size == 0 {
                    // trailers up to the empty line
                    loop {
                        if read_line(r, &mut h)? == 0 || h.is_empty() {
                            break;
                        }
                    }
                    break;
                }
                let start = body.len();
                body.resize(start + size, 0);
                r.read_exact(&mut body[start..])?;
                read_line(r, &mut h)?; // CRLF after the chunk
            }
        } else if let Some(n) = content_length {
            body.resize(n, 0);
            r.read_exact(&mut body)?;
        } else if !(100..200).contains(&status) && status != 204 && status != 304 {
            r.read_to_end(&mut body)?;
            keep = false;
        }
        Ok((Response { status, body }, keep))
    };
    inner().map_err(|e| (e, true))
}

#[derive(Default)]
struct Stats {
    ok: u64,
    err: u64,
    lat_ns: Vec<u64>,
    reconnects: u64,
    first_error: Option<String>,
}

fn snippet(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    let s: String = s.chars().take(300).collect();
    s.replace('\n', " ")
}

fn run_load(addr: &str, conc: usize, n: usize, secs: f64, body_for: Arc<dyn Fn(usize, usize) -> String + Send + Sync>) {
    let barrier = Arc::new(Barrier::new(conc + 1));
    let deadline_len = Duration::from_secs_f64(secs);
    let mut handles = Vec::new();
    for c in 0..conc {
        let barrier = barrier.clone();
        let addr = addr.to_string();
        let body_for = body_for.clone();
        handles.push(std::thread::spawn(move || {
            let mut conn = Conn::new(&addr);
            let mut st = Stats { lat_ns: Vec::with_capacity(n), ..Default::default() };
            // Connect before the clock starts, so a run measures requests, not handshakes.
            if let Err(e) = conn.connect() {
                st.first_error = Some(format!("connect: {e}"));
            }
            barrier.wait();
            let start = Instant::now();
            for i in 0..n {
                if start.elapsed() >= deadline_len {
                    break;
                }
                let body = body_for(c, i);
                let t0 = Instant::now();
                let res = conn.post("/", &body);
                let dt = t0.elapsed();
                st.lat_ns.push(dt.as_nanos() as u64);
                match res {
                    Ok(r) if r.status == 200 => st.ok += 1,
                    Ok(r) => {
                        st.err += 1;
                        if st.first_error.is_none() {
                            st.first_error = Some(format!("HTTP {}: {}", r.status, snippet(&r.body)));
                        }
                    }
                    Err(e) => {
                        st.err += 1;
                        if st.first_error.is_none() {
                            st.first_error = Some(format!("io: {e}"));
                        }
                    }
                }
            }
            conn.close();
            st.reconnects = conn.reconnects;
            st
        }));
    }
    barrier.wait();
    let start = Instant::now();
    let mut all = Stats::default();
    for h in handles {
        let st = h.join().expect("worker panicked");
        all.ok += st.ok;
        all.err += st.err;
        all.reconnects += st.reconnects;
        all.lat_ns.extend(st.lat_ns);
        if all.first_error.is_none() {
            all.first_error = st.first_error;
        }
    }
    let wall = start.elapsed().as_secs_f64();
    all.lat_ns.sort_unstable();
    let pct = |p: f64| -> f64 {
        if all.lat_ns.is_empty() {
            return f64::NAN;
        }
        // nearest-rank percentile
        let rank = ((p / 100.0) * all.lat_ns.len() as f64).ceil() as usize;
        all.lat_ns[rank.clamp(1, all.lat_ns.len()) - 1] as f64 / 1e6
    };
    if let Some(e) = &all.first_error {
        eprintln!("api_client: {} error(s); first: {e}", all.err);
    }
    println!(
        "RESULT ok={} err={} total={} secs={:.3} rps={:.1} p50_ms={:.3} p99_ms={:.3} reconnects={}",
        all.ok,
        all.err,
        all.ok + all.err,
        wall,
        all.ok as f64 / wall,
        pct(50.0),
        pct(99.0),
        all.reconnects
    );
}

/// The VpcId sent with CreateTargetGroup: `vpc-12345678` unless BENCH_VPC_ID is set (moto only
/// accepts VPCs that exist in its EC2 backend, so the script creates one there with `vpc`).
fn vpc_id() -> String {
    std::env::var("BENCH_VPC_ID").ok().filter(|v| !v.is_empty()).unwrap_or_else(|| "vpc-12345678".to_string())
}

fn create_body(name: &str, vpc: &str) -> String {
    format!("Action=CreateTargetGroup&Version=2015-12-01&Name={name}&Protocol=HTTP&Port=80&VpcId={vpc}")
}

fn usage() -> ! {
    eprintln!(
        "usage: api_client ADDR reset PATH | vpc | seed K | create C N SECS PREFIX | describe-name C N SECS K | describe-all C N SECS"
    );
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        usage();
    }
    let addr = args[0].clone();
    let arg = |i: usize| -> &str { args.get(i).map(String::as_str).unwrap_or_else(|| usage()) };
    let num = |i: usize| -> usize { arg(i).parse().unwrap_or_else(|_| usage()) };
    let secs = |i: usize| -> f64 { arg(i).parse().unwrap_or_else(|_| usage()) };
    match arg(1) {
        "reset" => {
            let mut c = Conn::new(&addr);
            match c.post(arg(2), "") {
                Ok(r) if r.status == 200 => {}
                Ok(r) => {
                    eprintln!("reset {}: HTTP {}: {}", arg(2), r.status, snippet(&r.body));
                    std::process::exit(1)
                }
                Err(e) => {
                    eprintln!("reset {}: {e}", arg(2));
                    std::process::exit(1)
                }
            }
        }
        "vpc" => {
            // EC2 CreateVpc; prints the new VPC's id.
            let mut c = Conn::new(&addr);
            match c.post_as(AUTH_EC2, "/", "Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0%2F16") {
                Ok(r) if r.status == 200 => {
                    let b = String::from_utf8_lossy(&r.body);
                    let id = b.split("<vpcId>").nth(1).and_then(|s| s.split('<').next());
                    match id {
                        Some(id) if !id.is_empty() => println!("{id}"),
                        _ => {
                            eprintln!("vpc: no <vpcId> in {}", snippet(&r.body));
                            std::process::exit(1)
                        }
                    }
                }
                Ok(r) => {
                    eprintln!("vpc: HTTP {}: {}", r.status, snippet(&r.body));
                    std::process::exit(1)
                }
                Err(e) => {
                    eprintln!("vpc: {e}");
                    std::process::exit(1)
                }
            }
        }
        "seed" => {
            let k = num(2);
            let vpc = vpc_id();
            let mut c = Conn::new(&addr);
            for i in 0..k {
                match c.post("/", &create_body(&format!("tg-seed-{i}"), &vpc)) {
                    Ok(r) if r.status == 200 => {}
                    Ok(r) => {
                        eprintln!("seed tg-seed-{i}: HTTP {}: {}", r.status, snippet(&r.body));
                        std::process::exit(1)
                    }
                    Err(e) => {
                        eprintln!("seed tg-seed-{i}: {e}");
                        std::process::exit(1)
                    }
                }
            }
        }
        "create" => {
            let prefix = arg(5).to_string();
            let vpc = vpc_id();
            run_load(
                &addr,
                num(2),
                num(3),
                secs(4),
                Arc::new(move |c, i| create_body(&format!("tg-{prefix}{c}-{i}"), &vpc)),
            );
        }
        "describe-name" => {
            let k = num(5).max(1);
            run_load(
                &addr,
                num(2),
                num(3),
                secs(4),
                Arc::new(move |c, i| {
                    format!(
                        "Action=DescribeTargetGroups&Version=2015-12-01&Names.member.1=tg-seed-{}",
                        (c * 7919 + i) % k
                    )
                }),
            );
        }
        "describe-all" => {
            run_load(
                &addr,
                num(2),
                num(3),
                secs(4),
                Arc::new(|_, _| "Action=DescribeTargetGroups&Version=2015-12-01".to_string()),
            );
        }
        _ => usage(),
    }
}
