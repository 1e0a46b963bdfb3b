//! The accept step every listener kind shares.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// The next connection; None once the socket is closed (the listener was deleted: its socket
/// is shut down, so every worker's accept fails with EINVAL).
pub async fn next(listener: &TcpListener) -> Option<(TcpStream, SocketAddr)> {
    loop {
        match listener.accept().await {
            Ok(c) => return Some(c),
            Err(e) => match e.kind() {
                ErrorKind::InvalidInput | ErrorKind::NotConnected => return None,
                // The client gave up before we accepted: nothing to do.
                ErrorKind::ConnectionAborted
                | ErrorKind::ConnectionReset
                | ErrorKind::Interrupted
                | ErrorKind::WouldBlock => {}
                // Out of descriptors or memory: back off instead of spinning.
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            },
        }
    }
}
