//! Where owbench keeps files: the XDG base directories (with their `~/.cache`,
//! `~/.local/share`, `~/.local/state` fallbacks) and `~` in user-given paths.

use std::path::{Path, PathBuf};

/// The home directory (`$HOME`), if set.
pub fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// `path` with a leading `~` replaced by the home directory.
pub fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), home()) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => path.to_path_buf(),
    }
}

/// An XDG base directory: `$xdg_var` if set and not empty, else `~/home_rel`.
pub fn xdg(xdg_var: &str, home_rel: &str) -> Option<PathBuf> {
    std::env::var_os(xdg_var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(home_rel)))
}

/// owbench's directory `leaf` under an XDG base directory, unless `override_var` names
/// one; the system temp directory stands in for a missing home.
pub fn owbench_dir(override_var: &str, xdg_var: &str, home_rel: &str, leaf: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os(override_var).filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    xdg(xdg_var, home_rel)
        .unwrap_or_else(std::env::temp_dir)
        .join("owbench")
        .join(leaf)
}
