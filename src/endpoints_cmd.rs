//! The client subcommands: `localelb endpoints` prints where each listener is served, from a
//! running server's `GET /_localelb/endpoints` (the same JSON, pretty-printed); `localelb
//! render` fetches `GET /_localelb/render`.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// How long one request to the server may take (connect, answer and body).
const TIMEOUT: Duration = Duration::from_secs(10);

/// Fetches and pretty-prints the endpoints of the server at `base` (`http://host:port`).
pub async fn run(base: &str) -> Result<String, String> {
    let (status, body) = get(base, "/_localelb/endpoints").await?;
    if status != 200 {
        return Err(format!("localelb answered HTTP {status}: {}", body.trim()));
    }
    let v: serde_json::Value = serde_json::from_str(&body).map_err(|e| format!("not JSON: {e}"))?;
    serde_json::to_string_pretty(&v).map_err(|e| e.to_string())
}

/// `GET path` on the server at `base` → (status, body).
pub async fn get(base: &str, path: &str) -> Result<(u16, String), String> {
    let hostport = base.trim_start_matches("http://").trim_end_matches('/');
    let uri: hyper::Uri = format!("http://{hostport}{path}")
        .parse()
        .map_err(|e| format!("bad server address {base}: {e}"))?;
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let exchange = async {
        let resp = client.get(uri).await.map_err(|e| {
            if e.is_connect() {
                format!("cannot reach localelb at {base}: {}", root_cause(&e))
            } else {
                e.to_string()
            }
        })?;
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| format!("no answer from localelb at {base} in {TIMEOUT:?}"))?
}

/// The innermost error of a chain (for a refused connection: the OS's own message).
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server answering one connection with `answer`; its base URL and the request it read.
    async fn one_answer(answer: &'static str) -> (String, tokio::task::JoinHandle<String>) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", l.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.ends_with(b"\r\n\r\n") {
                let n = s.read(&mut buf).await.unwrap();
                assert!(n > 0, "request cut short");
                req.extend_from_slice(&buf[..n]);
            }
            s.write_all(answer.as_bytes()).await.unwrap();
            String::from_utf8(req).unwrap()
        });
        (base, task)
    }

    #[tokio::test]
    async fn chunked_endpoints_are_pretty_printed() {
        let (base, req) = one_answer(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n[{\"a\r\n5\r\n\": 1}\r\n1\r\n]\r\n0\r\n\r\n",
        )
        .await;
        assert_eq!(run(&base).await.unwrap(), "[\n  {\n    \"a\": 1\n  }\n]");
        let req = req.await.unwrap();
        assert!(
            req.starts_with("GET /_localelb/endpoints HTTP/1.1\r\n"),
            "{req}"
        );
        let host = base.trim_start_matches("http://");
        assert!(
            req.to_ascii_lowercase()
                .contains(&format!("host: {host}\r\n")),
            "{req}"
        );
    }

    #[tokio::test]
    async fn status_and_body_of_an_error_answer() {
        let (base, _req) =
            one_answer("HTTP/1.1 400 Bad Request\r\nContent-Length: 4\r\n\r\nnope").await;
        assert_eq!(
            get(&format!("{base}/"), "/_localelb/render?format=x")
                .await
                .unwrap(),
            (400, "nope".to_string())
        );
    }

    #[tokio::test]
    async fn a_refused_connection_names_the_server() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", l.local_addr().unwrap());
        drop(l);
        let e = run(&base).await.unwrap_err();
        assert!(
            e.starts_with(&format!("cannot reach localelb at {base}: ")),
            "{e}"
        );
        assert!(e.contains("refused"), "{e}");
    }
}
