//! The protocol and port a listener really uses: gateway listeners have neither and take
//! GENEVE on 6081.

use api_models as m;

pub(super) const GENEVE_PORT: i32 = 6081;

/// The protocol a listener runs (`GENEVE` for gateway listeners).
pub fn effective_protocol(l: &m::Listener) -> String {
    l.protocol.clone().unwrap_or_else(|| "GENEVE".into())
}

/// The port a listener uses (6081 for gateway listeners).
pub fn effective_port(l: &m::Listener) -> i32 {
    l.port.unwrap_or(GENEVE_PORT)
}
