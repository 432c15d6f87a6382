//! `plugin.toml`: what a plugin is and what it may do, checked before its component loads.
//!
//! ```toml
//! name = "object-download"
//! version = "0.1.0"
//! world = "owbench:plugin/workload@0.4.0"
//! component = "object-download.wasm"      # beside plugin.toml
//! owbench = "^0.1"                         # the owbench versions it works with (optional)
//!
//! [permissions]
//! allowed_outbound_hosts = ["https://*.amazonaws.com", "{{ url }}"]
//! # provider plugins only: the host re-signs their requests with these credentials
//! # credentials = "aws"    # or "oci"
//!
//! [limits]
//! memory_mb = 64
//! timeout_ms = 120000
//! ```

use std::fmt;
use std::time::Duration;

use semver::{Version, VersionReq};
use serde::Deserialize;

use crate::policy::HostRule;

/// The WIT package the host speaks, `owbench:plugin@WIT_VERSION`.
pub const WIT_PACKAGE: &str = "owbench:plugin";
/// The version of the WIT package in `wit/`.
pub const WIT_VERSION: &str = "0.4.0";
/// This owbench's version, which a manifest's `owbench` requirement is checked against.
pub const HOST_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The plugin worlds of `owbench:plugin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum World {
    /// A benchmark workload.
    Workload,
    /// A workload that also merges partial results (`reduce`); runs as a workload.
    ReducingWorkload,
    /// A cloud provider.
    Provider,
    /// An OpenWhisk installer.
    Installer,
}

impl World {
    fn parse(name: &str) -> Option<World> {
        match name {
            "workload" => Some(World::Workload),
            "reducing-workload" => Some(World::ReducingWorkload),
            "provider" => Some(World::Provider),
            "installer" => Some(World::Installer),
            _ => None,
        }
    }

    /// Whether a plugin of this world also implements `other` (a reducing workload is a
    /// workload).
    pub fn includes(self, other: World) -> bool {
        self == other || (self == World::ReducingWorkload && other == World::Workload)
    }

    /// The world's WIT name.
    pub fn as_str(self) -> &'static str {
        match self {
            World::Workload => "workload",
            World::ReducingWorkload => "reducing-workload",
            World::Provider => "provider",
            World::Installer => "installer",
        }
    }
}

impl fmt::Display for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{WIT_PACKAGE}/{}@{WIT_VERSION}", self.as_str())
    }
}

/// Why a `plugin.toml` was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// Not valid TOML, or a field is missing, unknown or of the wrong type.
    #[error("invalid plugin.toml: {0}")]
    Syntax(String),
    /// `world` is not of the form `owbench:plugin/<world>@<version>`.
    #[error(
        "`world = \"{0}\"` is not of the form `{WIT_PACKAGE}/<workload|provider|installer>@<version>`"
    )]
    BadWorld(String),
    /// The plugin targets a WIT version this host does not speak.
    #[error(
        "plugin targets `{WIT_PACKAGE}@{0}`, but this owbench speaks `{WIT_PACKAGE}@{WIT_VERSION}`"
    )]
    Version(Version),
    /// The plugin is of another world than the one asked for.
    #[error("plugin implements the `{found}` world, not `{expected}`")]
    WrongWorld {
        /// The world asked for.
        expected: &'static str,
        /// The world the manifest declares.
        found: &'static str,
    },
    /// An `allowed_outbound_hosts` entry does not parse.
    #[error("`allowed_outbound_hosts` entry `{entry}`: {reason}")]
    BadHost {
        /// The entry.
        entry: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `credentials` names no known kind, or a plugin that is not a provider asks for them.
    #[error("`permissions.credentials = \"{0}\"`: {1}")]
    BadCredentials(String, &'static str),
    /// The `[build]` table is wrong.
    #[error("[build]: {0}")]
    BadBuild(String),
    /// `name` is not a plugin name.
    #[error(
        "`name = {0:?}`: use 1 to 64 lowercase letters, digits and `-`, starting with a letter"
    )]
    BadName(String),
    /// `component` is not a plain file name beside `plugin.toml`.
    #[error(
        "`component = {0:?}` must be a file name beside plugin.toml (not plugin.toml or package.json)"
    )]
    BadComponent(String),
    /// `owbench` is not a version requirement.
    #[error("`owbench = {0:?}` is not a version requirement (like \"^0.1\")")]
    BadHostRequirement(String),
    /// The plugin works with other owbench versions than this one.
    #[error("plugin works with owbench {0}, but this is owbench {HOST_VERSION}")]
    HostVersion(VersionReq),
    /// A limit is zero or too large.
    #[error("`limits.{0}` must be between 1 and {1}")]
    BadLimit(&'static str, u64),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    name: String,
    version: Version,
    world: String,
    component: Option<String>,
    description: Option<String>,
    owbench: Option<String>,
    #[serde(default)]
    permissions: RawPermissions,
    #[serde(default)]
    limits: RawLimits,
    build: Option<RawBuild>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBuild {
    python: Option<String>,
    requirements: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPermissions {
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
    credentials: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    memory_mb: Option<u64>,
    timeout_ms: Option<u64>,
}

/// A validated `plugin.toml`.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Plugin name.
    pub name: String,
    /// Plugin version.
    pub version: Version,
    /// Its world.
    pub world: World,
    /// Component file name, relative to the manifest.
    pub component: String,
    /// Optional description.
    pub description: Option<String>,
    /// The owbench versions it works with (`None`: any that speaks its WIT version).
    pub owbench: Option<VersionReq>,
    /// Hosts the plugin may send HTTP requests to (empty: none).
    pub allowed_outbound_hosts: Vec<HostRule>,
    /// Whose credentials the host signs the plugin's requests with (providers only).
    pub credentials: Option<Credentials>,
    /// Memory limit for one call.
    pub memory_limit: u64,
    /// Wall-clock limit for one call.
    pub timeout: Duration,
    /// How `owbench plugin build` makes the component from source, if it does.
    pub build: Option<PythonBuild>,
}

/// A workload written in Python: `[build] python = "MODULE"` in `plugin.toml`.
/// `owbench plugin build` makes its component with componentize-py; `workload run
/// --native` runs the same module with CPython.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonBuild {
    /// The module beside `plugin.toml` that registers the workload (`app` for `app.py`).
    pub module: String,
    /// The pip requirements file beside `plugin.toml` (pure-Python packages only).
    pub requirements: Option<String>,
}

/// Credentials the host holds for a provider plugin and signs its requests with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    /// The user's AWS configuration (environment, `~/.aws`), SigV4.
    Aws,
    /// The user's OCI configuration (`~/.oci/config`), OCI HTTP signatures.
    Oci,
}

/// Default memory limit for one call (OpenWhisk's default action memory is 256 MB).
pub const DEFAULT_MEMORY_MB: u64 = 256;
/// Default wall-clock limit for one call (OpenWhisk's default action timeout is 60 s).
pub const DEFAULT_TIMEOUT_MS: u64 = 60_000;
/// Largest memory limit: a wasm32 linear memory cannot exceed 4 GiB.
pub const MAX_MEMORY_MB: u64 = 4096;
/// Largest wall-clock limit (OpenWhisk's maximum action timeout is 5 min; owbench allows 1 h).
pub const MAX_TIMEOUT_MS: u64 = 3_600_000;

impl Manifest {
    /// Parse and validate `plugin.toml` text.
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        let raw: RawManifest = toml::from_str(text).map_err(|e| {
            ManifestError::Syntax(
                e.to_string()
                    .lines()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .replace("  ", " "),
            )
        })?;
        if !is_plugin_name(&raw.name) {
            return Err(ManifestError::BadName(raw.name));
        }
        let world = parse_world(&raw.world)?;
        let owbench = match raw.owbench {
            None => None,
            Some(text) => {
                let req = VersionReq::parse(&text)
                    .map_err(|_| ManifestError::BadHostRequirement(text.clone()))?;
                let host = Version::parse(HOST_VERSION).expect("the crate version is semver");
                if !req.matches(&host) {
                    return Err(ManifestError::HostVersion(req));
                }
                Some(req)
            }
        };
        let allowed_outbound_hosts = raw
            .permissions
            .allowed_outbound_hosts
            .iter()
            .map(|entry| {
                HostRule::parse(entry).map_err(|reason| ManifestError::BadHost {
                    entry: entry.clone(),
                    reason,
                })
            })
            .collect::<Result<_, _>>()?;
        let credentials = match raw.permissions.credentials.as_deref() {
            None => None,
            Some(kind) if world != World::Provider => {
                return Err(ManifestError::BadCredentials(
                    kind.to_owned(),
                    "only provider plugins get credentials signed for them",
                ));
            }
            Some("aws") => Some(Credentials::Aws),
            Some("oci") => Some(Credentials::Oci),
            Some(other) => {
                return Err(ManifestError::BadCredentials(
                    other.to_owned(),
                    "must be `aws` or `oci`",
                ));
            }
        };
        let memory_mb = limit(
            raw.limits.memory_mb,
            DEFAULT_MEMORY_MB,
            MAX_MEMORY_MB,
            "memory_mb",
        )?;
        let timeout_ms = limit(
            raw.limits.timeout_ms,
            DEFAULT_TIMEOUT_MS,
            MAX_TIMEOUT_MS,
            "timeout_ms",
        )?;
        let component = raw
            .component
            .unwrap_or_else(|| format!("{}.wasm", raw.name));
        let plain = !component.is_empty()
            && !component.starts_with('.')
            && !component.contains(['/', '\\', '\0'])
            && !matches!(component.as_str(), "plugin.toml" | "package.json");
        if !plain {
            return Err(ManifestError::BadComponent(component));
        }
        let build = match raw.build {
            None => None,
            Some(RawBuild { python: None, .. }) => {
                return Err(ManifestError::BadBuild(
                    "needs `python = \"MODULE\"`".into(),
                ));
            }
            Some(RawBuild {
                python: Some(module),
                requirements,
            }) => {
                if world != World::Workload {
                    return Err(ManifestError::BadBuild(
                        "only plugins of the `workload` world are built from Python".into(),
                    ));
                }
                let identifier = |s: &str| {
                    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                };
                // Not a keyword, not a name the SDK or componentize-py imports, and not a
                // test module (the build leaves `test_*.py` out).
                const TAKEN: &[&str] = &[
                    "False",
                    "None",
                    "True",
                    "and",
                    "as",
                    "assert",
                    "async",
                    "await",
                    "break",
                    "class",
                    "continue",
                    "def",
                    "del",
                    "elif",
                    "else",
                    "except",
                    "finally",
                    "for",
                    "from",
                    "global",
                    "if",
                    "import",
                    "in",
                    "is",
                    "lambda",
                    "nonlocal",
                    "not",
                    "or",
                    "pass",
                    "raise",
                    "return",
                    "try",
                    "while",
                    "with",
                    "yield",
                    "wit_world",
                    "poll_loop",
                ];
                if !identifier(&module)
                    || module.starts_with("owbench")
                    || module.starts_with("componentize_py")
                    || module.starts_with("test_")
                    || TAKEN.contains(&module.as_str())
                {
                    return Err(ManifestError::BadBuild(format!(
                        "`python = {module:?}` must name a module beside plugin.toml (`app` for app.py)"
                    )));
                }
                if let Some(file) = &requirements
                    && (file.is_empty() || file.starts_with('.') || file.contains(['/', '\\']))
                {
                    return Err(ManifestError::BadBuild(format!(
                        "`requirements = {file:?}` must name a file beside plugin.toml"
                    )));
                }
                Some(PythonBuild {
                    module,
                    requirements,
                })
            }
        };
        Ok(Manifest {
            component,
            build,
            name: raw.name,
            version: raw.version,
            world,
            description: raw.description,
            owbench,
            allowed_outbound_hosts,
            credentials,
            memory_limit: memory_mb << 20,
            timeout: Duration::from_millis(timeout_ms),
        })
    }

    /// Refuse the manifest unless it declares `expected` (or a world that includes it).
    pub fn expect_world(&self, expected: World) -> Result<(), ManifestError> {
        if self.world.includes(expected) {
            Ok(())
        } else {
            Err(ManifestError::WrongWorld {
                expected: expected.as_str(),
                found: self.world.as_str(),
            })
        }
    }
}

fn limit(
    value: Option<u64>,
    default: u64,
    max: u64,
    name: &'static str,
) -> Result<u64, ManifestError> {
    match value.unwrap_or(default) {
        v @ 1.. if v <= max => Ok(v),
        _ => Err(ManifestError::BadLimit(name, max)),
    }
}

/// Whether `name` is a plugin name: 1 to 64 lowercase letters, digits and `-`, starting
/// with a letter (it names directories and packages).
pub fn is_plugin_name(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Parse `owbench:plugin/<world>@<version>` and check the version is one this host speaks
/// (for 0.x packages only the patch may differ, as in wasmtime's semver matching).
pub fn parse_world(text: &str) -> Result<World, ManifestError> {
    let bad = || ManifestError::BadWorld(text.to_owned());
    let rest = text
        .strip_prefix(WIT_PACKAGE)
        .and_then(|r| r.strip_prefix('/'))
        .ok_or_else(bad)?;
    let (name, version) = rest.split_once('@').ok_or_else(bad)?;
    let world = World::parse(name).ok_or_else(bad)?;
    let version = Version::parse(version).map_err(|_| bad())?;
    let ours = Version::parse(WIT_VERSION).expect("WIT_VERSION is semver");
    let compatible = if ours.major == 0 {
        version.major == 0 && version.minor == ours.minor
    } else {
        version.major == ours.major
    };
    if compatible && version.pre.is_empty() {
        Ok(world)
    } else {
        Err(ManifestError::Version(version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        name = "matmul"
        version = "0.1.0"
        world = "owbench:plugin/workload@0.4.0"
        [limits]
        memory_mb = 128
    "#;

    #[test]
    fn parses_a_minimal_manifest_with_defaults() {
        let m = Manifest::parse(GOOD).unwrap();
        assert_eq!(m.world, World::Workload);
        assert_eq!(m.component, "matmul.wasm");
        assert_eq!(m.memory_limit, 128 << 20);
        assert_eq!(m.timeout, Duration::from_millis(DEFAULT_TIMEOUT_MS));
        assert!(m.allowed_outbound_hosts.is_empty());
    }

    #[test]
    fn accepts_a_newer_patch_of_the_wit_package() {
        let text = GOOD.replace("@0.4.0", "@0.4.7");
        assert!(Manifest::parse(&text).is_ok());
    }

    #[test]
    fn refuses_another_wit_version() {
        let text = GOOD.replace("@0.4.0", "@0.5.0");
        let e = Manifest::parse(&text).unwrap_err().to_string();
        assert_eq!(
            e,
            "plugin targets `owbench:plugin@0.5.0`, but this owbench speaks `owbench:plugin@0.4.0`"
        );
    }

    #[test]
    fn refuses_an_unknown_world_and_unknown_fields() {
        let e = Manifest::parse(&GOOD.replace("/workload@", "/gadget@")).unwrap_err();
        assert!(matches!(e, ManifestError::BadWorld(_)), "{e}");
        let e = Manifest::parse(&format!("{GOOD}\nshoe_size = 3")).unwrap_err();
        assert!(e.to_string().contains("unknown field `shoe_size`"), "{e}");
    }

    #[test]
    fn a_python_build_names_its_module_and_requirements() {
        let m = Manifest::parse(&format!(
            "{GOOD}[build]\npython = \"app\"\nrequirements = \"requirements.txt\"\n"
        ))
        .unwrap();
        let build = m.build.unwrap();
        assert_eq!(build.module, "app");
        assert_eq!(build.requirements.as_deref(), Some("requirements.txt"));
        assert!(Manifest::parse(GOOD).unwrap().build.is_none());
        for (table, needle) in [
            ("[build]\n", "needs `python"),
            ("[build]\npython = \"app.py\"\n", "must name a module"),
            (
                "[build]\npython = \"owbench_workload\"\n",
                "must name a module",
            ),
            (
                "[build]\npython = \"app\"\nrequirements = \"../r.txt\"\n",
                "beside plugin.toml",
            ),
            (
                "[build]\npython = \"app\"\nlang = \"go\"\n",
                "unknown field",
            ),
        ] {
            let e = Manifest::parse(&format!("{GOOD}{table}")).unwrap_err();
            assert!(e.to_string().contains(needle), "{table}: {e}");
        }
        let provider = GOOD.replace("/workload@", "/provider@");
        let e = Manifest::parse(&format!("{provider}[build]\npython = \"app\"\n")).unwrap_err();
        assert!(
            e.to_string()
                .contains("only plugins of the `workload` world"),
            "{e}"
        );
    }

    #[test]
    fn refuses_the_wrong_world() {
        let m = Manifest::parse(&GOOD.replace("/workload@", "/installer@")).unwrap();
        let e = m.expect_world(World::Workload).unwrap_err();
        assert_eq!(
            e.to_string(),
            "plugin implements the `installer` world, not `workload`"
        );
    }

    #[test]
    fn refuses_names_and_components_that_are_not_plain() {
        for name in ["../../x", "/abs", "Up", "a b", "x\u{1b}[8m", ""] {
            let quoted = toml::Value::String(name.into()).to_string();
            let text = GOOD.replace("\"matmul\"", &quoted);
            let e = Manifest::parse(&text).unwrap_err();
            assert!(matches!(e, ManifestError::BadName(_)), "{name}: {e}");
        }
        for component in [
            "../x.wasm",
            "build/x.wasm",
            "plugin.toml",
            "package.json",
            ".x",
        ] {
            let text = format!(
                "name = \"matmul\"\nversion = \"0.1.0\"\n\
                 world = \"owbench:plugin/workload@0.4.0\"\ncomponent = {component:?}\n"
            );
            let e = Manifest::parse(&text).unwrap_err();
            assert!(
                matches!(e, ManifestError::BadComponent(_)),
                "{component}: {e}"
            );
        }
    }

    #[test]
    fn checks_the_owbench_versions_it_works_with() {
        let with = |req: &str| Manifest::parse(&format!("owbench = {req:?}\n{GOOD}"));
        assert!(with(&format!("={HOST_VERSION}")).is_ok());
        let e = with(">=99.0").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("plugin works with owbench >=99.0, but this is owbench {HOST_VERSION}")
        );
        assert!(matches!(
            with("soon").unwrap_err(),
            ManifestError::BadHostRequirement(_)
        ));
    }

    #[test]
    fn refuses_zero_and_huge_limits() {
        let e = Manifest::parse(&GOOD.replace("memory_mb = 128", "memory_mb = 0")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`limits.memory_mb` must be between 1 and 4096"
        );
    }
}
