//! Target health, as the prober last saw it. Kept in memory only (never in DuckDB).
//!
//! Low layer (read by the API and the data planes, no dependencies on them):
//! - [`table`]: the health table, each target's [`TargetCell`], versioning;
//! - [`target`]: where a target is reached and its slow-start window.
//!
//! High layer (reads the published state, writes the table):
//! - [`probe`]: one check (HTTP, HTTPS, gRPC, TCP, the matcher), with [`tls`] for HTTPS;
//! - [`thresholds`]: the threshold state machine;
//! - [`prober`]: the task that schedules checks, drops stale state and starts slow start.
//!
//! This module re-exports only the low layer, so `crate::health::…` never reaches the prober.

pub mod probe;
pub mod prober;
pub mod table;
pub mod target;
pub mod thresholds;
mod tls;

pub use table::{Health, HealthTable, InFlight, TargetCell, TargetKey, NOT_SLOW};
pub use target::{slow_start_window, target_addr};
