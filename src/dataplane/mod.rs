//! The native data plane: routing snapshots built from the committed state, listener sockets,
//! and the HTTP proxy that serves them.

pub mod listeners;
pub mod proxy;
pub mod rule_match;
pub mod select;
pub mod snapshot;
