//! The native data plane: routing snapshots built from the committed state, and (growing) the
//! proxy that serves listeners.

pub mod rule_match;
