//! `localelb endpoints`: prints where each listener is served, from a running server's
//! `GET /_localelb/endpoints` (the same JSON, pretty-printed).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Fetches and pretty-prints the endpoints of the server at `base` (`http://host:port`).
pub fn run(base: &str) -> Result<String, String> {
    let hostport = base.trim_start_matches("http://").trim_end_matches('/');
    let mut s = TcpStream::connect(hostport)
        .map_err(|e| format!("cannot reach localelb at {base}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    write!(
        s,
        "GET /_localelb/endpoints HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("malformed answer")?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!(
            "localelb answered: {}",
            head.lines().next().unwrap_or("")
        ));
    }
    let v: serde_json::Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    serde_json::to_string_pretty(&v).map_err(|e| e.to_string())
}
