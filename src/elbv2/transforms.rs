//! Validation of rule transforms (host-header-rewrite, url-rewrite).

use super::actions::constraint;
use super::{ApiError, ApiResult};
use api_models as m;

/// Validates a rule's transforms: at most one host-header-rewrite and one url-rewrite, each
/// with one regex/replace pair whose regex compiles.
pub fn normalize_transforms(ts: &[m::RuleTransform]) -> ApiResult<Vec<m::RuleTransform>> {
    let mut out: Vec<m::RuleTransform> = Vec::new();
    for (i, t) in ts.iter().enumerate() {
        let ty = t.type_.as_deref().unwrap_or_default();
        let rewrites = match ty {
            "host-header-rewrite" => {
                if t.url_rewrite_config.is_some() {
                    return Err(ApiError::validation(
                        "'UrlRewriteConfig' can be specified only with 'url-rewrite' transforms",
                    ));
                }
                t.host_header_rewrite_config
                    .as_ref()
                    .map(|c| c.rewrites.clone().unwrap_or_default())
            }
            "url-rewrite" => {
                if t.host_header_rewrite_config.is_some() {
                    return Err(ApiError::validation("'HostHeaderRewriteConfig' can be specified only with 'host-header-rewrite' transforms"));
                }
                t.url_rewrite_config
                    .as_ref()
                    .map(|c| c.rewrites.clone().unwrap_or_default())
            }
            _ => {
                return Err(constraint(
                    ty,
                    &format!("transforms.{}.member.type", i + 1),
                    "Member must satisfy enum value set: [host-header-rewrite, url-rewrite]",
                ))
            }
        };
        if out.iter().any(|o| o.type_.as_deref() == Some(ty)) {
            return Err(ApiError::validation(format!(
                "Only one '{ty}' transform can be specified per rule"
            )));
        }
        let cfg_name = if ty == "url-rewrite" {
            "UrlRewriteConfig"
        } else {
            "HostHeaderRewriteConfig"
        };
        let rewrites = rewrites.ok_or_else(|| {
            ApiError::validation(format!(
                "A '{cfg_name}' must be specified with '{ty}' transforms"
            ))
        })?;
        if rewrites.len() != 1 {
            return Err(ApiError::validation(format!(
                "A '{ty}' transform must have exactly one rewrite"
            )));
        }
        for r in &rewrites {
            let regex = r.regex.as_deref().unwrap_or_default();
            let replace = r.replace.as_deref().unwrap_or_default();
            if regex.is_empty() || regex.chars().count() > 1024 || replace.chars().count() > 1024 {
                return Err(ApiError::validation(format!("The '{ty}' regex must be 1 to 1024 characters and the replacement at most 1024")));
            }
            regex::Regex::new(regex).map_err(|_| {
                ApiError::validation(format!(
                    "The '{ty}' regular expression '{regex}' is not valid"
                ))
            })?;
        }
        let cfg = Some(rewrites);
        out.push(m::RuleTransform {
            type_: Some(ty.to_string()),
            host_header_rewrite_config: (ty == "host-header-rewrite").then(|| {
                m::HostHeaderRewriteConfig {
                    rewrites: cfg.clone(),
                }
            }),
            url_rewrite_config: (ty == "url-rewrite")
                .then(|| m::UrlRewriteConfig { rewrites: cfg }),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transforms_one_of_each() {
        let t = |ty: &str| m::RuleTransform {
            type_: Some(ty.into()),
            url_rewrite_config: (ty == "url-rewrite").then(|| m::UrlRewriteConfig {
                rewrites: Some(vec![m::RewriteConfig {
                    regex: Some("^/api/(.*)$".into()),
                    replace: Some("/$1".into()),
                }]),
            }),
            host_header_rewrite_config: (ty == "host-header-rewrite").then(|| {
                m::HostHeaderRewriteConfig {
                    rewrites: Some(vec![m::RewriteConfig {
                        regex: Some(".*".into()),
                        replace: Some("x.example.com".into()),
                    }]),
                }
            }),
        };
        assert_eq!(
            normalize_transforms(&[t("url-rewrite"), t("host-header-rewrite")])
                .unwrap()
                .len(),
            2
        );
        assert!(normalize_transforms(&[t("url-rewrite"), t("url-rewrite")]).is_err());
        let mut bad = t("url-rewrite");
        bad.url_rewrite_config = Some(m::UrlRewriteConfig {
            rewrites: Some(vec![m::RewriteConfig {
                regex: Some("(".into()),
                replace: Some("".into()),
            }]),
        });
        assert!(normalize_transforms(&[bad]).is_err());
        assert!(normalize_transforms(&[t("path-rewrite")]).is_err());
    }
}
