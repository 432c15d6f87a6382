//! The `wsk` CLI's properties file (`~/.wskprops`): `KEY=VALUE` lines.

/// A parsed properties file, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WskProps(Vec<(String, String)>);

/// A line that is not `KEY=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WskPropsError {
    /// 1-based line number.
    pub line: usize,
}

impl std::fmt::Display for WskPropsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: expected KEY=VALUE", self.line)
    }
}

impl std::error::Error for WskPropsError {}

impl WskProps {
    /// Parse `KEY=VALUE` lines; `#` comments and blank lines are skipped.
    pub fn parse(text: &str) -> Result<WskProps, WskPropsError> {
        let mut out = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = line.split_once('=').ok_or(WskPropsError { line: n + 1 })?;
            out.push((k.trim().to_owned(), v.trim().to_owned()));
        }
        Ok(WskProps(out))
    }

    /// The value of `key` (`APIHOST`, `AUTH`, `NAMESPACE`, ...); the last one wins, as in `wsk`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every `KEY=VALUE` pair, in file order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_keys_and_names_the_bad_line() {
        let p = WskProps::parse("# c\nAPIHOST=h:443\n\nAUTH = u:k\nAUTH=u:k2\n").unwrap();
        assert_eq!(p.get("APIHOST"), Some("h:443"));
        assert_eq!(p.get("AUTH"), Some("u:k2"));
        assert_eq!(p.get("NAMESPACE"), None);
        assert_eq!(
            WskProps::parse("A=1\ngarbage").unwrap_err().to_string(),
            "line 2: expected KEY=VALUE"
        );
    }
}
