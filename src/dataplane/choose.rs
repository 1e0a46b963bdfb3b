//! Target choice: which target group (by weight, or the one the client is stuck to) and which
//! target in it (the stuck one while still eligible, else a healthy one, failing open), and
//! where that target is reached.

use super::error::ProxyError;
use super::snapshot::{ForwardRoute, Routing, TargetKind, TargetStickiness, TgRoute};
use super::sticky::Hints;
use super::DataPlane;
use std::net::SocketAddr;
use std::sync::Arc;

/// Picks a target group by weight (or the one the client is stuck to, if it still has weight),
/// then a target in it (the stuck one if still eligible, else healthy ones, failing open when
/// none is). None when the group is gone or has no registered targets.
pub fn choose_target(
    routing: &Routing,
    fwd: &ForwardRoute,
    hints: &Hints,
) -> Option<(Arc<TgRoute>, usize)> {
    let now = api_models::Timestamp::now().millis();
    choose_target_at(routing, fwd, hints, &hyper::HeaderMap::new(), now)
        .map(|(tg, t)| (tg.clone(), t))
}

/// [`choose_target`] at `now_ms`, with the request's headers for app_cookie stickiness. Reads
/// health from the targets' cells: no lock and no allocation on this path; the group is
/// borrowed from `routing` (no shared reference count touched per request).
pub fn choose_target_at<'r>(
    routing: &'r Routing,
    fwd: &ForwardRoute,
    hints: &Hints,
    headers: &hyper::HeaderMap,
    now_ms: i64,
) -> Option<(&'r Arc<TgRoute>, usize)> {
    let stuck_tg = hints.tg.as_deref().and_then(|h| {
        fwd.tgs
            .iter()
            .zip(&fwd.weights)
            .position(|(arn, w)| *w > 0 && routing.tgs.get(arn).is_some_and(|g| g.token == h))
    });
    let i = match stuck_tg {
        Some(i) => i,
        None => fwd.picker.pick()?,
    };
    let tg = routing.tgs.get(&fwd.tgs[i])?;
    if tg.targets.is_empty() {
        return None;
    }
    let stuck_token = match &tg.stickiness {
        Some(TargetStickiness::LbCookie { .. }) => hints.target.as_deref(),
        // ALB: the client must send back both its application cookie and AWSALBAPP.
        Some(TargetStickiness::AppCookie { cookie_name, .. })
            if super::sticky::has_cookie(headers, cookie_name) =>
        {
            hints
                .app
                .as_deref()
                .and_then(|v| super::sticky::app_target(v, now_ms / 1000))
        }
        _ => None,
    };
    if let Some(h) = stuck_token {
        if let Some(t) = tg.targets.iter().position(|x| x.token == h) {
            // A stuck target that is no longer healthy loses its clients, unless no target is
            // healthy (fail open).
            if tg.targets[t].healthy() || !tg.targets.iter().any(|x| x.healthy()) {
                return Some((tg, t));
            }
        }
    }
    let t = tg.pick(now_ms)?;
    Some((tg, t))
}

/// Whether the request was routed by a valid `AWSALBAPP-0` cookie to target `t`.
pub fn app_cookie_stuck(tg: &TgRoute, t: usize, hints: &Hints, now_ms: i64) -> bool {
    matches!(tg.stickiness, Some(TargetStickiness::AppCookie { .. }))
        && hints
            .app
            .as_deref()
            .and_then(|v| super::sticky::app_target(v, now_ms / 1000))
            == Some(tg.targets[t].token.as_str())
}

/// Where target `t` of `tg` is reached: its address, or for an `alb` target the address that
/// load balancer's listener on the target's port is served on. Lambda functions are not
/// invoked locally.
pub fn target_address(
    dp: &DataPlane,
    routing: &Routing,
    tg: &TgRoute,
    t: usize,
) -> Result<SocketAddr, ProxyError> {
    let target = &tg.targets[t];
    match tg.kind {
        TargetKind::Address => Ok(target.addr),
        TargetKind::Lambda => Err(ProxyError::LambdaTarget {
            target_group: tg.name.clone(),
        }),
        TargetKind::Alb => {
            let port = u16::try_from(target.key.port).unwrap_or(0);
            alb_listener_addr(dp, routing, &target.key.id, port).ok_or_else(|| {
                ProxyError::AlbNotServed {
                    target: target.key.id.clone(),
                    target_group: tg.name.clone(),
                    port,
                }
            })
        }
    }
}

/// The address the listener of load balancer `lb_arn` on `port` is served on (alb targets;
/// the health prober checks them there too).
pub fn alb_listener_addr(
    dp: &DataPlane,
    routing: &Routing,
    lb_arn: &str,
    port: u16,
) -> Option<SocketAddr> {
    let listener = routing
        .ports
        .get(&port)?
        .iter()
        .find(|l| l.lb_arn == lb_arn)?;
    dp.endpoints
        .load()
        .iter()
        .find(|e| e.listener_arn == listener.arn)?
        .address
        .as_deref()?
        .parse()
        .ok()
}
