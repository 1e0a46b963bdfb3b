//! Query-protocol request decoding: `application/x-www-form-urlencoded` pairs (POST body or
//! GET query) into a flat key map, and the generic rules that turn it into shapes:
//! `X.member.N` lists in numeric order, `X=` as the empty list, `X.entry.N.key/value` maps,
//! `A.B.C` nested structures.

use std::collections::BTreeMap;

/// The flattened parameters of one request. A key given twice keeps its last value.
#[derive(Debug, Clone, Default)]
pub struct QueryMap {
    map: BTreeMap<String, String>,
}

/// A request the model cannot accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// AWS's `ValidationError`, with its full message.
    Validation(String),
}

impl QueryMap {
    /// Decodes a form-urlencoded string (`+` is a space, `%XX` escapes).
    pub fn parse(raw: &[u8]) -> Self {
        let mut map = BTreeMap::new();
        for (k, v) in form_pairs(raw) {
            map.insert(k, v);
        }
        QueryMap { map }
    }
    /// Builds a map from pairs (later pairs win).
    pub fn from_pairs<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        QueryMap {
            map: pairs.into_iter().collect(),
        }
    }
    /// The value of an exact key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }
    /// Removes and returns an exact key (used for `Action` and `Version`).
    pub fn take(&mut self, key: &str) -> Option<String> {
        self.map.remove(key)
    }
    /// Whether any parameter is at `key` or below it.
    pub fn has_prefix(&self, key: &str) -> bool {
        if key.is_empty() {
            return true;
        }
        self.below(key).next().is_some() || self.map.contains_key(key)
    }
    /// Entries strictly below `key.`.
    fn below<'a>(&'a self, key: &str) -> impl Iterator<Item = (&'a String, &'a String)> + 'a {
        let prefix = format!("{key}.");
        self.map
            .range(prefix.clone()..)
            .take_while(move |(k, _)| k.starts_with(&prefix))
    }
    /// The distinct numeric indexes N of `key.{sep}.N…`, in numeric order.
    fn indexes(&self, key: &str, sep: &str) -> Vec<u32> {
        let prefix = join(key, sep) + ".";
        let mut idx: Vec<u32> = self
            .map
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(k, _)| k[prefix.len()..].split('.').next()?.parse().ok())
            .collect();
        idx.sort_unstable();
        idx.dedup();
        idx
    }
}

/// Splits a form-urlencoded byte string into decoded pairs, keeping their order.
pub fn form_pairs(raw: &[u8]) -> Vec<(String, String)> {
    raw.split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut it = p.splitn(2, |&b| b == b'=');
            let k = decode(it.next().unwrap_or_default());
            let v = decode(it.next().unwrap_or_default());
            (k, v)
        })
        .collect()
}

fn decode(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < s.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(s[i + 1]), hex(s[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `a.b` key joining; the top level has an empty key.
pub fn join(key: &str, name: &str) -> String {
    if key.is_empty() {
        name.to_string()
    } else {
        format!("{key}.{name}")
    }
}

/// AWS's path for a wire key: `Actions.member.1.Order` → `actions.1.member.order`.
pub fn aws_path(key: &str) -> String {
    let parts: Vec<&str> = key.split('.').collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        if (parts[i] == "member" || parts[i] == "entry") && i + 1 < parts.len() {
            out.push(parts[i + 1].to_string());
            out.push(parts[i].to_string());
            i += 2;
            continue;
        }
        let mut c = parts[i].chars();
        out.push(match c.next() {
            Some(f) => f.to_ascii_lowercase().to_string() + c.as_str(),
            None => String::new(),
        });
        i += 1;
    }
    out.join(".")
}

/// Decodes one value of a shape at a wire key.
pub trait FromQuery: Sized {
    /// `Ok(None)` when nothing is at `key`.
    fn from_query(q: &QueryMap, key: &str) -> Result<Option<Self>, QueryError>;
}

impl FromQuery for String {
    fn from_query(q: &QueryMap, key: &str) -> Result<Option<Self>, QueryError> {
        Ok(q.get(key).map(str::to_string))
    }
}

fn number<T: std::str::FromStr>(q: &QueryMap, key: &str) -> Result<Option<T>, QueryError> {
    match q.get(key) {
        None => Ok(None),
        Some(v) => v.trim().parse().map(Some).map_err(|_| {
            QueryError::Validation(crate::validate::summary(&[format!(
                "Value '{v}' at '{}' failed to satisfy constraint: Member must be a number",
                aws_path(key)
            )]))
        }),
    }
}

impl FromQuery for i32 {
    fn from_query(q: &QueryMap, key: &str) -> Result<Option<Self>, QueryError> {
        number(q, key)
    }
}
impl FromQuery for i64 {
    fn from_query(q: &QueryMap, key: &str) -> Result<Option<Self>, QueryError> {
        number(q, key)
    }
}
impl FromQuery for f64 {
    fn from_query(q: &QueryMap, key: &str) -> Result<Option<Self>, QueryError> {
        number(q, key)
    }
}

impl FromQuery for bool {
    fn from_query(q: &QueryMap, key: &str) -> Result<Option<Self>, QueryError> {
        match q.get(key) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(QueryError::Validation(crate::validate::summary(&[
                format!(
                    "Value '{v}' at '{}' failed to satisfy constraint: Member must be a boolean",
                    aws_path(key)
                ),
            ]))),
        }
    }
}

impl FromQuery for crate::Timestamp {
    fn from_query(q: &QueryMap, key: &str) -> Result<Option<Self>, QueryError> {
        match q.get(key) {
            None => Ok(None),
            Some(v) => crate::Timestamp::parse_iso8601(v).map(Some).ok_or_else(|| {
                QueryError::Validation(format!("Invalid timestamp '{v}' at '{}'", aws_path(key)))
            }),
        }
    }
}

impl<T: FromQuery> FromQuery for Vec<T> {
    fn from_query(q: &QueryMap, key: &str) -> Result<Option<Self>, QueryError> {
        let idx = q.indexes(key, "member");
        if idx.is_empty() {
            // `X=` (a key with an empty value) is the empty list, never `[""]`.
            return Ok(q.get(key).map(|_| Vec::new()));
        }
        let mut out = Vec::with_capacity(idx.len());
        for i in idx {
            if let Some(v) = T::from_query(q, &format!("{}.member.{i}", key))? {
                out.push(v);
            }
        }
        Ok(Some(out))
    }
}

impl FromQuery for BTreeMap<String, String> {
    fn from_query(q: &QueryMap, key: &str) -> Result<Option<Self>, QueryError> {
        let idx = q.indexes(key, "entry");
        if idx.is_empty() {
            return Ok(q.get(key).map(|_| BTreeMap::new()));
        }
        let mut out = BTreeMap::new();
        for i in idx {
            let k = q.get(&format!("{key}.entry.{i}.key"));
            let v = q.get(&format!("{key}.entry.{i}.value"));
            if let Some(k) = k {
                out.insert(k.to_string(), v.unwrap_or_default().to_string());
            }
        }
        Ok(Some(out))
    }
}

/// Decodes an operation's input shape from the top level and checks the model's constraints.
pub fn parse_input<T: FromQuery + Default + crate::validate::Validate>(
    q: &QueryMap,
) -> Result<T, QueryError> {
    let v = T::from_query(q, "")?.unwrap_or_default();
    let mut errs = Vec::new();
    v.validate("", &mut errs);
    if errs.is_empty() {
        Ok(v)
    } else {
        Err(QueryError::Validation(crate::validate::summary(&errs)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_and_percent() {
        let q = QueryMap::parse(b"Names.member.1=my+lb%2B%26%3Dx&A=%3A%2F");
        assert_eq!(q.get("Names.member.1"), Some("my lb+&=x"));
        assert_eq!(q.get("A"), Some(":/"));
    }

    #[test]
    fn lists_are_numeric_order_and_empty_is_empty() {
        let mut pairs = String::new();
        for i in 1..=11 {
            pairs.push_str(&format!("L.member.{i}=v{i}&"));
        }
        pairs.push_str("E=");
        let q = QueryMap::parse(pairs.as_bytes());
        let l: Vec<String> = Vec::from_query(&q, "L").unwrap().unwrap();
        assert_eq!(l[9], "v10");
        assert_eq!(l[10], "v11");
        let e: Option<Vec<String>> = Vec::from_query(&q, "E").unwrap();
        assert_eq!(e, Some(vec![]));
        let none: Option<Vec<String>> = Vec::from_query(&q, "Missing").unwrap();
        assert_eq!(none, None);
    }

    #[test]
    fn maps_decode_entries() {
        let q =
            QueryMap::parse(b"M.entry.1.key=a&M.entry.1.value=1&M.entry.2.key=b&M.entry.2.value=2");
        let m: BTreeMap<String, String> = FromQuery::from_query(&q, "M").unwrap().unwrap();
        assert_eq!(m.get("b").map(String::as_str), Some("2"));
    }

    #[test]
    fn aws_paths() {
        assert_eq!(aws_path("Actions.member.1.Order"), "actions.1.member.order");
        assert_eq!(aws_path("Name"), "name");
    }

    #[test]
    fn bad_numbers_are_validation_errors() {
        let q = QueryMap::parse(b"Port=abc");
        let r: Result<Option<i32>, _> = FromQuery::from_query(&q, "Port");
        assert!(matches!(r, Err(QueryError::Validation(m)) if m.contains("'port'")));
    }
}
