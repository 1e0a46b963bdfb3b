//! Reading an API request's body, bounded: a body over the limit is a 413, never a silently
//! empty request (which used to surface as a misleading `MissingAction`).

use crate::elbv2::ApiError;
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap};
use http_body_util::{BodyExt, LengthLimitError, Limited};

/// The largest API request body read: 64 MiB, the bound the endpoint has always read up to.
/// Real ELBv2 and EC2 requests are far smaller, so it only stops runaway uploads.
pub const MAX_BODY_BYTES: usize = 64 << 20;

/// The whole body, or the error to answer with.
pub async fn read(headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    // A declared length over the limit is refused before a byte is read.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(too_large()),
        Err(e) => Err(ApiError::Protocol {
            code: "IncompleteBody",
            status: 400,
            message: format!("The request body could not be read: {e}"),
        }),
    }
}

fn too_large() -> ApiError {
    ApiError::Protocol {
        code: "RequestEntityTooLarge",
        status: 413,
        message: format!(
            "The request body is larger than localelb's limit of {} MiB",
            MAX_BODY_BYTES >> 20
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bodies_over_the_limit_are_413_declared_or_not() {
        let small = read(&HeaderMap::new(), Body::from("Action=X")).await;
        assert_eq!(small.unwrap(), Bytes::from("Action=X"));

        let big = vec![b'a'; MAX_BODY_BYTES + 1];
        let err = read(&HeaderMap::new(), Body::from(big)).await.unwrap_err();
        assert_eq!((err.status(), err.code()), (413, "RequestEntityTooLarge"));

        let mut declared = HeaderMap::new();
        declared.insert(
            header::CONTENT_LENGTH,
            (MAX_BODY_BYTES as u64 + 1).to_string().parse().unwrap(),
        );
        let err = read(&declared, Body::empty()).await.unwrap_err();
        assert_eq!((err.status(), err.code()), (413, "RequestEntityTooLarge"));
        assert!(err.message().contains("64 MiB"), "{}", err.message());
    }
}
