//! Tags on load balancers, target groups, listeners, rules and trust stores.

use super::arn::{kind_of, ArnKind};
use super::lookup::{lb_not_found, listener_not_found, rule_not_found, tg_not_found, ts_not_found};
use super::{ApiError, ApiResult, Service};
use crate::state::Tags;
use api_models as m;
use api_models::ModeledError as E;

/// AWS's per-resource tag limit.
pub const MAX_TAGS: usize = 50;

fn not_found(arn: &str) -> ApiError {
    match kind_of(arn) {
        ArnKind::LoadBalancer => lb_not_found(arn),
        ArnKind::TargetGroup => tg_not_found(arn),
        ArnKind::Listener => listener_not_found(arn),
        ArnKind::Rule => rule_not_found(arn),
        ArnKind::TrustStore => ts_not_found(arn),
        ArnKind::Unknown => ApiError::validation(format!("'{arn}' is not a valid resource ARN")),
    }
}

/// Checks a tag list given on create or AddTags: no duplicate keys, key/value rules.
pub fn check_new(tags: &[m::Tag]) -> ApiResult<Tags> {
    let mut out: Tags = Vec::new();
    for t in tags {
        let key = t.key.clone().unwrap_or_default();
        if key.is_empty() {
            return Err(ApiError::validation("1 validation error detected: Value null at 'tags.member.key' failed to satisfy constraint: Member must not be null"));
        }
        if key.starts_with("aws:") {
            return Err(ApiError::validation(format!(
                "Tag key '{key}' cannot start with 'aws:'"
            )));
        }
        if out.iter().any(|(k, _)| *k == key) {
            return Err(ApiError::modeled(
                E::DuplicateTagKeys,
                format!("Tag key '{key}' specified more than once"),
            ));
        }
        out.push((key, t.value.clone().unwrap_or_default()));
    }
    if out.len() > MAX_TAGS {
        return Err(ApiError::modeled(E::TooManyTags, "The quota for the number of tags that can be assigned to a load balancer has been reached"));
    }
    Ok(out)
}

/// Merges `add` into `tags` (values are replaced), enforcing the limit.
pub fn merge(tags: &mut Tags, add: &Tags) -> ApiResult<()> {
    let mut next = tags.clone();
    for (k, v) in add {
        match next.iter_mut().find(|(kk, _)| kk == k) {
            Some(slot) => slot.1 = v.clone(),
            None => next.push((k.clone(), v.clone())),
        }
    }
    if next.len() > MAX_TAGS {
        return Err(ApiError::modeled(E::TooManyTags, "The quota for the number of tags that can be assigned to a load balancer has been reached"));
    }
    *tags = next;
    Ok(())
}

/// Tags as the API returns them.
pub fn to_api(tags: &Tags) -> Vec<m::Tag> {
    tags.iter()
        .map(|(k, v)| m::Tag {
            key: Some(k.clone()),
            value: Some(v.clone()),
        })
        .collect()
}

impl Service<'_> {
    fn tags_mut(&mut self, arn: &str) -> ApiResult<&mut Tags> {
        let s = self.scope_mut()?;
        let t = match kind_of(arn) {
            ArnKind::LoadBalancer => s.load_balancers.get_mut(arn).map(|r| &mut r.tags),
            ArnKind::TargetGroup => s.target_groups.get_mut(arn).map(|r| &mut r.tags),
            ArnKind::Listener => s.listeners.get_mut(arn).map(|r| &mut r.tags),
            ArnKind::Rule => s.rules.get_mut(arn).map(|r| &mut r.tags),
            ArnKind::TrustStore => s.trust_stores.get_mut(arn).map(|r| &mut r.tags),
            ArnKind::Unknown => None,
        };
        t.ok_or_else(|| not_found(arn))
    }

    /// The tags of any taggable resource; its kind's not-found error when there is none.
    pub(super) fn tags_of(&self, arn: &str) -> ApiResult<&Tags> {
        let s = self.scope();
        let t = match kind_of(arn) {
            ArnKind::LoadBalancer => s.load_balancers.get(arn).map(|r| &r.tags),
            ArnKind::TargetGroup => s.target_groups.get(arn).map(|r| &r.tags),
            ArnKind::Listener => s.listeners.get(arn).map(|r| &r.tags),
            ArnKind::Rule => s.rules.get(arn).map(|r| &r.tags),
            ArnKind::TrustStore => s.trust_stores.get(arn).map(|r| &r.tags),
            ArnKind::Unknown => None,
        };
        t.ok_or_else(|| not_found(arn))
    }
}

impl m::Tags for Service<'_> {
    /// AddTags.
    fn add_tags(&mut self, i: m::AddTagsInput) -> ApiResult<m::AddTagsOutput> {
        let add = check_new(i.tags.as_deref().unwrap_or_default())?;
        for arn in i.resource_arns.unwrap_or_default() {
            merge(self.tags_mut(&arn)?, &add)?;
        }
        Ok(m::AddTagsOutput {})
    }

    /// RemoveTags.
    fn remove_tags(&mut self, i: m::RemoveTagsInput) -> ApiResult<m::RemoveTagsOutput> {
        let keys = i.tag_keys.unwrap_or_default();
        for arn in i.resource_arns.unwrap_or_default() {
            self.tags_mut(&arn)?.retain(|(k, _)| !keys.contains(k));
        }
        Ok(m::RemoveTagsOutput {})
    }

    /// DescribeTags: one entry per ARN, even when it has no tags.
    fn describe_tags(&mut self, i: m::DescribeTagsInput) -> ApiResult<m::DescribeTagsOutput> {
        let mut out = Vec::new();
        for arn in i.resource_arns.unwrap_or_default() {
            let tags = self.tags_of(&arn)?;
            out.push(m::TagDescription {
                resource_arn: Some(arn.clone()),
                tags: Some(to_api(tags)),
            });
        }
        Ok(m::DescribeTagsOutput {
            tag_descriptions: Some(out),
        })
    }
}
