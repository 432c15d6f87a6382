//! `owbench plugin pack|install|list|inspect|remove`: plugin packages (one OCI artifact:
//! the component and its `plugin.toml`, each by digest) as local files, and the store of
//! installed packages that every command resolving a plugin name also searches.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::json;

use super::EngineArgs;
use owbench_components::BUILTINS;
use owbench_plugin::catalog::{self, Source};
use owbench_plugin::installed::{Permissions, Store, split_reference};
use owbench_plugin::manifest::{Manifest, World};
use owbench_plugin::package::{Artifact, Package};
use owbench_plugin::registry::{Reference, Registry, docker_credentials};
use owbench_plugin::{InstallerPlugin, PluginEngine, ProviderPlugin, WorkloadPlugin};

use super::template::{Lang, TemplateKind, new_plugin};

/// `owbench plugin ...`
#[derive(Debug, clap::Subcommand)]
pub enum PluginCommand {
    /// Create a plugin crate from a template: it builds for wasm32-wasip2
    /// (`./build.sh`), and `cargo test` runs its tests natively.
    New {
        /// What kind of plugin: a workload, a cloud provider or an OpenWhisk installer.
        kind: TemplateKind,
        /// Its name: lowercase letters, digits and `-`, starting with a letter.
        name: String,
        /// Where to create its directory (default: here).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// An owbench source checkout whose SDK crates it depends on (default: the one
        /// this owbench was built from, else the repository on GitHub).
        #[arg(long)]
        sdk: Option<PathBuf>,
        /// The language: Rust (every kind) or Python (workloads).
        #[arg(long, value_enum, default_value_t = Lang::Rust)]
        lang: Lang,
    },
    /// Build the component of a workload written in Python (`[build] python = "MODULE"`
    /// in its plugin.toml) with componentize-py, which the first build installs with pip.
    Build {
        /// The plugin directory.
        dir: PathBuf,
        /// Also write the workload as a stock OpenWhisk `python:3` action to this zip
        /// (`wsk action create NAME FILE --kind python:3`).
        #[arg(long, value_name = "FILE")]
        action_zip: Option<PathBuf>,
    },
    /// Pack a plugin directory (`plugin.toml` and its built component) into a package
    /// file: an OCI image layout in a gzipped tar archive.
    Pack {
        /// The plugin directory.
        dir: PathBuf,
        /// Where to write it (default: `NAME-VERSION.owbench.tar.gz` here).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Push a plugin directory or package file to an OCI registry (credentials from
    /// Docker's config file, as `docker login` writes it).
    Push {
        /// A plugin directory or a package file.
        source: PathBuf,
        /// `REGISTRY/REPOSITORY[:TAG]` (the tag defaults to the plugin's version).
        reference: String,
    },
    /// Install a package from a registry, a package file or a plugin directory: verify
    /// every digest, check its world and versions, compile it, show the permissions it
    /// asks for and record your grant.
    Install {
        /// `REGISTRY/REPOSITORY[:TAG|@DIGEST]`, a package file or a plugin directory.
        source: String,
        /// Grant the permissions it asks for without asking (for scripts).
        #[arg(long)]
        yes: bool,
    },
    /// List the plugins: built in, installed, and directories on the search path.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show a plugin: world, exports, permissions, limits, digests, where it came from.
    Inspect {
        /// A name, `NAME@VERSION`, or a plugin directory.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Search the plugin index files (JSON, by URL or path) for TERM in names and
    /// descriptions.
    Search {
        /// What to look for (empty: everything).
        #[arg(default_value = "")]
        term: String,
        /// An index file's URL or path; repeatable (default: `OWBENCH_PLUGIN_INDEX`,
        /// whitespace-separated).
        #[arg(long = "index", value_name = "URL")]
        indexes: Vec<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove an installed package: every version of NAME, or NAME@VERSION.
    Remove {
        /// `NAME` or `NAME@VERSION`.
        name: String,
    },
}

impl PluginCommand {
    /// Run the command.
    pub async fn run(self, engine_args: &EngineArgs) -> anyhow::Result<()> {
        let store = Store::open_default();
        match self {
            PluginCommand::New {
                kind,
                name,
                dir,
                sdk,
                lang,
            } => new_plugin(kind, lang, &name, &dir, sdk),
            PluginCommand::Build { dir, action_zip } => build(&dir, action_zip.as_deref()),
            PluginCommand::Pack { dir, output } => pack(&dir, output),
            PluginCommand::Push { source, reference } => push(&source, &reference).await,
            PluginCommand::Install { source, yes } => {
                install(engine_args, &store, &source, yes).await
            }
            PluginCommand::List { json } => list(engine_args, &store, json),
            PluginCommand::Inspect { name, json } => inspect(engine_args, &store, &name, json),
            PluginCommand::Search {
                term,
                indexes,
                json,
            } => search(&term, indexes, json).await,
            PluginCommand::Remove { name } => {
                let (bare, version) = split_reference(&name).map_err(anyhow::Error::msg)?;
                for gone in store.remove(bare, version.as_ref())? {
                    println!("removed {}@{}", gone.manifest.name, gone.manifest.version);
                }
                Ok(())
            }
        }
    }
}

/// The package of the plugin directory `dir`.
fn pack_dir(dir: &Path) -> anyhow::Result<Artifact> {
    let path = dir.join("plugin.toml");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let (manifest, component) = catalog::component(&Source::Dir(dir.to_path_buf()))?;
    if component.get(..4) != Some(b"\0asm") {
        bail!(
            "{}: `{}` is not a WebAssembly file (build the plugin first)",
            dir.display(),
            manifest.component
        );
    }
    Ok(Artifact::pack(&text, &component)?)
}

fn pack(dir: &Path, output: Option<PathBuf>) -> anyhow::Result<()> {
    let artifact = pack_dir(dir)?;
    let package = artifact.open()?;
    let m = &package.manifest;
    let output =
        output.unwrap_or_else(|| PathBuf::from(format!("{}-{}.owbench.tar.gz", m.name, m.version)));
    let parent = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(parent)
        .with_context(|| format!("cannot write in {}", parent.display()))?;
    artifact
        .write_archive(std::io::BufWriter::new(file.as_file_mut()))
        .and_then(|()| file.as_file().sync_all())
        .with_context(|| format!("cannot write {}", output.display()))?;
    file.persist(&output)
        .with_context(|| format!("cannot write {}", output.display()))?;
    println!(
        "packed {}@{} ({}) into {}",
        m.name,
        m.version,
        package.digests.package,
        output.display()
    );
    Ok(())
}

/// The package of a local `source`: a plugin directory or a package file.
fn read_local(source: &Path) -> anyhow::Result<Option<(Artifact, String)>> {
    let shown = std::path::absolute(source).unwrap_or_else(|_| source.to_path_buf());
    if source.join("plugin.toml").is_file() {
        Ok(Some((
            pack_dir(source)?,
            format!("directory {}", shown.display()),
        )))
    } else if source.is_file() {
        Ok(Some((
            Artifact::read_archive(source)?,
            format!("file {}", shown.display()),
        )))
    } else {
        Ok(None)
    }
}

/// A client for the registry of `reference`, with the credentials `docker login` stored.
fn registry(reference: &Reference) -> anyhow::Result<Registry> {
    let credentials = docker_credentials(&reference.registry).map_err(anyhow::Error::msg)?;
    Ok(Registry::new(reference, credentials))
}

/// Read `source` (a registry reference, a package file or a plugin directory) as a
/// checked package; where it came from, and where its updates come from (`local`, or
/// `registry REGISTRY/REPOSITORY`).
async fn read_source(source: &str) -> anyhow::Result<(Package, String, String)> {
    let (artifact, origin, updates) = match read_local(Path::new(source))? {
        Some((artifact, origin)) => (artifact, origin, "local".to_owned()),
        None => match Reference::parse(source) {
            Ok(reference) => {
                let artifact = registry(&reference)?.pull().await?;
                let updates = format!("registry {}/{}", reference.registry, reference.repository);
                let pinned = Reference {
                    digest: Some(owbench_plugin::package::digest_of(&artifact.manifest)),
                    ..reference
                };
                (artifact, format!("registry {pinned}"), updates)
            }
            Err(_) => bail!(
                "`{source}` is neither a registry reference, a package file nor a plugin directory"
            ),
        },
    };
    Ok((artifact.open()?, origin, updates))
}

async fn push(source: &Path, reference: &str) -> anyhow::Result<()> {
    let reference = Reference::parse(reference).map_err(anyhow::Error::msg)?;
    let (artifact, _) = read_local(source)?.with_context(|| {
        format!(
            "`{}` is neither a package file nor a plugin directory",
            source.display()
        )
    })?;
    let package = artifact.open()?;
    let digest = registry(&reference)?.push(&artifact).await?;
    println!(
        "pushed {}@{} to {reference} ({digest})",
        package.manifest.name, package.manifest.version
    );
    Ok(())
}

/// Compile `package` and check its component against its manifest, in its world.
async fn check_loads(engine: &PluginEngine, package: &Package) -> anyhow::Result<()> {
    let (m, bytes) = (package.manifest.clone(), &package.component);
    match m.world {
        World::Workload | World::ReducingWorkload => {
            WorkloadPlugin::load(engine, m, bytes).await?;
        }
        World::Provider => {
            ProviderPlugin::load(engine, m, bytes, None).await?;
        }
        World::Installer => {
            InstallerPlugin::load(engine, m, bytes).await?;
        }
    }
    Ok(())
}

async fn install(
    engine_args: &EngineArgs,
    store: &Store,
    source: &str,
    yes: bool,
) -> anyhow::Result<()> {
    let (package, origin, updates) = read_source(source)
        .await
        .with_context(|| format!("cannot install {source}"))?;
    let m = &package.manifest;
    let engine = engine_args.engine()?;
    check_loads(&engine, &package)
        .await
        .with_context(|| format!("cannot install {}@{}", m.name, m.version))?;
    let asked = Permissions::of(m);
    if store.needs_grant(m, &updates) && !yes {
        ask(
            m,
            &origin,
            &asked,
            store.granted(&m.name, &updates).is_some(),
        )?;
    }
    let installed = store.install(&package, &origin, &updates, asked)?;
    println!(
        "installed {}@{} ({}, {}) in {}",
        m.name,
        m.version,
        m.world.as_str(),
        package.digests.package,
        installed.dir.display()
    );
    Ok(())
}

/// Show what `manifest` asks for and ask the user to grant it (a terminal is needed to
/// answer; scripts pass `--yes`).
fn ask(manifest: &Manifest, origin: &str, asked: &Permissions, update: bool) -> anyhow::Result<()> {
    let who = format!("{}@{} from {origin}", manifest.name, manifest.version);
    let what = asked.lines().join("; ");
    if !std::io::stdin().is_terminal() {
        let more = if update {
            " more than the installed version"
        } else {
            ""
        };
        bail!("{who} asks for{more}: {what}; run again with --yes to grant it");
    }
    let mut err = std::io::stderr().lock();
    writeln!(err, "{who} ({}) asks for:", manifest.world.as_str())?;
    for line in asked.lines() {
        writeln!(err, "  - {line}")?;
    }
    write!(err, "Grant these permissions and install it? [y/N] ")?;
    err.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        bail!("not installed: the permissions {who} asks for were not granted")
    }
}

/// One row of `plugin list`.
fn row(world: World, manifest: &Manifest, source: &str) -> serde_json::Value {
    json!({"name": manifest.name, "version": manifest.version.to_string(),
        "world": world.as_str(), "source": source})
}

fn list(engine_args: &EngineArgs, store: &Store, as_json: bool) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for world in [World::Workload, World::Provider, World::Installer] {
        for source in BUILTINS.discover_in(world, &engine_args.plugin_dirs, store) {
            let shown = match &source {
                Source::Builtin(_) => "built-in".to_owned(),
                Source::Dir(dir) if dir.starts_with(store.root()) => match store_record(dir) {
                    Some(record) => format!("installed from {}", record.origin),
                    None => "installed".to_owned(),
                },
                Source::Dir(dir) => dir.display().to_string(),
            };
            match catalog::component(&source) {
                Ok((m, _)) => rows.push(row(m.world, &m, &shown)),
                Err(e) => eprintln!("warning: skipping {shown}: {e}"),
            }
        }
    }
    if as_json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let mut table = super::table::new(&["NAME", "VERSION", "WORLD", "SOURCE"], &[]);
    for r in &rows {
        table.add_row(["name", "version", "world", "source"].map(|k| r[k].as_str().unwrap_or("")));
    }
    super::table::print(&table);
    Ok(())
}

/// The record of the installed package in `dir`, if it is one.
fn store_record(dir: &Path) -> Option<owbench_plugin::installed::Record> {
    let record = std::fs::read(dir.join("package.json")).ok()?;
    serde_json::from_slice(&record).ok()
}

fn inspect(
    engine_args: &EngineArgs,
    store: &Store,
    name: &str,
    as_json: bool,
) -> anyhow::Result<()> {
    let source = [World::Workload, World::Provider, World::Installer]
        .into_iter()
        .find_map(|w| {
            BUILTINS
                .resolve_in(name, w, &engine_args.plugin_dirs, store)
                .ok()
        })
        .with_context(|| {
            format!("no plugin `{name}` (built in, installed or on the search path)")
        })?;
    let (manifest, component) = catalog::component(&source)?;
    let engine = engine_args.engine()?;
    let compiled = engine.compile(&manifest.name, &component)?;
    let exports: Vec<String> = compiled
        .component_type()
        .exports(engine.engine())
        .map(|(name, _)| name.to_owned())
        .collect();
    let (origin, digests) = match &source {
        Source::Builtin(_) => ("built-in".to_owned(), None),
        Source::Dir(dir) => match store_record(dir) {
            Some(r) => (format!("installed from {}", r.origin), Some(r.digests)),
            None => (format!("directory {}", dir.display()), None),
        },
    };
    let digests = digests.unwrap_or_else(|| {
        // Not installed: the digests it would have as a package.
        let text = std::fs::read_to_string(match &source {
            Source::Dir(dir) => dir.join("plugin.toml"),
            Source::Builtin(_) => PathBuf::new(),
        })
        .ok();
        let text = match (&source, text) {
            (Source::Builtin(b), _) => b.manifest.to_owned(),
            (_, Some(t)) => t,
            (_, None) => String::new(),
        };
        Artifact::pack(&text, &component)
            .and_then(|a| a.open())
            .map(|p| p.digests)
            .unwrap_or(owbench_plugin::package::Digests {
                package: String::new(),
                component: owbench_plugin::package::digest_of(&component),
                manifest: String::new(),
            })
    });
    let permissions = Permissions::of(&manifest);
    let report = json!({
        "name": manifest.name, "version": manifest.version.to_string(),
        "world": manifest.world.to_string(), "description": manifest.description,
        "owbench": manifest.owbench.as_ref().map(ToString::to_string),
        "exports": exports, "permissions": permissions, "digests": digests, "source": origin,
        "component_bytes": component.len(),
    });
    if as_json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!("{} {}", manifest.name, manifest.version);
    if let Some(d) = &manifest.description {
        println!("  {d}");
    }
    println!("world:       {}", manifest.world);
    if let Some(req) = &manifest.owbench {
        println!("owbench:     {req}");
    }
    println!("exports:     {}", exports.join(", "));
    println!("source:      {origin}");
    println!("package:     {}", digests.package);
    println!(
        "component:   {} ({} bytes)",
        digests.component,
        component.len()
    );
    println!("plugin.toml: {}", digests.manifest);
    println!("permissions:");
    for line in permissions.lines() {
        println!("  - {line}");
    }
    Ok(())
}

/// One entry of a plugin index file.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct IndexEntry {
    name: String,
    version: String,
    /// `workload`, `provider` or `installer`.
    kind: String,
    /// Where the package is: `REGISTRY/REPOSITORY[:TAG]`.
    reference: String,
    /// The package's digest (`sha256:…`), pinned by `install REFERENCE@DIGEST`.
    digest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

/// Largest plugin index file.
const MAX_INDEX: u64 = 16 << 20;

/// `text` without control characters (an index is someone else's text, printed to a
/// terminal).
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

/// The entries of the index at `location` (a URL or a path): a JSON array, or an object
/// whose `plugins` is one.
async fn read_index(location: &str) -> anyhow::Result<Vec<IndexEntry>> {
    let text = if location.starts_with("http://") || location.starts_with("https://") {
        let response = reqwest::Client::new()
            .get(location)
            .timeout(std::time::Duration::from_secs(30))
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{}", crate::client::root_cause(&e)))?;
        if !response.status().is_success() {
            bail!("answered {}", response.status());
        }
        if response.content_length().is_some_and(|n| n > MAX_INDEX) {
            bail!("larger than {} MiB", MAX_INDEX >> 20);
        }
        let bytes = response.bytes().await?;
        if bytes.len() as u64 > MAX_INDEX {
            bail!("larger than {} MiB", MAX_INDEX >> 20);
        }
        String::from_utf8(bytes.to_vec()).map_err(|_| anyhow::anyhow!("not UTF-8"))?
    } else {
        if std::fs::metadata(location)?.len() > MAX_INDEX {
            bail!("larger than {} MiB", MAX_INDEX >> 20);
        }
        std::fs::read_to_string(location)?
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("not JSON: {e}"))?;
    let list = match value {
        serde_json::Value::Object(mut o) => o.remove("plugins").unwrap_or_default(),
        other => other,
    };
    let entries: Vec<IndexEntry> = serde_json::from_value(list).map_err(|e| {
        anyhow::anyhow!("not a list of plugins (name, version, kind, reference, digest): {e}")
    })?;
    for e in &entries {
        Reference::parse(&e.reference)
            .map_err(|why| anyhow::anyhow!("plugin `{}`: {why}", e.name))?;
        if !owbench_plugin::package::is_digest(&e.digest) {
            bail!(
                "plugin `{}`: digest `{}` is not sha256:<64 lowercase hex digits>",
                printable(&e.name),
                printable(&e.digest)
            );
        }
    }
    Ok(entries)
}

async fn search(term: &str, mut indexes: Vec<String>, as_json: bool) -> anyhow::Result<()> {
    if indexes.is_empty() {
        let configured = std::env::var("OWBENCH_PLUGIN_INDEX").unwrap_or_default();
        indexes = configured.split_whitespace().map(str::to_owned).collect();
    }
    if indexes.is_empty() {
        bail!("no plugin index to search: pass --index URL or set OWBENCH_PLUGIN_INDEX");
    }
    let term = term.to_lowercase();
    let mut found = Vec::new();
    for index in &indexes {
        let entries = read_index(index)
            .await
            .with_context(|| format!("plugin index {index}"))?;
        found.extend(entries.into_iter().filter(|e| {
            e.name.to_lowercase().contains(&term)
                || e.description
                    .as_deref()
                    .is_some_and(|d| d.to_lowercase().contains(&term))
        }));
    }
    if as_json {
        println!("{}", serde_json::to_string_pretty(&found)?);
        return Ok(());
    }
    let mut table = super::table::new(&["NAME", "VERSION", "KIND", "INSTALL WITH"], &[]);
    for e in &found {
        let install = format!("owbench plugin install {}@{}", e.reference, e.digest);
        table.add_row(vec![
            printable(&e.name),
            printable(&e.version),
            printable(&e.kind),
            install,
        ]);
    }
    super::table::print(&table);
    Ok(())
}

fn build(dir: &Path, action_zip: Option<&Path>) -> anyhow::Result<()> {
    let built = crate::python::build(dir)?;
    println!(
        "built {} ({:.1} MB{})",
        built.component.display(),
        built.bytes as f64 / 1e6,
        if built.cached {
            ", unchanged: from the cache"
        } else {
            ""
        }
    );
    if let Some(path) = action_zip {
        let (_, zip) = crate::python::action_zip(dir)?;
        std::fs::write(path, &zip).with_context(|| format!("cannot write {}", path.display()))?;
        println!(
            "wrote {} ({:.1} kB): a stock OpenWhisk `python:3` action",
            path.display(),
            zip.len() as f64 / 1e3
        );
    }
    Ok(())
}
