//! Reads (does not verify) the SigV4 credential scope: access key, region and service.

/// The parts of a SigV4 credential this server uses.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Credential {
    pub access_key: Option<String>,
    pub region: Option<String>,
    pub service: Option<String>,
}

/// From `Authorization: AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, …`
/// or a presigned `X-Amz-Credential` value.
pub fn parse(authorization: Option<&str>, presigned: Option<&str>) -> Credential {
    let scope = authorization
        .and_then(|a| a.split("Credential=").nth(1))
        .map(|s| s.split([',', ' ']).next().unwrap_or(""))
        .or(presigned);
    let Some(scope) = scope else {
        return Credential::default();
    };
    let parts: Vec<&str> = scope.split('/').collect();
    let nonempty = |i: usize| {
        parts
            .get(i)
            .filter(|s| !s.is_empty())
            .map(|s| s.to_string())
    };
    Credential {
        access_key: nonempty(0),
        region: nonempty(2),
        service: nonempty(3),
    }
}

/// A 12-digit access key is taken as the account id; any other key maps to the default account.
pub fn account_for(access_key: Option<&str>, default: &str) -> String {
    match access_key {
        Some(k) if k.len() == 12 && k.bytes().all(|b| b.is_ascii_digit()) => k.to_string(),
        _ => default.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_scope() {
        let c = parse(
            Some("AWS4-HMAC-SHA256 Credential=123456789012/20240101/eu-west-1/elasticloadbalancing/aws4_request, SignedHeaders=host, Signature=abc"),
            None,
        );
        assert_eq!(c.region.as_deref(), Some("eu-west-1"));
        assert_eq!(c.service.as_deref(), Some("elasticloadbalancing"));
        assert_eq!(
            account_for(c.access_key.as_deref(), "000000000000"),
            "123456789012"
        );
        assert_eq!(account_for(Some("testing"), "000000000000"), "000000000000");
        assert_eq!(parse(None, None), Credential::default());
    }
}
