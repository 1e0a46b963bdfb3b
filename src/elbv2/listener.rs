//! Listeners: create, describe, modify, delete, their attributes and their SNI certificate
//! list. Every listener owns a default rule (priority "default") whose actions mirror the
//! listener's default actions; both are kept in step here and in `rule.rs`.

use super::actions::{self, ActionCtx};
use super::arn;
use super::attributes::{self, Owner};
use super::limits::quota;
use super::lookup::listener_not_found;
use super::page::page;
use super::tags;
use super::{ApiError, ApiResult, Service};
use crate::state::{ListenerRec, RuleRec, Scope};
use api_models as m;
use api_models::ModeledError as E;
use std::collections::BTreeMap;

mod action_context;
mod effective;
mod tls;

use effective::GENEVE_PORT;
pub use effective::{effective_port, effective_protocol};

use tls::{check_certificate_arn, TlsInput};

const ALB_PROTOCOLS: [&str; 2] = ["HTTP", "HTTPS"];
const NLB_PROTOCOLS: [&str; 6] = ["TCP", "TLS", "UDP", "TCP_UDP", "QUIC", "TCP_QUIC"];
/// The protocol and port for a listener of an `lb_type` load balancer, with AWS's messages.
pub fn check_protocol_port(
    lb_type: &str,
    protocol: Option<&str>,
    port: Option<i32>,
) -> ApiResult<(String, i32)> {
    if lb_type == "gateway" {
        if port.is_some() {
            return Err(ApiError::validation(
                "A port cannot be specified for gateway listeners",
            ));
        }
        if protocol.is_some() {
            return Err(ApiError::validation(
                "A protocol cannot be specified for gateway listeners",
            ));
        }
        return Ok(("GENEVE".into(), GENEVE_PORT));
    }
    let port = port.ok_or_else(|| ApiError::validation("A listener port must be specified"))?;
    let protocol =
        protocol.ok_or_else(|| ApiError::validation("A listener protocol must be specified"))?;
    let allowed: &[&str] = if lb_type == "network" {
        &NLB_PROTOCOLS
    } else {
        &ALB_PROTOCOLS
    };
    if !allowed.contains(&protocol) {
        return Err(ApiError::validation(format!(
            "Listener protocol '{protocol}' must be one of '{}'",
            allowed.join(", ")
        )));
    }
    if !(1..=65535).contains(&port) {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{port}' at 'port' failed to satisfy constraint: Member must have value between 1 and 65535"
        )));
    }
    Ok((protocol.to_string(), port))
}

/// The listener as the API shows it (no OIDC client secrets).
pub fn public_listener(l: &m::Listener) -> m::Listener {
    let mut l = l.clone();
    l.default_actions = l.default_actions.as_deref().map(actions::public_actions);
    l
}

/// Which stored actions a new set replaces, for the unique-target-group count.
pub enum Replacing<'a> {
    Nothing,
    ListenerDefaults(&'a str),
    Rule(&'a str),
}

impl Service<'_> {
    /// `TooManyListeners` once a load balancer of `lb_type` has `existing` listeners.
    fn check_listener_quota(&self, lb_type: &str, existing: usize) -> ApiResult<()> {
        let max = match lb_type {
            "application" => quota(&self.ctx.config, "listeners-per-application-load-balancer"),
            "network" => quota(&self.ctx.config, "listeners-per-network-load-balancer"),
            _ => 1,
        };
        if existing as i64 >= max {
            return Err(ApiError::modeled(
                E::TooManyListeners,
                "You've reached the limit on the number of listeners per load balancer",
            ));
        }
        Ok(())
    }

    /// After a protocol change, the listener's rules' actions must still fit it.
    fn check_rules_still_valid(&self, listener_arn: &str, ctx: &ActionCtx) -> ApiResult<()> {
        let lookup = |a: &str| self.tg_info(a);
        let rule_ctx = ActionCtx {
            member: "actions",
            ..ctx.clone()
        };
        for r in self
            .rules_of(listener_arn)
            .iter()
            .filter(|r| r.rule.is_default != Some(true))
        {
            actions::check_still_valid(
                r.rule.actions.as_deref().unwrap_or_default(),
                &rule_ctx,
                &lookup,
            )?;
        }
        Ok(())
    }
}

/// The attribute set depends on the protocol: a listener's new defaults, keeping the values of
/// keys that remain.
fn carried_over(
    current: &BTreeMap<String, String>,
    protocol: &str,
    lb_type: &str,
) -> BTreeMap<String, String> {
    let mut next: BTreeMap<String, String> = attributes::listener_defaults(protocol, lb_type);
    for (k, v) in next.iter_mut() {
        if let Some(old_v) = current.get(k) {
            *v = old_v.clone();
        }
    }
    next
}

impl m::Listeners for Service<'_> {
    /// CreateListener: idempotent for identical settings on the same port.
    fn create_listener(&mut self, i: m::CreateListenerInput) -> ApiResult<m::CreateListenerOutput> {
        let lb_arn = i.load_balancer_arn.clone().unwrap_or_default();
        self.lb(&lb_arn)?;
        let lb_type = self.lb_type_of(&lb_arn);
        let (protocol, port) = check_protocol_port(&lb_type, i.protocol.as_deref(), i.port)?;
        let tls = self.tls_settings(
            &protocol,
            TlsInput {
                certificates: i.certificates.as_deref(),
                ssl_policy: i.ssl_policy.as_deref(),
                alpn: i.alpn_policy.as_deref(),
                mutual: i.mutual_authentication.as_ref(),
            },
            None,
        )?;
        let ctx = self.action_ctx(&lb_arn, &lb_type, &protocol, port, "defaultActions");
        let default_actions = self.normalize_actions_for(
            i.default_actions.as_deref().unwrap_or_default(),
            &ctx,
            &[],
        )?;
        let tags = tags::check_new(i.tags.as_deref().unwrap_or_default())?;
        let gateway = lb_type == "gateway";
        let mut listener = m::Listener {
            listener_arn: None,
            load_balancer_arn: Some(lb_arn.clone()),
            port: (!gateway).then_some(port),
            protocol: (!gateway).then(|| protocol.clone()),
            certificates: tls.certificate.map(|c| {
                vec![m::Certificate {
                    certificate_arn: Some(c),
                    is_default: None,
                }]
            }),
            ssl_policy: tls.ssl_policy,
            default_actions: Some(default_actions.clone()),
            alpn_policy: tls.alpn,
            mutual_authentication: tls.mutual,
        };

        let existing = self.listeners_of(&lb_arn);
        if let Some(same_port) = existing
            .iter()
            .find(|l| effective_port(&l.listener) == port)
        {
            listener.listener_arn = same_port.listener.listener_arn.clone();
            if listener == same_port.listener {
                return Ok(m::CreateListenerOutput {
                    listeners: Some(vec![public_listener(&listener)]),
                });
            }
            return Err(ApiError::modeled(
                E::DuplicateListener,
                "A listener already exists on this port for this load balancer",
            ));
        }
        self.check_listener_quota(&lb_type, existing.len())?;
        self.check_unique_tgs(&lb_arn, &lb_type, &default_actions, Replacing::Nothing)?;

        listener.listener_arn = Some(arn::listener_arn(&lb_arn, &arn::new_id()));
        let attributes = attributes::listener_defaults(&protocol, &lb_type);
        let scope = self.scope_mut()?;
        insert_with_default_rule(scope, &listener, attributes, tags, default_actions);
        Ok(m::CreateListenerOutput {
            listeners: Some(vec![public_listener(&listener)]),
        })
    }

    /// DescribeListeners: by ARNs (in request order) or by load balancer (creation order), paged.
    fn describe_listeners(
        &mut self,
        i: m::DescribeListenersInput,
    ) -> ApiResult<m::DescribeListenersOutput> {
        let arns = i.listener_arns.clone().unwrap_or_default();
        let items: Vec<m::Listener> =
            match (arns.is_empty(), i.load_balancer_arn.as_deref()) {
                (false, Some(_)) => return Err(ApiError::validation(
                    "Listener ARNs and a load balancer ARN cannot be specified at the same time",
                )),
                (false, None) => arns
                    .iter()
                    .map(|a| self.listener(a).map(|l| public_listener(&l.listener)))
                    .collect::<ApiResult<_>>()?,
                (true, Some(lb)) => {
                    self.lb(lb)?;
                    self.listeners_of(lb)
                        .iter()
                        .map(|l| public_listener(&l.listener))
                        .collect()
                }
                (true, None) => {
                    return Err(ApiError::validation(
                        "You must specify either listener ARNs or a load balancer ARN",
                    ))
                }
            };
        let (listeners, next_marker) = page(&items, i.marker.as_deref(), i.page_size)?;
        Ok(m::DescribeListenersOutput {
            listeners: Some(listeners),
            next_marker,
        })
    }

    /// ModifyListener: replaces the given properties; a protocol change re-validates the
    /// certificate, policies and actions; new default actions also update the default rule.
    // Long: a protocol or port change re-validates TLS, actions and rules before one write.
    fn modify_listener(&mut self, i: m::ModifyListenerInput) -> ApiResult<m::ModifyListenerOutput> {
        let arn = i.listener_arn.clone().unwrap_or_default();
        let old = self.listener(&arn)?.listener.clone();
        let lb_arn = old.load_balancer_arn.clone().unwrap_or_default();
        let lb_type = self.lb_type_of(&lb_arn);
        let (protocol, port) = if lb_type == "gateway" {
            check_protocol_port(&lb_type, i.protocol.as_deref(), i.port)?
        } else {
            check_protocol_port(
                &lb_type,
                i.protocol.as_deref().or(old.protocol.as_deref()),
                i.port.or(old.port),
            )?
        };
        let old_protocol = effective_protocol(&old);
        let tls = self.tls_settings(
            &protocol,
            TlsInput {
                certificates: i.certificates.as_deref(),
                ssl_policy: i.ssl_policy.as_deref(),
                alpn: i.alpn_policy.as_deref(),
                mutual: i.mutual_authentication.as_ref(),
            },
            Some(&old),
        )?;
        if port != effective_port(&old)
            && self.listeners_of(&lb_arn).iter().any(|l| {
                effective_port(&l.listener) == port
                    && l.listener.listener_arn.as_deref() != Some(&arn)
            })
        {
            return Err(ApiError::modeled(
                E::DuplicateListener,
                "A listener already exists on this port for this load balancer",
            ));
        }
        let ctx = self.action_ctx(&lb_arn, &lb_type, &protocol, port, "defaultActions");
        let lookup = |a: &str| self.tg_info(a);
        let old_actions = old.default_actions.clone().unwrap_or_default();
        let new_actions = match &i.default_actions {
            Some(a) => {
                let n = self.normalize_actions_for(a, &ctx, &old_actions)?;
                self.check_unique_tgs(&lb_arn, &lb_type, &n, Replacing::ListenerDefaults(&arn))?;
                Some(n)
            }
            None => {
                if protocol != old_protocol || port != effective_port(&old) {
                    actions::check_still_valid(&old_actions, &ctx, &lookup)?;
                }
                None
            }
        };
        if protocol != old_protocol {
            self.check_rules_still_valid(&arn, &ctx)?;
        }
        let gateway = lb_type == "gateway";
        let mut listener = old.clone();
        listener.port = (!gateway).then_some(port);
        listener.protocol = (!gateway).then(|| protocol.clone());
        tls.apply_to(&mut listener);
        if let Some(a) = &new_actions {
            listener.default_actions = Some(a.clone());
        }
        let default_rule = self
            .rules_of(&arn)
            .iter()
            .find(|r| r.rule.is_default == Some(true))
            .and_then(|r| r.rule.rule_arn.clone());

        let scope = self.scope_mut()?;
        let rec = scope
            .listeners
            .get_mut(&arn)
            .ok_or_else(|| listener_not_found(&arn))?;
        if protocol != old_protocol {
            rec.attributes = carried_over(&rec.attributes, &protocol, &lb_type);
        }
        if !matches!(protocol.as_str(), "HTTPS" | "TLS") {
            rec.extra_certificates.clear();
        }
        rec.listener = listener.clone();
        if let (Some(a), Some(r)) = (new_actions, default_rule) {
            if let Some(rule) = scope.rules.get_mut(&r) {
                rule.rule.actions = Some(a);
            }
        }
        Ok(m::ModifyListenerOutput {
            listeners: Some(vec![public_listener(&listener)]),
        })
    }

    /// DeleteListener: removes the listener and its rules.
    fn delete_listener(&mut self, i: m::DeleteListenerInput) -> ApiResult<m::DeleteListenerOutput> {
        let arn = i.listener_arn.unwrap_or_default();
        self.listener(&arn)?;
        let scope = self.scope_mut()?;
        delete_listener_and_rules(scope, &arn);
        Ok(m::DeleteListenerOutput {})
    }

    /// DescribeListenerAttributes.
    fn describe_listener_attributes(
        &mut self,
        i: m::DescribeListenerAttributesInput,
    ) -> ApiResult<m::DescribeListenerAttributesOutput> {
        let rec = self.listener(i.listener_arn.as_deref().unwrap_or_default())?;
        Ok(m::DescribeListenerAttributesOutput {
            attributes: Some(attributes::to_api(&rec.attributes)),
        })
    }

    /// ModifyListenerAttributes: validates every pair first; returns the full attribute set.
    fn modify_listener_attributes(
        &mut self,
        i: m::ModifyListenerAttributesInput,
    ) -> ApiResult<m::ModifyListenerAttributesOutput> {
        let arn = i.listener_arn.clone().unwrap_or_default();
        let protocol = effective_protocol(&self.listener(&arn)?.listener);
        let changes: Vec<(String, String)> = attributes::pairs(i.attributes);
        let rec = self.listener_mut(&arn)?;
        attributes::modify(Owner::Listener, &mut rec.attributes, &protocol, &changes)?;
        Ok(m::ModifyListenerAttributesOutput {
            attributes: Some(attributes::to_api(&rec.attributes)),
        })
    }

    /// AddListenerCertificates: one certificate per call; an existing one is not added twice.
    fn add_listener_certificates(
        &mut self,
        i: m::AddListenerCertificatesInput,
    ) -> ApiResult<m::AddListenerCertificatesOutput> {
        let arn = i.listener_arn.clone().unwrap_or_default();
        let rec = self.listener(&arn)?;
        let protocol = effective_protocol(&rec.listener);
        if !matches!(protocol.as_str(), "HTTPS" | "TLS") {
            return Err(ApiError::validation(format!(
                "Certificates cannot be added to {protocol} listeners"
            )));
        }
        let certs = i.certificates.unwrap_or_default();
        if certs.is_empty() {
            return Err(ApiError::validation("A certificate must be specified"));
        }
        if certs.len() > 1 {
            return Err(ApiError::validation(
                "Only one certificate can be added per call",
            ));
        }
        let cert = check_certificate_arn(&certs[0])?;
        let lb_arn = rec.listener.load_balancer_arn.clone().unwrap_or_default();
        if !rec.extra_certificates.contains(&cert) {
            let in_use: usize = self
                .listeners_of(&lb_arn)
                .iter()
                .map(|l| l.extra_certificates.len())
                .sum();
            let name = if self.lb_type_of(&lb_arn) == "network" {
                "certificates-per-network-load-balancer"
            } else {
                "certificates-per-application-load-balancer"
            };
            if in_use as i64 >= quota(&self.ctx.config, name) {
                return Err(ApiError::modeled(
                    E::TooManyCertificates,
                    "You've reached the limit on the number of certificates per load balancer",
                ));
            }
        }
        let rec = self.listener_mut(&arn)?;
        if !rec.extra_certificates.contains(&cert) {
            rec.extra_certificates.push(cert);
        }
        let certificates = rec
            .extra_certificates
            .iter()
            .map(|c| m::Certificate {
                certificate_arn: Some(c.clone()),
                is_default: Some(false),
            })
            .collect();
        Ok(m::AddListenerCertificatesOutput {
            certificates: Some(certificates),
        })
    }

    /// RemoveListenerCertificates: the default certificate cannot be removed.
    fn remove_listener_certificates(
        &mut self,
        i: m::RemoveListenerCertificatesInput,
    ) -> ApiResult<m::RemoveListenerCertificatesOutput> {
        let arn = i.listener_arn.clone().unwrap_or_default();
        let rec = self.listener(&arn)?;
        let default = rec
            .listener
            .certificates
            .as_ref()
            .and_then(|c| c.first())
            .and_then(|c| c.certificate_arn.clone());
        let mut extra = rec.extra_certificates.clone();
        for c in i.certificates.unwrap_or_default() {
            let c = c.certificate_arn.unwrap_or_default();
            if let Some(pos) = extra.iter().position(|e| *e == c) {
                extra.remove(pos);
            } else if default.as_deref() == Some(c.as_str()) {
                return Err(ApiError::modeled(
                    E::OperationNotPermitted,
                    "Default certificate cannot be removed",
                ));
            }
        }
        let rec = self.listener_mut(&arn)?;
        rec.extra_certificates = extra;
        Ok(m::RemoveListenerCertificatesOutput {})
    }

    /// DescribeListenerCertificates: the default certificate (IsDefault true), then the added
    /// ones (IsDefault false), paged.
    fn describe_listener_certificates(
        &mut self,
        i: m::DescribeListenerCertificatesInput,
    ) -> ApiResult<m::DescribeListenerCertificatesOutput> {
        let rec = self.listener(i.listener_arn.as_deref().unwrap_or_default())?;
        let default = rec
            .listener
            .certificates
            .iter()
            .flatten()
            .filter_map(|c| c.certificate_arn.clone());
        let all: Vec<m::Certificate> = default
            .map(|c| m::Certificate {
                certificate_arn: Some(c),
                is_default: Some(true),
            })
            .chain(rec.extra_certificates.iter().map(|c| m::Certificate {
                certificate_arn: Some(c.clone()),
                is_default: Some(false),
            }))
            .collect();
        let (certificates, next_marker) = page(&all, i.marker.as_deref(), i.page_size)?;
        Ok(m::DescribeListenerCertificatesOutput {
            certificates: Some(certificates),
            next_marker,
        })
    }
}

/// Stores a new listener and its default rule, whose actions are the listener's defaults.
fn insert_with_default_rule(
    scope: &mut Scope,
    listener: &m::Listener,
    attributes: BTreeMap<String, String>,
    tags: crate::state::Tags,
    default_actions: Vec<m::Action>,
) {
    let listener_arn = listener.listener_arn.clone().unwrap_or_default();
    let rule_arn = arn::rule_arn(&listener_arn, &arn::new_id());
    let seq = scope.seq();
    scope.listeners.insert(
        listener_arn.clone(),
        ListenerRec {
            listener: listener.clone(),
            attributes,
            tags,
            extra_certificates: Vec::new(),
            seq,
        },
    );
    let seq = scope.seq();
    scope.rules.insert(
        rule_arn.clone(),
        RuleRec {
            rule: m::Rule {
                rule_arn: Some(rule_arn),
                priority: Some("default".into()),
                conditions: Some(Vec::new()),
                actions: Some(default_actions),
                is_default: Some(true),
                transforms: None,
            },
            listener_arn,
            tags: Vec::new(),
            seq,
        },
    );
}

fn delete_listener_and_rules(scope: &mut Scope, listener_arn: &str) {
    let rules: Vec<String> = scope
        .rules
        .values()
        .filter(|r| r.listener_arn == listener_arn)
        .filter_map(|r| r.rule.rule_arn.clone())
        .collect();
    for r in rules {
        scope.rules.remove(&r);
    }
    scope.listeners.remove(listener_arn);
}

/// Deletes every listener of a load balancer, with their rules (DeleteLoadBalancer's cascade).
pub fn delete_listeners_of_lb(scope: &mut Scope, lb_arn: &str) {
    let listeners: Vec<String> = scope
        .listeners
        .values()
        .filter(|l| l.listener.load_balancer_arn.as_deref() == Some(lb_arn))
        .filter_map(|l| l.listener.listener_arn.clone())
        .collect();
    for l in listeners {
        delete_listener_and_rules(scope, &l);
    }
}

#[cfg(test)]
mod tests;
