//! The one place where answers meet HTTP: success documents, `ApiError` → code, status and
//! `<ErrorResponse>`, the request id header.

use crate::elbv2::ApiError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// A new request id (AWS uses UUIDs).
pub fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The error code of an error answer, attached as a response extension for the call log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorCode(pub String);

/// An XML answer with `x-amzn-RequestId`; an error document's `<Code>` is attached as
/// [`ErrorCode`] (read from the document, so the ELBv2 and the EC2 layouts are both covered).
pub fn xml(status: u16, body: String, request_id: &str) -> Response {
    let code = (status >= 400).then(|| code_in(&body)).flatten();
    let mut r = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body,
    )
        .into_response();
    if let Some(code) = code {
        r.extensions_mut().insert(ErrorCode(code));
    }
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-RequestId", v);
    }
    r
}

/// The first `<Code>` element's text (codes are plain names, never escaped).
fn code_in(document: &str) -> Option<String> {
    let start = document.find("<Code>")? + "<Code>".len();
    let len = document[start..].find("</Code>")?;
    Some(document[start..start + len].to_string())
}

/// A JSON-protocol error (`{"__type": code, "message": …}` and `x-amzn-ErrorType`), for clients
/// that sent `X-Amz-Target` and can read nothing else.
pub fn json_error(status: u16, code: &str, message: &str, request_id: &str) -> Response {
    let body = serde_json::json!({"__type": code, "message": message}).to_string();
    let mut r = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        body,
    )
        .into_response();
    r.extensions_mut().insert(ErrorCode(code.to_string()));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    if let Ok(v) = HeaderValue::from_str(code) {
        h.insert("x-amzn-ErrorType", v);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(r: &Response) -> Option<&str> {
        r.extensions().get::<ErrorCode>().map(|c| c.0.as_str())
    }

    #[test]
    fn error_answers_carry_their_code_for_the_log() {
        let e = ApiError::invalid_action("nope");
        let r = error(&e, "rid-1");
        assert_eq!(
            (r.status().as_u16(), code_of(&r)),
            (400, Some("InvalidAction"))
        );
        // The EC2 layout (`<Response><Errors><Error><Code>`) is read the same way.
        let ec2 = "<Response><Errors><Error><Code>InvalidVpcID.NotFound</Code></Error></Errors></Response>";
        let r = xml(400, ec2.into(), "rid-2");
        assert_eq!(code_of(&r), Some("InvalidVpcID.NotFound"));
        // Success documents carry none, even if they mention a code.
        let r = xml(200, "<X><Code>Active</Code></X>".into(), "rid-3");
        assert_eq!(code_of(&r), None);
        let r = json_error(400, "UnknownOperationException", "m", "rid-4");
        assert_eq!(code_of(&r), Some("UnknownOperationException"));
        assert_eq!(r.headers()["x-amzn-ErrorType"], "UnknownOperationException");
        assert_eq!(r.headers()["x-amzn-RequestId"], "rid-4");
    }
}
