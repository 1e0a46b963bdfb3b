//! A strict validator for the openAPIV3Schema subset the Traefik CRDs use.
//!
//! The API server *prunes* fields a structural schema does not list and accepts the rest, so a
//! misspelt or misplaced field in a rendered object silently disappears in a cluster. This
//! validator turns every such field into an error instead: an object schema with `properties`
//! (and no `x-kubernetes-preserve-unknown-fields`) admits those keys only. Everything else follows
//! the API server: `type` (`object`, `array`, `string`, `integer`, `number`, `boolean`),
//! `nullable`, `required`, `items`, `additionalProperties`, `enum`, `minimum`/`maximum`,
//! `pattern`, `x-kubernetes-int-or-string`, `anyOf`/`oneOf`/`allOf`, and the two CEL rules
//! (`x-kubernetes-validations`) the Traefik v3.7 CRDs carry. A schema keyword outside this subset
//! is a load error, so a CRD upgrade that needs more support fails loudly rather than passing
//! objects unchecked. `default` is accepted and not applied (rendered objects set what they mean).
//!
//! Root `metadata` (bare `type: object` in every CRD) is checked as the API server checks
//! ObjectMeta for what localelb writes: `name` (DNS-1123 subdomain), `namespace` (DNS-1123 label),
//! `labels` (qualified names, ≤63-char values) and `annotations`.

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

mod metadata;

use metadata::check_metadata;
pub use metadata::{is_dns1123_label, is_dns1123_subdomain, is_label_key, is_label_value};

/// One validation failure: where (`spec.routes[0].priority`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "<root>"
        } else {
            &self.path
        };
        write!(f, "{path}: {}", self.message)
    }
}

/// One custom resource kind from the CRD file: what an API client needs to address it, and its
/// schema.
#[derive(Debug, Clone)]
pub struct CrdKind {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
    pub schema: Value,
}

impl CrdKind {
    /// `group/version`, as in an object's `apiVersion`.
    pub fn api_version(&self) -> String {
        format!("{}/{}", self.group, self.version)
    }
}

/// The Traefik v3.7.9 CRD schemas (`translators/crds/traefik-crd-schemas.v3.7.9.json`, derived
/// from the copied CRD file by `scripts/crds-to-json.py`).
pub struct Schemas {
    kinds: BTreeMap<(String, String), CrdKind>,
}

const TRAEFIK_JSON: &str = include_str!("../crds/traefik-crd-schemas.v3.7.9.json");

impl Schemas {
    /// The bundled Traefik CRD schemas, parsed and checked for unsupported keywords once.
    pub fn traefik() -> &'static Schemas {
        static S: OnceLock<Schemas> = OnceLock::new();
        S.get_or_init(|| {
            Schemas::from_json(TRAEFIK_JSON).unwrap_or_else(|e| panic!("bundled CRD schemas: {e}"))
        })
    }

    /// Parses the JSON form written by `scripts/crds-to-json.py` and checks that every schema
    /// keyword is one this validator implements.
    pub fn from_json(text: &str) -> Result<Schemas, String> {
        let root: Map<String, Value> = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut kinds = BTreeMap::new();
        for (key, v) in root {
            let s = |k: &str| {
                v.get(k)
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| format!("{key}: missing {k}"))
            };
            let kind = CrdKind {
                group: s("group")?,
                version: s("version")?,
                kind: s("kind")?,
                plural: s("plural")?,
                namespaced: s("scope")? == "Namespaced",
                schema: v
                    .get("schema")
                    .cloned()
                    .ok_or(format!("{key}: no schema"))?,
            };
            check_keywords(&kind.schema, &kind.kind)?;
            kinds.insert((kind.api_version(), kind.kind.clone()), kind);
        }
        Ok(Schemas { kinds })
    }

    /// The kind addressed by an object's `apiVersion` and `kind`.
    pub fn get(&self, api_version: &str, kind: &str) -> Option<&CrdKind> {
        self.kinds.get(&(api_version.to_string(), kind.to_string()))
    }

    /// Every kind, in a stable order.
    pub fn kinds(&self) -> impl Iterator<Item = &CrdKind> {
        self.kinds.values()
    }

    /// Validates a whole custom resource (its `apiVersion`/`kind` pick the schema).
    pub fn validate_object(&self, obj: &Value) -> Result<(), Vec<SchemaError>> {
        let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
        let Some(crd) = self.get(api_version, kind) else {
            return Err(vec![SchemaError {
                path: String::new(),
                message: format!("no CRD for apiVersion {api_version:?} kind {kind:?}"),
            }]);
        };
        let mut errs = Vec::new();
        validate_into(&crd.schema, obj, "", &mut errs);
        // ObjectMeta is the API server's own type, not described by the CRD.
        match obj.get("metadata") {
            Some(m) => check_metadata(m, crd.namespaced, &mut errs),
            None => errs.push(err("metadata", "required field is missing")),
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs)
        }
    }
}

/// Validates `value` against `schema` (strict: unlisted fields are errors).
pub fn validate(schema: &Value, value: &Value) -> Result<(), Vec<SchemaError>> {
    let mut errs = Vec::new();
    validate_into(schema, value, "", &mut errs);
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs)
    }
}

const KEYWORDS: &[&str] = &[
    "type",
    "description",
    "properties",
    "required",
    "items",
    "enum",
    "additionalProperties",
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-validations",
    "anyOf",
    "oneOf",
    "allOf",
    "minimum",
    "maximum",
    "pattern",
    "nullable",
    "format",
    "default",
];

/// The CEL rules of the Traefik CRDs, each implemented natively (see [`cel`]).
const KNOWN_CEL: &[&str] = &[
    "self.startsWith('/')",
    "!has(self.secret) || !has(self.configMap)",
];

fn check_keywords(schema: &Value, at: &str) -> Result<(), String> {
    let Some(o) = schema.as_object() else {
        return Err(format!("{at}: schema is not an object"));
    };
    for (k, v) in o {
        if !KEYWORDS.contains(&k.as_str()) {
            return Err(format!("{at}: unsupported schema keyword {k}"));
        }
        match k.as_str() {
            "properties" => {
                for (name, sub) in v.as_object().into_iter().flatten() {
                    check_keywords(sub, &format!("{at}.{name}"))?;
                }
            }
            "items" => check_keywords(v, &format!("{at}[]"))?,
            "additionalProperties" if v.is_object() => check_keywords(v, &format!("{at}{{}}"))?,
            "anyOf" | "oneOf" | "allOf" => {
                for sub in v.as_array().into_iter().flatten() {
                    check_keywords(sub, &format!("{at}/{k}"))?;
                }
            }
            "pattern" => {
                let p = v.as_str().unwrap_or("");
                regex::Regex::new(p).map_err(|e| format!("{at}: pattern {p:?}: {e}"))?;
            }
            "format" if !matches!(v.as_str(), Some("int64" | "int32")) => {
                return Err(format!("{at}: unsupported format {v}"));
            }
            "x-kubernetes-validations" => {
                for rule in v.as_array().into_iter().flatten() {
                    let r = rule.get("rule").and_then(Value::as_str).unwrap_or("");
                    if !KNOWN_CEL.contains(&r) {
                        return Err(format!("{at}: CEL rule not implemented: {r}"));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn err(path: &str, message: impl Into<String>) -> SchemaError {
    SchemaError {
        path: path.to_string(),
        message: message.into(),
    }
}

fn field(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(ty: &str, v: &Value) -> bool {
    match ty {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        _ => false,
    }
}

fn validate_into(schema: &Value, v: &Value, path: &str, errs: &mut Vec<SchemaError>) {
    let s = |k: &str| schema.get(k);
    let flag = |k: &str| s(k).and_then(Value::as_bool).unwrap_or(false);

    if v.is_null() {
        if !flag("nullable") {
            errs.push(err(path, "null is not allowed here"));
        }
        return;
    }
    if flag("x-kubernetes-int-or-string") {
        if !(type_matches("integer", v) || v.is_string()) {
            errs.push(err(
                path,
                format!("must be an integer or a string, got {}", type_name(v)),
            ));
            return;
        }
    } else if let Some(ty) = s("type").and_then(Value::as_str) {
        if !type_matches(ty, v) {
            errs.push(err(path, format!("must be {ty}, got {}", type_name(v))));
            return;
        }
    }

    if let Some(allowed) = s("enum").and_then(Value::as_array) {
        if !allowed.contains(v) {
            let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
            errs.push(err(
                path,
                format!("{v} is not one of [{}]", list.join(", ")),
            ));
        }
    }
    if let Some(n) = v.as_f64() {
        if let Some(min) = s("minimum").and_then(Value::as_f64) {
            if n < min {
                errs.push(err(path, format!("{v} is less than the minimum {min}")));
            }
        }
        if let Some(max) = s("maximum").and_then(Value::as_f64) {
            if n > max {
                errs.push(err(path, format!("{v} is greater than the maximum {max}")));
            }
        }
    }
    if let (Some(text), Some(p)) = (v.as_str(), s("pattern").and_then(Value::as_str)) {
        // Patterns were compiled by check_keywords; schemas from elsewhere may not have been.
        match regex::Regex::new(p) {
            Ok(re) if re.is_match(text) => {}
            Ok(_) => errs.push(err(path, format!("{text:?} does not match {p:?}"))),
            Err(e) => errs.push(err(path, format!("bad pattern {p:?}: {e}"))),
        }
    }

    match v {
        Value::Object(o) => validate_object_fields(schema, o, path, errs),
        Value::Array(items) => {
            if let Some(item_schema) = s("items") {
                for (i, item) in items.iter().enumerate() {
                    validate_into(item_schema, item, &format!("{path}[{i}]"), errs);
                }
            }
        }
        _ => {}
    }

    validate_combinators(schema, v, path, errs);
}

/// `allOf` / `anyOf` / `oneOf` and the CEL rules (`x-kubernetes-validations`) at one node.
fn validate_combinators(schema: &Value, v: &Value, path: &str, errs: &mut Vec<SchemaError>) {
    let s = |k: &str| schema.get(k);
    if let Some(branches) = s("allOf").and_then(Value::as_array) {
        for b in branches {
            validate_into(b, v, path, errs);
        }
    }
    if let Some(branches) = s("anyOf").and_then(Value::as_array) {
        if !branches.iter().any(|b| validate(b, v).is_ok()) {
            errs.push(err(path, "matches none of the anyOf alternatives"));
        }
    }
    if let Some(branches) = s("oneOf").and_then(Value::as_array) {
        let n = branches.iter().filter(|b| validate(b, v).is_ok()).count();
        if n != 1 {
            errs.push(err(
                path,
                format!("matches {n} of the oneOf alternatives (exactly 1 required)"),
            ));
        }
    }
    for rule in s("x-kubernetes-validations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let r = rule.get("rule").and_then(Value::as_str).unwrap_or("");
        let msg = rule.get("message").and_then(Value::as_str).unwrap_or(r);
        match cel(r, v) {
            Some(true) => {}
            Some(false) => errs.push(err(path, msg)),
            None => errs.push(err(path, format!("CEL rule not implemented: {r}"))),
        }
    }
}

/// The CEL rules of [`KNOWN_CEL`], evaluated natively; `None` for any other rule.
fn cel(rule: &str, v: &Value) -> Option<bool> {
    match rule {
        "self.startsWith('/')" => Some(v.as_str().is_some_and(|s| s.starts_with('/'))),
        "!has(self.secret) || !has(self.configMap)" => {
            Some(!(v.get("secret").is_some() && v.get("configMap").is_some()))
        }
        _ => None,
    }
}

fn validate_object_fields(
    schema: &Value,
    o: &Map<String, Value>,
    path: &str,
    errs: &mut Vec<SchemaError>,
) {
    let preserve = schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    for name in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !o.contains_key(name) {
            errs.push(err(&field(path, name), "required field is missing"));
        }
    }
    let props = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties");
    for (k, v) in o {
        let p = field(path, k);
        if let Some(sub) = props.and_then(|p| p.get(k)) {
            // Root metadata is ObjectMeta; Schemas::validate_object checks it.
            if !(path.is_empty() && k == "metadata") {
                validate_into(sub, v, &p, errs);
            }
        } else if let Some(sub) = additional.filter(|a| a.is_object()) {
            validate_into(sub, v, &p, errs);
        } else if preserve || additional == Some(&Value::Bool(true)) {
        } else if !(path.is_empty() && k == "metadata") {
            errs.push(err(
                &p,
                "unknown field (the API server would prune it silently)",
            ));
        }
    }
}

#[cfg(test)]
mod tests;
