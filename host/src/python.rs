//! Workloads written in Python (`[build] python = "MODULE"` in `plugin.toml`): the
//! component `owbench plugin build` makes with componentize-py against owbench's WIT,
//! the native twin CPython runs (`owbench workload run DIR --native`), and the zip a
//! stock OpenWhisk's Python runtime runs ([`action_zip`], `as = "python"`).
//!
//! The Python SDK (`workloads/sdk-python`) and the WIT are embedded in owbench, so a
//! build needs no checkout. What a build reuses lives in [`cache_dir`]: a virtual
//! environment with the pinned componentize-py (made by the first build, with pip), the
//! requirements installed once per requirements file, and every component built, named
//! by the SHA-256 of everything that went into it.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail};
use sha2::{Digest, Sha256};

use owbench_plugin::manifest::{Manifest, PythonBuild, WIT_VERSION};
use owbench_plugin::{LogLine, Metric};

use crate::workloads::NativeOutcome;

/// The componentize-py release builds use (PyPI), pinned: a component depends on it.
pub const COMPONENTIZE_PY: &str = "0.25.1";

/// The Python SDK, embedded: (path under the SDK's root, text).
const SDK: &[(&str, &str)] = &[
    (
        "owbench_workload/__init__.py",
        include_str!("../../workloads/sdk-python/owbench_workload/__init__.py"),
    ),
    (
        "owbench_workload/_component.py",
        include_str!("../../workloads/sdk-python/owbench_workload/_component.py"),
    ),
    (
        "owbench_workload/_native.py",
        include_str!("../../workloads/sdk-python/owbench_workload/_native.py"),
    ),
    (
        "owbench_workload/openwhisk.py",
        include_str!("../../workloads/sdk-python/owbench_workload/openwhisk.py"),
    ),
];

/// owbench's WIT package and the WASI packages it uses, embedded.
const WIT: &[(&str, &str)] = &[
    ("host.wit", include_str!("../../wit/host.wit")),
    ("types.wit", include_str!("../../wit/types.wit")),
    ("worlds.wit", include_str!("../../wit/worlds.wit")),
    ("deps/cli.wit", include_str!("../../wit/deps/cli.wit")),
    ("deps/clocks.wit", include_str!("../../wit/deps/clocks.wit")),
    (
        "deps/filesystem.wit",
        include_str!("../../wit/deps/filesystem.wit"),
    ),
    ("deps/http.wit", include_str!("../../wit/deps/http.wit")),
    ("deps/io.wit", include_str!("../../wit/deps/io.wit")),
    ("deps/random.wit", include_str!("../../wit/deps/random.wit")),
    (
        "deps/sockets.wit",
        include_str!("../../wit/deps/sockets.wit"),
    ),
];

/// The Python SDK's files: (path under the SDK's root, text).
pub fn sdk_files() -> impl Iterator<Item = (&'static str, &'static str)> {
    SDK.iter().copied()
}

/// The module componentize-py wraps: the workload's module, then the world's exports.
const ENTRY: &str = "owbench_entry";

/// Where Python builds keep what they reuse: `$OWBENCH_PYTHON_CACHE`, else
/// `$XDG_CACHE_HOME/owbench/python` (`~/.cache/owbench/python`).
pub fn cache_dir() -> PathBuf {
    owbench_plugin::dirs::owbench_dir("OWBENCH_PYTHON_CACHE", "XDG_CACHE_HOME", ".cache", "python")
}

/// The Python interpreter: `$OWBENCH_PYTHON`, else `python3`.
fn python() -> OsString {
    std::env::var_os("OWBENCH_PYTHON").unwrap_or_else(|| "python3".into())
}

/// The manifest of the plugin directory `dir` (its `build` says whether it is built
/// from Python).
pub fn read_manifest(dir: &Path) -> anyhow::Result<Manifest> {
    let path = dir.join("plugin.toml");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Manifest::parse(&text).with_context(|| format!("{}", path.display()))
}

/// What [`build`] made.
#[derive(Debug)]
pub struct Built {
    /// The component, beside `plugin.toml`.
    pub component: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Whether it came from the cache (nothing that goes into it changed).
    pub cached: bool,
}

/// Build the component of the Python workload in `dir` (see the module's documentation).
pub fn build(dir: &Path) -> anyhow::Result<Built> {
    let (manifest, build) = python_workload(
        dir,
        "there is nothing to build (a Rust plugin builds with cargo, see its build.sh)",
    )?;
    let sources = sources(dir, &manifest)?;
    let requirements = requirements(dir, &build)?;
    let interpreter = python_version()?;
    // The entry then exports the world.
    let entry = format!(
        "{}from owbench_workload._component import WitWorld  # noqa: F401\n",
        entry_imports(&manifest, &build)
    );

    // Everything that goes into the component names it: the tool, the interpreter pip
    // installed the requirements with, this owbench, the entry, the SDK, the WIT, the
    // plugin's files and its requirements.
    let mut key = Sha256::new();
    let tool_name = match std::env::var_os("OWBENCH_COMPONENTIZE_PY") {
        Some(path) => format!("componentize-py at {}", path.to_string_lossy()),
        None => format!("componentize-py {COMPONENTIZE_PY}"),
    };
    key.update(format!(
        "{tool_name}\0python {interpreter}\0owbench {}\0{entry}\0",
        env!("CARGO_PKG_VERSION")
    ));
    for (path, text) in SDK.iter().chain(WIT) {
        key.update(format!("{path}\0{}\0", text.len()));
        key.update(text);
    }
    for (path, bytes) in &sources {
        key.update(format!("{path}\0{}\0", bytes.len()));
        key.update(bytes);
    }
    if let Some((text, _)) = &requirements {
        key.update(text);
    }
    let key = hex::encode(key.finalize());

    let cache = cache_dir();
    let components = cache.join("components");
    std::fs::create_dir_all(&components)
        .with_context(|| format!("cannot create {}", components.display()))?;
    let cached = components.join(format!("{key}.wasm"));
    let target = dir.join(&manifest.component);
    if cached.is_file() {
        let bytes = place(&cached, &target)?;
        return Ok(Built {
            component: target,
            bytes,
            cached: true,
        });
    }

    let tool = componentize_py(&cache, &interpreter)?;
    let site = requirements
        .as_ref()
        .map(|(text, path)| site_packages(&cache, &interpreter, text, path))
        .transpose()?;
    let stage = tempfile::Builder::new()
        .prefix("build-")
        .tempdir_in(&cache)
        .with_context(|| format!("cannot write in {}", cache.display()))?;
    let root = stage.path();
    write_tree(
        &root.join("sdk"),
        SDK.iter().map(|(p, t)| (*p, t.as_bytes())),
    )?;
    write_tree(
        &root.join("wit"),
        WIT.iter().map(|(p, t)| (*p, t.as_bytes())),
    )?;
    write_tree(
        &root.join("app"),
        sources.iter().map(|(p, b)| (p.as_str(), b.as_slice())),
    )?;
    write_tree(
        &root.join("entry"),
        [(format!("{ENTRY}.py").as_str(), entry.as_bytes())],
    )?;
    let out = root.join("component.wasm");
    let mut command = Command::new(&tool);
    command
        .arg("-d")
        .arg(root.join("wit"))
        .arg("-w")
        .arg(format!("owbench:plugin/workload@{WIT_VERSION}"))
        .args(["componentize", ENTRY])
        .arg("-p")
        .arg(root.join("entry"))
        .arg("-p")
        .arg(root.join("app"))
        .arg("-p")
        .arg(root.join("sdk"));
    if let Some(site) = &site {
        command.arg("-p").arg(site);
    }
    command
        .arg("-o")
        .arg(&out)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("VIRTUAL_ENV")
        .env_remove("PYTHONPATH")
        .current_dir(root);
    let output = command
        .output()
        .with_context(|| format!("cannot run {}", tool.display()))?;
    if !output.status.success() || !out.is_file() {
        bail!(
            "componentize-py could not build `{}`: {}",
            manifest.name,
            last_line(&output.stderr, &output.stdout)
        );
    }
    // Into the cache first (renamed into place: never half a component there), then
    // beside plugin.toml.
    place(&out, &cached)?;
    let bytes = place(&cached, &target)?;
    Ok(Built {
        component: target,
        bytes,
        cached: false,
    })
}

/// The manifest and build of the Python workload in `dir`, whose module must be there;
/// `why` ends the error when `dir` is not a Python workload.
fn python_workload(dir: &Path, why: &str) -> anyhow::Result<(Manifest, PythonBuild)> {
    let manifest = read_manifest(dir)?;
    let Some(build) = manifest.build.clone() else {
        bail!(
            "{}: plugin.toml has no `[build] python = \"MODULE\"`: {why}",
            dir.display()
        );
    };
    let module = dir.join(format!("{}.py", build.module));
    if !module.is_file() {
        bail!(
            "{}: `[build] python = {:?}` but there is no {}",
            dir.display(),
            build.module,
            module.display()
        );
    }
    Ok((manifest, build))
}

/// The first lines of an entry module (the component's, the action's `__main__.py`):
/// import the workload's module, then check that what it registers is what
/// plugin.toml says (a mismatch fails the build or the action's start, not a call).
fn entry_imports(manifest: &Manifest, build: &PythonBuild) -> String {
    format!(
        "import {module}  # noqa: F401 (registers the workload)\n\
         import owbench_workload as _sdk\n\
         _sdk._check_identity({name:?}, {version:?})\n",
        module = build.module,
        name = manifest.name,
        version = manifest.version.to_string(),
    )
}

/// Top-level names of a workload's files that OpenWhisk's Python runtime reads itself.
const RESERVED_IN_ACTION: [&str; 6] = [
    "__main__.py",
    "main__.py",
    "exec",
    "exec__.py",
    "requirements.txt",
    "virtualenv",
];

/// The SDK files a stock OpenWhisk action carries (not the component's or the native
/// runner's).
const ACTION_SDK: [&str; 2] = [
    "owbench_workload/__init__.py",
    "owbench_workload/openwhisk.py",
];

/// The Python workload in `dir` as a stock OpenWhisk `python:3` action (`binary`, main
/// `main`): a zip whose `__main__.py` imports the workload and then
/// `owbench_workload.openwhisk.main`, which OpenWhisk calls with the parameters, beside
/// the SDK, the workload's files and its pure-Python requirements, all at the top (the
/// runtime puts the unpacked action first on `sys.path`). The same files make the same
/// bytes (entries sorted, times fixed at 1980-01-01).
pub fn action_zip(dir: &Path) -> anyhow::Result<(Manifest, Vec<u8>)> {
    let (manifest, build) =
        python_workload(dir, "only Python workloads run as `python:3` actions")?;
    let main = format!(
        "\"\"\"owbench workload `{name}` as an OpenWhisk python:3 action (made by owbench).\"\"\"\n\
         {}from owbench_workload.openwhisk import main  # noqa: F401 (OpenWhisk calls main(args))\n",
        entry_imports(&manifest, &build),
        name = manifest.name,
    );
    let mut files = sources(dir, &manifest)?;
    // Names OpenWhisk's Python runtime gives a meaning: its entry, its launcher, a
    // requirements file it installs at start, a virtual environment it activates.
    if let Some(name) = files.keys().find(|p| {
        let top = p.split('/').next().unwrap_or_default();
        RESERVED_IN_ACTION.contains(&top)
    }) {
        bail!(
            "{}: `{name}` cannot go into a python:3 action: OpenWhisk's Python runtime gives {} a meaning of its own; rename it",
            dir.display(),
            name.split('/').next().unwrap_or_default()
        );
    }
    for (path, text) in SDK.iter().filter(|(p, _)| ACTION_SDK.contains(p)) {
        files.insert((*path).to_owned(), text.as_bytes().to_vec());
    }
    if let Some((text, path)) = requirements(dir, &build)? {
        let site = site_packages(&cache_dir(), &python_version()?, &text, &path)?;
        // Not pip's console scripts (`bin/`, whose first lines name this machine's
        // interpreter); the cache's marks are hidden files.
        for (path, bytes) in read_tree(&site, |rel, _| rel == "bin")? {
            files.entry(path).or_insert(bytes);
        }
    }
    files.insert("__main__.py".into(), main.into_bytes());

    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (path, bytes) in &files {
        zip.start_file(path.as_str(), options)
            .and_then(|()| zip.write_all(bytes).map_err(Into::into))
            .with_context(|| format!("cannot add {path} to the action's zip"))?;
    }
    let bytes = zip
        .finish()
        .context("cannot finish the action's zip")?
        .into_inner();
    Ok((manifest, bytes))
}

/// The files of the plugin directory the component carries: everything but
/// `plugin.toml`, the requirements file, components, tests (`test_*.py`), `target/`, a
/// virtual environment, `__pycache__/` and hidden files, by path relative to `dir`.
fn sources(dir: &Path, manifest: &Manifest) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
    let requirements = manifest
        .build
        .as_ref()
        .and_then(|b| b.requirements.as_deref());
    read_tree(dir, |rel, entry| {
        if entry.file_type().is_dir() {
            return rel == "target" || entry.path().join("pyvenv.cfg").exists();
        }
        !rel.contains('/')
            && (rel == "plugin.toml"
                || rel == manifest.component
                || (rel.starts_with("test_") && rel.ends_with(".py"))
                || rel.ends_with(".wasm")
                || requirements == Some(rel))
    })
}

/// The files under `root` by path relative to it (`/`-separated, sorted, so a key
/// over them is stable), following links, without hidden files and directories,
/// `__pycache__/`, and what `skip` says (given each entry's relative path).
fn read_tree(
    root: &Path,
    skip: impl Fn(&str, &walkdir::DirEntry) -> bool,
) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
    let relative = |e: &walkdir::DirEntry| {
        e.path()
            .strip_prefix(root)
            .expect("under the directory walked")
            .to_string_lossy()
            .replace('\\', "/")
    };
    let walk = walkdir::WalkDir::new(root)
        .min_depth(1)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            !name.starts_with('.') && name != "__pycache__" && !skip(&relative(e), e)
        });
    let mut out = BTreeMap::new();
    for entry in walk {
        let entry = entry.with_context(|| format!("cannot list {}", root.display()))?;
        if entry.file_type().is_file() {
            let bytes = std::fs::read(entry.path())
                .with_context(|| format!("cannot read {}", entry.path().display()))?;
            out.insert(relative(&entry), bytes);
        }
    }
    Ok(out)
}

/// The requirements file's text and path, if the build names one.
fn requirements(dir: &Path, build: &PythonBuild) -> anyhow::Result<Option<(String, PathBuf)>> {
    let Some(file) = &build.requirements else {
        return Ok(None);
    };
    let path = std::path::absolute(dir.join(file))?;
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Some((text, path)))
}

/// The version of the Python interpreter (`3.11.7`), which pip installs requirements
/// for and `--native` runs.
fn python_version() -> anyhow::Result<String> {
    let out = Command::new(python())
        .args(["-I", "-S", "-c", "import sys; print(sys.version.split()[0])"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .with_context(|| {
            format!(
                "cannot run {} (Python 3 is needed to build and run Python workloads; OWBENCH_PYTHON names another interpreter)",
                python().to_string_lossy()
            )
        })?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Write `files` (relative path, bytes) under `root`.
fn write_tree<'a>(
    root: &Path,
    files: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> anyhow::Result<()> {
    for (path, bytes) in files {
        let target = root.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&target, bytes)
            .with_context(|| format!("cannot write {}", target.display()))?;
    }
    Ok(())
}

/// Copy `from` to `to` through a temporary file beside it; its size.
fn place(from: &Path, to: &Path) -> anyhow::Result<u64> {
    let parent = to.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(parent)
        .with_context(|| format!("cannot write in {}", parent.display()))?;
    let bytes = std::io::copy(
        &mut std::fs::File::open(from)
            .with_context(|| format!("cannot read {}", from.display()))?,
        &mut temp,
    )
    .with_context(|| format!("cannot write {}", to.display()))?;
    temp.persist(to)
        .with_context(|| format!("cannot write {}", to.display()))?;
    Ok(bytes)
}

/// The line that says what went wrong in what a tool printed: the last one that
/// names an error (`ERROR: ...`, `...Error: ...`), else the last non-empty one, of
/// `stderr`, else of `stdout`.
fn last_line(stderr: &[u8], stdout: &[u8]) -> String {
    let text = |out: &[u8]| String::from_utf8_lossy(out).into_owned();
    let (stderr, stdout) = (text(stderr), text(stdout));
    let lines = || {
        stderr
            .lines()
            .rev()
            .chain(stdout.lines().rev())
            .map(str::trim)
            .filter(|l| !l.is_empty())
    };
    let names_error =
        |l: &&str| l.starts_with("ERROR:") || l.starts_with("error:") || l.contains("Error:");
    lines()
        .find(names_error)
        .or_else(|| lines().next())
        .unwrap_or("no output")
        .to_owned()
}

/// Make directory `dir` with `make` unless an earlier run finished it, holding
/// `cache/LOCK.lock` meanwhile (builds side by side, in tests or two shells, make each
/// shared thing once). A finished directory holds `.owbench-complete`; a failed `make`
/// leaves no directory.
fn made_once(
    cache: &Path,
    lock: &str,
    dir: &Path,
    make: impl FnOnce() -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let done = dir.join(".owbench-complete");
    locked(cache, lock, || {
        if done.is_file() {
            return Ok(());
        }
        _ = std::fs::remove_dir_all(dir);
        if let Err(e) = make() {
            _ = std::fs::remove_dir_all(dir);
            return Err(e);
        }
        std::fs::write(&done, "").with_context(|| format!("cannot write {}", done.display()))
    })
}

/// Hold `cache/NAME.lock` while `f` runs.
fn locked<T>(cache: &Path, name: &str, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    std::fs::create_dir_all(cache).with_context(|| format!("cannot create {}", cache.display()))?;
    let path = cache.join(format!("{name}.lock"));
    let lock = std::fs::File::create(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    lock.lock()
        .with_context(|| format!("cannot lock {}", path.display()))?;
    f()
}

/// The componentize-py to build with: `$OWBENCH_COMPONENTIZE_PY`, else the pinned
/// release in a virtual environment under `cache`, made with pip by the first build.
fn componentize_py(cache: &Path, interpreter: &str) -> anyhow::Result<PathBuf> {
    if let Some(tool) = std::env::var_os("OWBENCH_COMPONENTIZE_PY") {
        return Ok(PathBuf::from(tool));
    }
    // One per interpreter: a venv stops working when the Python it was made from goes.
    let venv = cache.join(format!(
        "componentize-py-{COMPONENTIZE_PY}-python{interpreter}"
    ));
    let tool = venv.join("bin/componentize-py");
    made_once(cache, "componentize-py", &venv, || {
        let how = format!(
            "install componentize-py {COMPONENTIZE_PY} yourself (`pip install componentize-py=={COMPONENTIZE_PY}`) and set OWBENCH_COMPONENTIZE_PY to its path"
        );
        let made = Command::new(python())
            .args(["-m", "venv"])
            .arg(&venv)
            .output()
            .with_context(|| format!("cannot run {}; {how}", python().to_string_lossy()))?;
        if !made.status.success() {
            bail!(
                "cannot make a virtual environment for componentize-py: {}; {how}",
                last_line(&made.stderr, &made.stdout)
            );
        }
        let installed = pip_install(venv.join("bin/python").as_os_str())
            .arg(format!("componentize-py=={COMPONENTIZE_PY}"))
            .output()
            .context("cannot run pip")?;
        if !installed.status.success() || !tool.is_file() {
            bail!(
                "cannot install componentize-py {COMPONENTIZE_PY} with pip: {}; {how}",
                last_line(&installed.stderr, &installed.stdout)
            );
        }
        Ok(())
    })?;
    Ok(tool)
}

/// `PYTHON -m pip install`, quietly.
fn pip_install(python: &std::ffi::OsStr) -> Command {
    let mut pip = Command::new(python);
    pip.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]);
    pip
}

/// The packages of `requirements` installed with pip into a directory of their own
/// under `cache` (once per requirements text), without native code: the component
/// cannot load it. A package that does not work without its C extension is refused,
/// named; one with a pure-Python fallback (MarkupSafe) keeps the fallback.
fn site_packages(
    cache: &Path,
    interpreter: &str,
    requirements: &str,
    file: &Path,
) -> anyhow::Result<PathBuf> {
    let key = hex::encode(Sha256::digest(
        format!("python {interpreter}\0{requirements}").as_bytes(),
    ));
    let site = cache.join("site").join(&key[..32]);
    made_once(cache, "site", &site, || install_requirements(&site, file))?;
    Ok(site)
}

/// pip-install the requirements `file` into `site`, then take the native modules out
/// and refuse a package that does not work without them.
fn install_requirements(site: &Path, file: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(site).with_context(|| format!("cannot create {}", site.display()))?;
    let installed = pip_install(&python())
        .args(["--no-compile", "--target"])
        .arg(site)
        .arg("-r")
        .arg(file)
        .output()
        .with_context(|| format!("cannot run {} -m pip", python().to_string_lossy()))?;
    if !installed.status.success() {
        bail!(
            "pip could not install the requirements: {}",
            last_line(&installed.stderr, &installed.stdout)
        );
    }
    // Native code, by the distribution that installed it (its RECORD lists its files).
    let mut native: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in walkdir::WalkDir::new(site).into_iter().flatten() {
        let name = entry.file_name().to_string_lossy();
        if entry.file_type().is_file()
            && (name.ends_with(".so") || name.ends_with(".pyd") || name.contains(".so."))
        {
            let rel = entry
                .path()
                .strip_prefix(site)
                .expect("under site")
                .to_string_lossy()
                .into_owned();
            native
                .entry(distribution_of(site, &rel).unwrap_or_else(|| rel.clone()))
                .or_default()
                .push(rel);
            std::fs::remove_file(entry.path())
                .with_context(|| format!("cannot remove {}", entry.path().display()))?;
        }
    }
    for (distribution, files) in native {
        // Every top-level module of the files must still import without them.
        let mut tops: Vec<&str> = files
            .iter()
            .filter_map(|f| f.split('/').next())
            .map(|t| t.split('.').next().unwrap_or(t))
            .collect();
        tops.sort_unstable();
        tops.dedup();
        for top in tops {
            let probe = Command::new(python())
                .args([
                    "-I",
                    "-S",
                    "-c",
                    "import sys; sys.path.insert(0, sys.argv[1]); __import__(sys.argv[2])",
                ])
                .arg(site)
                .arg(top)
                .output()
                .with_context(|| format!("cannot run {}", python().to_string_lossy()))?;
            if !probe.status.success() {
                bail!(
                    "requirement `{distribution}` needs a C extension ({}): only pure-Python packages run in a component",
                    files[0]
                );
            }
        }
    }
    Ok(())
}

/// The distribution whose `RECORD` lists `rel` (a path under `site`).
fn distribution_of(site: &Path, rel: &str) -> Option<String> {
    let entries = std::fs::read_dir(site).ok()?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(dist) = name.strip_suffix(".dist-info") else {
            continue;
        };
        let record = std::fs::read_to_string(entry.path().join("RECORD")).unwrap_or_default();
        if record.lines().any(|l| l.split(',').next() == Some(rel)) {
            return Some(dist.split('-').next().unwrap_or(dist).to_owned());
        }
    }
    None
}

/// Run the Python workload in `dir` once with CPython on `params` (a JSON object).
pub fn run_native(dir: &Path, params: &str) -> anyhow::Result<NativeOutcome> {
    let manifest = read_manifest(dir)?;
    let Some(build) = manifest.build.clone() else {
        bail!("{}: not a Python workload", dir.display());
    };
    let cache = cache_dir();
    let sdk_key = {
        let mut h = Sha256::new();
        for (path, text) in SDK {
            h.update(path);
            h.update(text);
        }
        hex::encode(h.finalize())
    };
    let sdk = cache.join("sdk").join(&sdk_key[..32]);
    made_once(&cache, "sdk", &sdk, || {
        write_tree(&sdk, SDK.iter().map(|(p, t)| (*p, t.as_bytes())))
    })?;
    let site = match requirements(dir, &build)? {
        Some((text, path)) => Some(site_packages(&cache, &python_version()?, &text, &path)?),
        None => None,
    };
    let mut command = Command::new(python());
    command
        // Isolated, without site-packages: only the standard library, the SDK and the
        // requirements, as in the component.
        .args(["-I", "-S"])
        .arg(sdk.join("owbench_workload/_native.py"))
        .arg(&sdk)
        .arg(std::path::absolute(dir)?)
        .arg(&build.module);
    if let Some(site) = &site {
        command.arg(site);
    }
    let mut child = command
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", python().to_string_lossy()))?;
    // A module that fails on import exits before it reads: its error is on stderr.
    if let Err(e) = child
        .stdin
        .take()
        .expect("piped")
        .write_all(params.as_bytes())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(anyhow::Error::new(e).context("cannot send the params to Python"));
    }
    let output = child.wait_with_output().context("Python did not finish")?;
    let answer: serde_json::Value = output
        .stdout
        .split(|b| *b == b'\n')
        .rev()
        .find(|l| !l.is_empty())
        .and_then(|l| serde_json::from_slice(l).ok())
        .with_context(|| {
            format!(
                "`{}` under CPython: {}",
                manifest.name,
                last_line(&output.stderr, &output.stdout)
            )
        })?;
    let text = |key: &str| answer[key].as_str().map(str::to_owned);
    let result = if let Some(message) = text("invalid_params") {
        Err(owbench_workload::Error::InvalidParams(message))
    } else if let Some(message) = text("failed") {
        Err(owbench_workload::Error::Failed(message))
    } else {
        Ok(answer["result"].to_string())
    };
    let logs = answer["logs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|pair| LogLine {
            level: match pair[0].as_str() {
                Some("debug") => "debug",
                Some("warn") => "warn",
                Some("error") => "error",
                _ => "info",
            },
            message: pair[1].as_str().unwrap_or_default().to_owned(),
        })
        .collect();
    let metrics = answer["metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| Metric {
            name: m[0].as_str().unwrap_or_default().to_owned(),
            value: m[1].as_f64().unwrap_or(f64::NAN),
            unit: m[2].as_str().unwrap_or_default().to_owned(),
        })
        .collect();
    Ok(NativeOutcome {
        result,
        logs,
        metrics,
        run: Duration::from_secs_f64(answer["elapsed_ms"].as_f64().unwrap_or(0.0) / 1e3),
    })
}
