//! Golden-file comparison shared by the renderers' golden tests.

use std::path::PathBuf;
use translators::model::Rendered;

/// Compares `text` with `testdata/<dir>/<name>`; `UPDATE_GOLDEN=1` rewrites the file instead.
pub fn golden(dir: &str, name: &str, text: &str) {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata")
        .join(dir)
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", p.display()));
    assert!(
        want == text,
        "{} differs from the render (UPDATE_GOLDEN=1 rewrites it):\n{text}",
        p.display()
    );
}

/// The render's warnings as YAML comment lines.
pub fn comments(r: &Rendered) -> Vec<String> {
    r.warnings
        .iter()
        .map(|w| format!("warning: {} [{}]: {}", w.resource, w.feature, w.message))
        .collect()
}
