//! `owbench plugin new`: a plugin crate from a template, for each kind of plugin. Each
//! builds for wasm32-wasip2 (`./build.sh`) and its generated tests pass natively
//! (`cargo test`). The templates are the files under `template/`, with `{{…}}` holes.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

/// The kinds of plugin `plugin new` has a template for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TemplateKind {
    /// A benchmark workload (the `owbench-workload` SDK).
    Workload,
    /// A cloud provider (the `owbench-provider` SDK).
    Provider,
    /// An OpenWhisk installer (the `owbench-installer` SDK).
    Installer,
}

/// The language a plugin is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// Rust, built for wasm32-wasip2 with cargo (every kind).
    Rust,
    /// Python, built with componentize-py by `owbench plugin build` (workloads).
    Python,
}

/// A template's files: (path in the new crate, text with `{{…}}` holes).
type Files = &'static [(&'static str, &'static str)];

/// The Python workload template's files.
const PYTHON_WORKLOAD: Files = &[
    (
        "plugin.toml",
        include_str!("template/python-workload/plugin.toml.in"),
    ),
    ("app.py", include_str!("template/python-workload/app.py.in")),
    (
        "test_app.py",
        include_str!("template/python-workload/test_app.py.in"),
    ),
    (
        "requirements.txt",
        include_str!("template/python-workload/requirements.txt.in"),
    ),
    (
        ".gitignore",
        include_str!("template/python-workload/gitignore.in"),
    ),
];

/// What every template has besides its own files.
const COMMON: Files = &[
    ("build.sh", include_str!("template/build.sh.in")),
    (".gitignore", include_str!("template/gitignore.in")),
];

impl TemplateKind {
    /// Its files.
    fn files(self) -> Files {
        match self {
            TemplateKind::Workload => &[
                (
                    "Cargo.toml",
                    include_str!("template/workload/Cargo.toml.in"),
                ),
                (
                    "plugin.toml",
                    include_str!("template/workload/plugin.toml.in"),
                ),
                ("src/lib.rs", include_str!("template/workload/lib.rs.in")),
            ],
            TemplateKind::Provider => &[
                (
                    "Cargo.toml",
                    include_str!("template/provider/Cargo.toml.in"),
                ),
                (
                    "plugin.toml",
                    include_str!("template/provider/plugin.toml.in"),
                ),
                ("src/lib.rs", include_str!("template/provider/lib.rs.in")),
                ("src/api.rs", include_str!("template/provider/api.rs.in")),
                (
                    "src/component.rs",
                    include_str!("template/provider/component.rs.in"),
                ),
            ],
            TemplateKind::Installer => &[
                (
                    "Cargo.toml",
                    include_str!("template/installer/Cargo.toml.in"),
                ),
                (
                    "plugin.toml",
                    include_str!("template/installer/plugin.toml.in"),
                ),
                ("src/lib.rs", include_str!("template/installer/lib.rs.in")),
                (
                    "src/sizing.rs",
                    include_str!("template/installer/sizing.rs.in"),
                ),
                (
                    "src/component.rs",
                    include_str!("template/installer/component.rs.in"),
                ),
            ],
        }
    }

    /// Its SDK: (cargo package, path in an owbench checkout).
    fn sdk(self) -> (&'static str, &'static str) {
        match self {
            TemplateKind::Workload => ("owbench-workload", "workloads/sdk"),
            TemplateKind::Provider => ("owbench-provider", "plugins/sdk"),
            TemplateKind::Installer => ("owbench-installer", "plugins/installer-sdk"),
        }
    }

    /// What to do with the built component (shell-quoted for `build.sh`'s echo).
    fn next_steps(self, name: &str) -> String {
        match self {
            TemplateKind::Workload => {
                "\\`owbench workload run .\\`, then \\`owbench plugin pack .\\`".into()
            }
            TemplateKind::Provider => format!(
                "\\`owbench plugin install .\\`, then \\`owbench cluster up SPEC --dry-run\\` \
                 with provider = \\\"{name}\\\""
            ),
            TemplateKind::Installer => format!(
                "\\`owbench plugin install .\\`, then \\`owbench cluster up SPEC --dry-run\\` \
                 with [installer] name = \\\"{name}\\\""
            ),
        }
    }

    /// Its word in messages.
    fn noun(self) -> &'static str {
        match self {
            TemplateKind::Workload => "workload",
            TemplateKind::Provider => "provider",
            TemplateKind::Installer => "installer",
        }
    }
}

/// Write `files` (path, text) into `dir`, a new directory under `parent`, with the
/// files of `executable` made executable. Written beside its place and renamed into it:
/// no half-made plugin on failure.
fn write_new(
    dir: &Path,
    parent: &Path,
    files: &[(String, String)],
    executable: &[&str],
) -> anyhow::Result<()> {
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".owbench-new-")
        .tempdir_in(parent)
        .with_context(|| format!("cannot write in {}", parent.display()))?;
    for (path, text) in files {
        let target = staging.path().join(path);
        if let Some(p) = target.parent() {
            std::fs::create_dir_all(p)?;
        }
        std::fs::write(&target, text)?;
    }
    #[cfg(unix)]
    for path in executable {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            staging.path().join(path),
            std::fs::Permissions::from_mode(0o755),
        )?;
    }
    std::fs::rename(staging.keep(), dir).with_context(|| format!("cannot create {}", dir.display()))
}

/// Create the Python workload `name` in `parent/name`, with a copy of the Python SDK
/// (in `.owbench-sdk/`) for its tests.
fn new_python_workload(name: &str, parent: &Path) -> anyhow::Result<()> {
    let dir = parent.join(name);
    if dir.exists() {
        bail!("{} exists already", dir.display());
    }
    let fill = |text: &str| {
        text.replace("{{name}}", name)
            .replace("{{wit}}", owbench_plugin::manifest::WIT_VERSION)
            .replace("{{owbench}}", &host_requirement())
    };
    let mut files: Vec<(String, String)> = PYTHON_WORKLOAD
        .iter()
        .map(|(path, text)| (path.to_string(), fill(text)))
        .collect();
    files.extend(
        crate::python::sdk_files()
            .map(|(path, text)| (format!(".owbench-sdk/{path}"), text.to_owned())),
    );
    write_new(&dir, parent, &files, &[])?;
    println!(
        "created workload `{name}` in {}: `python3 -m unittest` there runs its tests, `owbench plugin build {}` builds {name}.wasm",
        dir.display(),
        dir.display()
    );
    Ok(())
}

/// The owbench versions a new plugin works with: this one's minor series (`^0.1`).
fn host_requirement() -> String {
    let host = semver::Version::parse(owbench_plugin::manifest::HOST_VERSION)
        .expect("the crate version is semver");
    format!("^{}.{}", host.major, host.minor)
}

/// The owbench checkout this binary was built from, if it is still there.
fn own_checkout() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    root.join("workloads/sdk/Cargo.toml")
        .is_file()
        .then(|| root.to_path_buf())
}

/// `name` as a Rust type name: `hello-world` → `HelloWorld`.
fn type_name(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Create the `kind` plugin crate `name` in `parent/name`, its SDK dependency from the
/// checkout `sdk` (default: [`own_checkout`], else the repository).
pub fn new_plugin(
    kind: TemplateKind,
    lang: Lang,
    name: &str,
    parent: &Path,
    sdk: Option<PathBuf>,
) -> anyhow::Result<()> {
    if !owbench_plugin::manifest::is_plugin_name(name) {
        bail!(
            "plugin name `{name}`: use lowercase letters, digits and `-`, starting with a letter"
        );
    }
    if lang == Lang::Python {
        if kind != TemplateKind::Workload {
            bail!(
                "only workloads are written in Python: `plugin new workload {name} --lang python`"
            );
        }
        return new_python_workload(name, parent);
    }
    let (sdk_package, sdk_path) = kind.sdk();
    let sdk_dependency = match sdk.or_else(own_checkout) {
        Some(root) => {
            let sdk = std::path::absolute(root.join(sdk_path))?;
            if !sdk.join("Cargo.toml").is_file() {
                bail!(
                    "{}: no owbench SDK there (expected {sdk_path}/Cargo.toml)",
                    root.display()
                );
            }
            format!("{{ path = {:?} }}", sdk.display().to_string())
        }
        None => format!(
            "{{ git = \"{}\", package = \"{sdk_package}\" }}",
            env!("CARGO_PKG_REPOSITORY")
        ),
    };
    let dir = parent.join(name);
    if dir.exists() {
        bail!("{} exists already", dir.display());
    }
    let fill = |text: &str| {
        text.replace("{{name}}", name)
            .replace("{{crate}}", &name.replace('-', "_"))
            .replace("{{type}}", &type_name(name))
            .replace("{{sdk}}", &sdk_dependency)
            .replace("{{wit}}", owbench_plugin::manifest::WIT_VERSION)
            .replace("{{owbench}}", &host_requirement())
            .replace("{{try}}", &kind.next_steps(name))
    };
    let files: Vec<(String, String)> = kind
        .files()
        .iter()
        .chain(COMMON)
        .map(|(path, text)| (path.to_string(), fill(text)))
        .collect();
    write_new(&dir, parent, &files, &["build.sh"])?;
    println!(
        "created {} `{name}` in {}: `cargo test` there runs its tests, `./build.sh` builds {name}.wasm",
        kind.noun(),
        dir.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_type_names() {
        assert_eq!(type_name("hello-world"), "HelloWorld");
        assert_eq!(type_name("x2"), "X2");
    }

    #[test]
    fn every_template_fills_every_hole() {
        let parent = tempfile::tempdir().unwrap();
        for kind in [
            TemplateKind::Workload,
            TemplateKind::Provider,
            TemplateKind::Installer,
        ] {
            new_plugin(kind, Lang::Rust, kind.noun(), parent.path(), None).unwrap();
            for (path, _) in kind.files().iter().chain(COMMON) {
                let text =
                    std::fs::read_to_string(parent.path().join(kind.noun()).join(path)).unwrap();
                for hole in ["name", "crate", "type", "sdk", "wit", "owbench", "try"] {
                    assert!(!text.contains(&format!("{{{{{hole}}}}}")), "{path}: {hole}");
                }
            }
        }
        new_plugin(
            TemplateKind::Workload,
            Lang::Python,
            "py",
            parent.path(),
            None,
        )
        .unwrap();
        for (path, _) in PYTHON_WORKLOAD {
            let text = std::fs::read_to_string(parent.path().join("py").join(path)).unwrap();
            assert!(!text.contains("{{"), "{path}");
        }
        assert!(
            parent
                .path()
                .join("py/.owbench-sdk/owbench_workload/__init__.py")
                .is_file()
        );
        let e = new_plugin(
            TemplateKind::Provider,
            Lang::Python,
            "pp",
            parent.path(),
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("only workloads"), "{e}");
    }
}
