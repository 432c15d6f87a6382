//! Why loading or calling a plugin failed. Every variant renders as one line that names
//! the plugin and the cause.

use std::path::PathBuf;
use std::time::Duration;

use crate::manifest::{ManifestError, World};

/// A plugin failure, from loading its manifest to a trap in a call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PluginError {
    /// No plugin of that name: not built in, not a directory, not on the search path.
    #[error("no such {} `{plugin}` (built in: {builtins}; or install it with `owbench plugin install`, or give a plugin directory)", .world.as_str())]
    NotFound {
        /// The name asked for.
        plugin: String,
        /// The world it was looked up in.
        world: World,
        /// The built-in names of that world, comma-separated.
        builtins: String,
    },
    /// A package was refused.
    #[error("plugin {plugin}: {source}")]
    Package {
        /// Which plugin.
        plugin: String,
        /// Why.
        source: crate::package::PackageError,
    },
    /// An installed package could not be used.
    #[error("{0}")]
    Installed(#[from] crate::installed::StoreError),
    /// A `name@version` reference that does not parse.
    #[error("plugin reference {0}")]
    Reference(String),
    /// A built-in plugin this build left out (its cargo feature was off).
    #[error(
        "{} `{plugin}` is not built into this owbench: rebuild it with `cargo build --release --features {feature}`, or give a plugin directory",
        .world.as_str()
    )]
    LeftOut {
        /// The name asked for.
        plugin: String,
        /// The world it was looked up in.
        world: World,
        /// The cargo feature that builds it in.
        feature: &'static str,
    },
    /// `plugin.toml` could not be read.
    #[error("plugin at `{}`: cannot read plugin.toml: {source}", .path.display())]
    ReadManifest {
        /// Where the manifest was looked for.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `plugin.toml` was refused.
    #[error("plugin `{plugin}`: {source}")]
    Manifest {
        /// Plugin name or path.
        plugin: String,
        /// What was wrong.
        source: ManifestError,
    },
    /// The component file could not be read.
    #[error("plugin `{plugin}`: cannot read component `{}`: {source}", .path.display())]
    ReadComponent {
        /// Plugin name.
        plugin: String,
        /// Component path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A plugin written in Python has not been built yet.
    #[error(
        "plugin `{plugin}`: its component is not built yet: run `owbench plugin build {}`",
        .dir.display()
    )]
    NotBuilt {
        /// Plugin name.
        plugin: String,
        /// Its directory.
        dir: PathBuf,
    },
    /// The bytes are not a valid WebAssembly component.
    #[error("plugin `{plugin}`: not a valid WebAssembly component: {reason}")]
    Compile {
        /// Plugin name.
        plugin: String,
        /// First line of wasmtime's reason.
        reason: String,
    },
    /// The component does not implement the world its manifest declares.
    #[error("plugin `{plugin}`: component does not implement `{world}`: {reason}")]
    WorldMismatch {
        /// Plugin name.
        plugin: String,
        /// The world.
        world: String,
        /// What is missing or mismatched.
        reason: String,
    },
    /// The component describes itself differently from its manifest.
    #[error("plugin `{plugin}`: component says it is `{found}`, but plugin.toml says `{expected}`")]
    Identity {
        /// Plugin name.
        plugin: String,
        /// `name@version` from plugin.toml.
        expected: String,
        /// `name@version` from `describe()`.
        found: String,
    },
    /// The params given to a workload are not a JSON object.
    #[error("plugin `{plugin}`: invalid params: {reason}")]
    InvalidParams {
        /// Plugin name.
        plugin: String,
        /// What is wrong.
        reason: String,
    },
    /// The plugin returned an error (an OpenWhisk application error).
    #[error("plugin `{plugin}` failed: {message}")]
    Failed {
        /// Plugin name.
        plugin: String,
        /// The plugin's message.
        message: String,
    },
    /// The plugin tried to reach a host its manifest does not allow, or a private address
    /// it was not granted.
    #[error("plugin `{plugin}`: outbound request `{request}` denied: {reason}")]
    Denied {
        /// Plugin name.
        plugin: String,
        /// `METHOD url` of the first refused request.
        request: String,
        /// Why it was refused.
        reason: String,
    },
    /// The call ran past its wall-clock limit.
    #[error("plugin `{plugin}`: timed out after {} ms (limit)", .limit.as_millis())]
    Timeout {
        /// Plugin name.
        plugin: String,
        /// The limit.
        limit: Duration,
    },
    /// The call tried to grow memory past its limit.
    #[error("plugin `{plugin}`: exceeded its memory limit of {} MiB", .limit >> 20)]
    MemoryLimit {
        /// Plugin name.
        plugin: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The guest overflowed its stack.
    #[error("plugin `{plugin}`: wasm stack overflow")]
    StackOverflow {
        /// Plugin name.
        plugin: String,
    },
    /// The guest trapped (a panic, an unreachable, a bad memory access).
    #[error("plugin `{plugin}` trapped: {reason}")]
    Trap {
        /// Plugin name.
        plugin: String,
        /// The trap, and the guest's panic message when it printed one.
        reason: String,
    },
    /// The host itself failed around the call (scratch directory, engine setup).
    #[error("plugin `{plugin}`: host error: {reason}")]
    Host {
        /// Plugin name.
        plugin: String,
        /// What failed.
        reason: String,
    },
}

impl PluginError {
    /// Whether the failure is the plugin's own answer (an OpenWhisk *application error*)
    /// rather than the platform stopping it (*action developer error*: trap, limit).
    pub fn is_application_error(&self) -> bool {
        matches!(
            self,
            PluginError::InvalidParams { .. }
                | PluginError::Failed { .. }
                | PluginError::Denied { .. }
        )
    }
}

/// Why a call to a provider's or installer's export (one that returns
/// `result<_, plugin-error>`) failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The plugin refused or failed the operation (for a provider: the cloud did).
    #[error("{plugin}: {message}")]
    Refused {
        /// The plugin.
        plugin: String,
        /// What failed, naming the step and the resource.
        message: String,
        /// Whether the same call may succeed later.
        retryable: bool,
        /// The provider's error code, if it gave one.
        code: Option<String>,
    },
    /// The plugin misbehaved or was stopped (trap, timeout, memory, a refused host).
    #[error(transparent)]
    Plugin(#[from] PluginError),
}

impl CallError {
    /// Whether the same call may succeed later (throttling, eventual consistency).
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            CallError::Refused {
                retryable: true,
                ..
            }
        )
    }
}

/// First non-empty line of an error's text, for one-line messages.
pub(crate) fn first_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("unknown error")
        .to_owned()
}
