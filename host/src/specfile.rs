//! What the spec files (`owbench bench`'s experiments, `owbench cluster`'s clusters)
//! share: TOML whose errors point at a line and column, and parameter templates.

use serde_json::Value;

/// Deserialize TOML `text`; an error starts with the `line:column: ` it points at.
pub fn parse_toml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    toml::from_str(text).map_err(|e| {
        let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
        format!("{line}:{col}: {}", e.message().trim())
    })
}

/// 1-based line and column of byte `offset`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The argument of a parameter template `"{{ KIND ARG }}"` (`{{ object 1048576 }}`,
/// `{{ partition rankings }}`), if `v` is one of kind `kind`.
pub fn template_arg<'a>(v: &'a Value, kind: &str) -> Option<&'a str> {
    let mut words = v
        .as_str()?
        .trim()
        .strip_prefix("{{")?
        .strip_suffix("}}")?
        .split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some(k), Some(arg), None) if k == kind => Some(arg),
        _ => None,
    }
}
