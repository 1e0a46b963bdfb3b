//! The model's constraints (required, enum, length, range), worded as AWS words its
//! `ValidationError`: `Value 'x' at 'path' failed to satisfy constraint: …`.

/// Checked against the model by generated code.
pub trait Validate {
    /// Appends one message per violated constraint under `path`.
    fn validate(&self, path: &str, errs: &mut Vec<String>);
}

impl<T: Validate> Validate for Vec<T> {
    fn validate(&self, path: &str, errs: &mut Vec<String>) {
        for (i, v) in self.iter().enumerate() {
            v.validate(&format!("{path}.{}.member", i + 1), errs);
        }
    }
}

macro_rules! no_constraints {
    ($($t:ty),*) => { $(impl Validate for $t { fn validate(&self, _: &str, _: &mut Vec<String>) {} })* };
}
no_constraints!(String, i32, i64, f64, bool, crate::Timestamp, std::collections::BTreeMap<String, String>);

/// `a.b` path joining; the top level has an empty path.
pub fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// A required member is absent.
pub fn missing(errs: &mut Vec<String>, path: &str, name: &str) {
    errs.push(format!(
        "Value null at '{}' failed to satisfy constraint: Member must not be null",
        join(path, name)
    ));
}

/// An enum member holds a value outside its set.
pub fn one_of(errs: &mut Vec<String>, path: &str, v: &str, set: &[&str]) {
    if !set.contains(&v) {
        errs.push(format!(
            "Value '{v}' at '{path}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            set.join(", ")
        ));
    }
}

/// String length bounds (in characters).
pub fn length(errs: &mut Vec<String>, path: &str, v: &str, min: Option<i64>, max: Option<i64>) {
    let n = v.chars().count() as i64;
    if let Some(min) = min.filter(|&m| n < m) {
        errs.push(format!(
            "Value '{v}' at '{path}' failed to satisfy constraint: Member must have length greater than or equal to {min}"
        ));
    }
    if let Some(max) = max.filter(|&m| n > m) {
        errs.push(format!(
            "Value '{v}' at '{path}' failed to satisfy constraint: Member must have length less than or equal to {max}"
        ));
    }
}

/// Numeric bounds.
pub fn range(errs: &mut Vec<String>, path: &str, v: i64, min: Option<i64>, max: Option<i64>) {
    if let Some(min) = min.filter(|&m| v < m) {
        errs.push(format!(
            "Value '{v}' at '{path}' failed to satisfy constraint: Member must have value greater than or equal to {min}"
        ));
    }
    if let Some(max) = max.filter(|&m| v > m) {
        errs.push(format!(
            "Value '{v}' at '{path}' failed to satisfy constraint: Member must have value less than or equal to {max}"
        ));
    }
}

/// List length bounds.
pub fn list_len(errs: &mut Vec<String>, path: &str, n: usize, min: Option<i64>, max: Option<i64>) {
    let n = n as i64;
    if let Some(min) = min.filter(|&m| n < m) {
        errs.push(format!(
            "Value '[]' at '{path}' failed to satisfy constraint: Member must have length greater than or equal to {min}"
        ));
    }
    if let Some(max) = max.filter(|&m| n > m) {
        errs.push(format!(
            "Value at '{path}' failed to satisfy constraint: Member must have length less than or equal to {max}"
        ));
    }
}

/// AWS's summary line: `N validation error(s) detected: a; b`.
pub fn summary(errs: &[String]) -> String {
    let n = errs.len();
    format!(
        "{n} validation error{} detected: {}",
        if n == 1 { "" } else { "s" },
        errs.join("; ")
    )
}
