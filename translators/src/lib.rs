//! Pure translation of the ELBv2 state into Traefik v3 objects (file-provider dynamic
//! configuration and Kubernetes CRDs). No I/O: the server feeds it the routing model
//! ([`model::State`]: rules ordered, targets resolved, health known; meanings typed in
//! [`routing`]) and writes or applies what it returns.
#![forbid(unsafe_code)]

pub mod crd;
pub mod file_provider;
pub mod matchers;
pub mod middlewares;
pub mod model;
pub mod routing;
pub mod schema;
pub mod yaml;

pub use model::{Options, Rendered, State, Warning};
