//! Which service a request on `/` is for: ELBv2 or the EC2 subset, told apart by the SigV4
//! credential scope and the `Version` parameter; anything else is refused with the list of
//! what is served, so a client pointed at the wrong endpoint learns why.

use crate::elbv2::ApiError;

/// A service localelb answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    Elbv2,
    Ec2,
}

/// The SigV4 signing name of ELBv2.
const ELBV2_SIGNING_NAME: &str = "elasticloadbalancing";
/// The SigV4 signing name of EC2.
const EC2_SIGNING_NAME: &str = "ec2";

impl Served {
    /// The SigV4 signing name, as clients scope their credentials.
    pub fn signing_name(self) -> &'static str {
        match self {
            Served::Elbv2 => ELBV2_SIGNING_NAME,
            Served::Ec2 => EC2_SIGNING_NAME,
        }
    }
}

/// A request for something localelb does not serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unserved {
    /// The SigV4 credential scope names another service (`…/us-east-1/s3/aws4_request`).
    SigningName(String),
    /// An `X-Amz-Target` header: the JSON protocols, which neither ELBv2 nor EC2 speaks.
    Target(String),
    /// A `Version` that is neither ELBv2's nor EC2's.
    Version(String),
}

/// What localelb serves, for error messages.
pub fn served_list() -> String {
    format!(
        "{ELBV2_SIGNING_NAME} (Version {}) and {EC2_SIGNING_NAME} (Version {})",
        api_models::API_VERSION,
        crate::ec2::API_VERSION
    )
}

impl Unserved {
    /// The service the request named, for the call log.
    pub fn requested(&self) -> &str {
        match self {
            Unserved::SigningName(s) => s,
            // `DynamoDB_20120810.GetItem`: the part before the dot names the service.
            Unserved::Target(t) => t.split('.').next().unwrap_or(t),
            Unserved::Version(_) => "-",
        }
    }

    /// The message sent to the client.
    pub fn message(&self) -> String {
        let what = match self {
            Unserved::SigningName(s) => format!("the service {s:?} (SigV4 credential scope)"),
            Unserved::Target(t) => format!("X-Amz-Target {t:?} (JSON protocol)"),
            Unserved::Version(v) => format!("API version {v:?}"),
        };
        format!(
            "localelb does not serve {what}; it serves {}",
            served_list()
        )
    }

    /// The query-protocol error: `InvalidAction`, AWS's common error for an operation the
    /// endpoint does not have. (An `X-Amz-Target` request is answered in JSON instead, see
    /// `respond::json_error`.)
    pub fn api_error(&self) -> ApiError {
        ApiError::invalid_action(self.message())
    }
}

/// The service for a request: an `X-Amz-Target` is never ours; a SigV4 scope must name ELBv2 or
/// EC2; EC2 is chosen by its scope or its `Version`; an unsigned request without `Version` is
/// ELBv2's (as before: clients that sign nothing still reach ELBv2).
pub fn resolve(
    signing_name: Option<&str>,
    amz_target: Option<&str>,
    version: Option<&str>,
) -> Result<Served, Unserved> {
    if let Some(t) = amz_target {
        return Err(Unserved::Target(t.to_string()));
    }
    match signing_name {
        None | Some(ELBV2_SIGNING_NAME) | Some(EC2_SIGNING_NAME) => {}
        Some(other) => return Err(Unserved::SigningName(other.to_string())),
    }
    if signing_name == Some(EC2_SIGNING_NAME) || version == Some(crate::ec2::API_VERSION) {
        return Ok(Served::Ec2);
    }
    match version {
        None => Ok(Served::Elbv2),
        Some(v) if v == api_models::API_VERSION => Ok(Served::Elbv2),
        Some(v) => Err(Unserved::Version(v.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ELB: &str = api_models::API_VERSION;
    const EC2: &str = crate::ec2::API_VERSION;

    #[test]
    fn signing_name_and_version_choose_the_service() {
        assert_eq!(resolve(None, None, None), Ok(Served::Elbv2));
        assert_eq!(resolve(None, None, Some(ELB)), Ok(Served::Elbv2));
        assert_eq!(resolve(None, None, Some(EC2)), Ok(Served::Ec2));
        assert_eq!(
            resolve(Some("elasticloadbalancing"), None, Some(ELB)),
            Ok(Served::Elbv2)
        );
        assert_eq!(resolve(Some("ec2"), None, None), Ok(Served::Ec2));
        // EC2's scope wins over any Version (EC2 answers its own version errors).
        assert_eq!(
            resolve(Some("ec2"), None, Some("1999-01-01")),
            Ok(Served::Ec2)
        );
        assert_eq!(
            resolve(Some("elasticloadbalancing"), None, Some(EC2)),
            Ok(Served::Ec2)
        );
    }

    #[test]
    fn other_services_are_refused_naming_what_is_served() {
        let cases = [
            (
                resolve(Some("s3"), None, None),
                Unserved::SigningName("s3".into()),
                "s3",
            ),
            (
                resolve(
                    Some("elasticloadbalancing"),
                    Some("DynamoDB_20120810.GetItem"),
                    Some(ELB),
                ),
                Unserved::Target("DynamoDB_20120810.GetItem".into()),
                "DynamoDB_20120810",
            ),
            (
                resolve(None, None, Some("2012-06-01")),
                Unserved::Version("2012-06-01".into()),
                "-",
            ),
        ];
        for (got, want, requested) in cases {
            assert_eq!(got.as_ref(), Err(&want));
            assert_eq!(want.requested(), requested);
            let m = want.message();
            assert!(
                m.contains("elasticloadbalancing (Version 2015-12-01)")
                    && m.contains("ec2 (Version 2016-11-15)"),
                "{m}"
            );
            assert_eq!(want.api_error().code(), "InvalidAction");
            assert_eq!(want.api_error().status(), 400);
        }
    }
}
