//! One log line per API call, at info: service, action, HTTP status, error code (on errors),
//! milliseconds and request id, as structured fields (the subscriber chooses the format).

use super::respond::ErrorCode;
use axum::response::Response;
use std::time::Instant;

/// What a call was, filled in as the request is read.
#[derive(Debug)]
pub struct CallLog {
    started: Instant,
    /// The service's SigV4 name (or the name a refused request asked for).
    pub service: Option<String>,
    pub action: Option<String>,
}

impl CallLog {
    /// Starts the clock.
    pub fn start() -> CallLog {
        CallLog {
            started: Instant::now(),
            service: None,
            action: None,
        }
    }

    /// Writes the line for the answer.
    pub fn finish(&self, response: &Response, request_id: &str) {
        let code = response
            .extensions()
            .get::<ErrorCode>()
            .map(|c| c.0.as_str());
        // Microsecond resolution: most calls take well under a millisecond.
        let ms = (self.started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
        tracing::info!(
            service = %self.service.as_deref().unwrap_or("-"),
            action = %self.action.as_deref().unwrap_or("-"),
            status = response.status().as_u16(),
            error_code = code.map(tracing::field::display),
            ms,
            request_id = %request_id,
            "api call"
        );
    }
}
