//! The names every EC2 file shares: record kinds, the default network's layout,
//! [`Ec2Error`], and the types they are written in. The other files import this, never `mod.rs`.

pub(super) use crate::elbv2::ApiError;
pub(super) use crate::state::{Ec2Rec, Scope, Tags};
pub(super) use api_models::query::QueryMap;
pub(super) use api_models::xml::XmlWriter;
pub(super) use std::collections::BTreeMap;
pub(super) use std::net::Ipv4Addr;

pub(super) const VPC: &str = "vpc";
pub(super) const SUBNET: &str = "subnet";
pub(super) const SG: &str = "sg";
pub(super) const AZ: &str = "az";
/// A tombstone hiding a deleted default object.
pub(super) const DELETED: &str = "deleted";
pub(super) const AZ_LETTERS: [char; 3] = ['a', 'b', 'c'];
pub(super) const DEFAULT_VPC_CIDR: &str = "172.31.0.0/16";
pub(super) const DEFAULT_SUBNET_CIDRS: [&str; 3] =
    ["172.31.0.0/20", "172.31.16.0/20", "172.31.32.0/20"];

/// An EC2 error: wire code, message and HTTP status (400 unless said otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ec2Error {
    pub code: &'static str,
    pub message: String,
    pub status: u16,
}

impl Ec2Error {
    pub(super) fn new(code: &'static str, message: impl Into<String>) -> Self {
        Ec2Error {
            code,
            message: message.into(),
            status: 400,
        }
    }
    /// `MissingParameter`, worded as AWS does.
    pub(super) fn missing(param: &str) -> Self {
        Self::new(
            "MissingParameter",
            format!("The request must contain the parameter {param}"),
        )
    }
    /// `InvalidParameterValue` for one parameter's value.
    pub(super) fn invalid(param: &str, value: &str, why: &str) -> Self {
        let msg = format!("Value ({value}) for parameter {param} is invalid. {why}");
        Self::new("InvalidParameterValue", msg.trim_end())
    }
}

impl From<Ec2Error> for ApiError {
    fn from(e: Ec2Error) -> Self {
        ApiError::Protocol {
            code: e.code,
            status: e.status,
            message: e.message,
        }
    }
}

impl From<ApiError> for Ec2Error {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Protocol {
                code,
                status,
                message,
            } => Ec2Error {
                code,
                message,
                status,
            },
            other => {
                tracing::error!("EC2 call failed: {other:?}");
                Ec2Error {
                    code: "InternalError",
                    message: "An internal error has occurred".into(),
                    status: 500,
                }
            }
        }
    }
}
