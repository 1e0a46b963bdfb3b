//! The rules the prober and the data planes share about a target: where it is reached and how
//! long its slow-start window is. Pure, so routing code can use them without the prober.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// The slow-start window of `slow_start.duration_seconds` = `seconds`, scaled like health
/// checks (`--health-check-time-scale`); zero when off.
pub fn slow_start_window(seconds: i64, scale: f64) -> Duration {
    if seconds <= 0 {
        return Duration::ZERO;
    }
    Duration::from_secs_f64(seconds as f64 * scale)
}

/// Where a target is reached, for health checks and traffic alike: ip targets at their
/// address, everything else (instances, alb targets) on loopback.
pub fn target_addr(target_type: &str, id: &str, port: i32) -> Option<SocketAddr> {
    let ip: IpAddr = match target_type {
        "ip" => id.parse().ok()?,
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    Some(SocketAddr::new(ip, u16::try_from(port).ok()?))
}
