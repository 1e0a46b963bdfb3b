//! ELBv2 semantics: validation, defaults, ARNs and errors, one module per resource. The
//! [`Service`] runs one call against one scope: read-only on a snapshot, or mutable inside
//! the writer.

pub mod actions;
pub mod arn;
pub mod attributes;
pub mod capacity;
pub mod conditions;
pub mod error;
pub mod limits;
pub mod listener;
pub mod load_balancer;
pub mod lookup;
pub mod not_found;
pub mod page;
mod pem_text;
pub mod rule;
pub mod ssl_policies;
pub mod tags;
pub mod target_group;
pub mod targets;
pub mod transforms;
pub mod trust_store;

use crate::config::Config;
use crate::health::HealthTable;
use crate::state::Scope;
pub use error::{ApiError, ApiResult};
use std::sync::Arc;

/// Who is calling, where, and with which server settings.
#[derive(Clone)]
pub struct CallCtx {
    pub account: String,
    pub region: String,
    pub config: Arc<Config>,
    pub health: Arc<HealthTable>,
    /// Wall-clock time of the call, epoch milliseconds.
    pub now_ms: i64,
}

enum ScopeRef<'a> {
    Read(&'a Scope),
    Write(&'a mut Scope),
}

/// One API call's view of the state.
pub struct Service<'a> {
    pub ctx: &'a CallCtx,
    scope: ScopeRef<'a>,
}

impl<'a> Service<'a> {
    /// A read-only call on a snapshot.
    pub fn read(ctx: &'a CallCtx, scope: &'a Scope) -> Self {
        Service {
            ctx,
            scope: ScopeRef::Read(scope),
        }
    }
    /// A mutating call inside the writer.
    pub fn write(ctx: &'a CallCtx, scope: &'a mut Scope) -> Self {
        Service {
            ctx,
            scope: ScopeRef::Write(scope),
        }
    }
    /// The scope, for reading.
    pub fn scope(&self) -> &Scope {
        match &self.scope {
            ScopeRef::Read(s) => s,
            ScopeRef::Write(s) => s,
        }
    }
    /// The scope, for writing; fails if this call was routed as a read.
    pub fn scope_mut(&mut self) -> ApiResult<&mut Scope> {
        match &mut self.scope {
            ScopeRef::Read(_) => Err(ApiError::Internal("mutation on the read path".into())),
            ScopeRef::Write(s) => Ok(s),
        }
    }
}

/// Whether an operation only reads (runs on the snapshot, outside the writer).
pub fn is_read(op: api_models::Operation) -> bool {
    let n = op.name();
    n.starts_with("Describe") || n.starts_with("Get")
}

/// Every ELBv2 operation group answers with an [`ApiError`].
impl api_models::Elbv2Error for Service<'_> {
    type Error = ApiError;
}
