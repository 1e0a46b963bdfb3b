//! `ApiError`: every failure an API call can answer with. `api/respond.rs` is the one place
//! that turns it into a code, a status and the `<ErrorResponse>` document.

use api_models::ModeledError;

/// An API call's failure.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// One of the model's error shapes, with AWS's message.
    Modeled(ModeledError, String),
    /// AWS's unmodeled `ValidationError` (400).
    Validation(String),
    /// Another unmodeled query-protocol error (`InvalidAction`, `MissingAction`, …).
    Protocol {
        code: &'static str,
        status: u16,
        message: String,
    },
    /// A failure of ours; answered as a 500 `InternalFailure` and logged.
    Internal(String),
}

/// Shorthand for results of API handlers.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// One of the model's errors (`TargetGroupNotFound`, `TooManyRules`, …) with AWS's message.
    pub fn modeled(e: ModeledError, msg: impl Into<String>) -> Self {
        ApiError::Modeled(e, msg.into())
    }
    /// AWS's unmodeled `ValidationError` (400) with its message.
    pub fn validation(msg: impl Into<String>) -> Self {
        ApiError::Validation(msg.into())
    }
    /// The wire code.
    pub fn code(&self) -> &str {
        match self {
            ApiError::Modeled(e, _) => e.code(),
            ApiError::Validation(_) => "ValidationError",
            ApiError::Protocol { code, .. } => code,
            ApiError::Internal(_) => "InternalFailure",
        }
    }
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Modeled(e, _) => e.status(),
            ApiError::Validation(_) => 400,
            ApiError::Protocol { status, .. } => *status,
            ApiError::Internal(_) => 500,
        }
    }
    /// `Sender` (client) or `Receiver` (server) fault.
    pub fn sender_fault(&self) -> bool {
        match self {
            ApiError::Modeled(e, _) => e.sender_fault(),
            ApiError::Internal(_) => false,
            ApiError::Protocol { status, .. } => *status < 500,
            ApiError::Validation(_) => true,
        }
    }
    /// The message sent to the client.
    pub fn message(&self) -> &str {
        match self {
            ApiError::Modeled(_, m)
            | ApiError::Validation(m)
            | ApiError::Protocol { message: m, .. } => m,
            ApiError::Internal(_) => "An internal error has occurred",
        }
    }
    /// `InvalidAction` for an unknown or unsupported action.
    pub fn invalid_action(msg: impl Into<String>) -> Self {
        ApiError::Protocol {
            code: "InvalidAction",
            status: 400,
            message: msg.into(),
        }
    }
}

impl From<api_models::query::QueryError> for ApiError {
    fn from(e: api_models::query::QueryError) -> Self {
        match e {
            api_models::query::QueryError::Validation(m) => ApiError::Validation(m),
        }
    }
}
