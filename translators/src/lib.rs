//! Pure translation of the ELBv2 state into Traefik v3 objects (file-provider dynamic
//! configuration and Kubernetes CRDs). No I/O: the server feeds it state and writes or applies
//! what it returns.
//!
//! Not built yet: the Traefik data plane is its own piece of work. The crate exists so that the
//! workspace has its final shape and the dependency boundary (no tokio, axum, hyper, duckdb or
//! kube client here) is fixed from the start.
#![forbid(unsafe_code)]
