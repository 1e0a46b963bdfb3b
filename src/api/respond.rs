//! The one place where answers meet HTTP: success documents, `ApiError` → code, status and
//! `<ErrorResponse>`, the request id header.

use crate::elbv2::ApiError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// A new request id (AWS uses UUIDs).
pub fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// An XML answer with `x-amzn-RequestId`.
pub fn xml(status: u16, body: String, request_id: &str) -> Response {
    let mut r = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body,
    )
        .into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-RequestId", v);
    }
    r
}

/// The query-protocol error document for an `ApiError`.
pub fn error(e: &ApiError, request_id: &str) -> Response {
    if let ApiError::Internal(cause) = e {
        tracing::error!(request_id, "internal error: {cause}");
    }
    let body = api_models::xml::error_document(e.sender_fault(), e.code(), e.message(), request_id);
    xml(e.status(), body, request_id)
}
