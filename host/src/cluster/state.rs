//! The state of a cluster: one JSON file per cluster, written before every create
//! returns and after every change, atomically (a new file renamed over the old), so that
//! whatever happens to `owbench` in the middle of `up`, `down` knows what to remove.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use super::spec::ClusterSpec;

/// Format of the state file.
pub const SCHEMA: &str = "owbench.cluster/1";

/// Where a cluster stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// `up` is creating it.
    Creating,
    /// Every node was created.
    Ready,
    /// `up` failed part-way; `down` cleans it.
    Failed,
    /// `up` was interrupted (Ctrl-C); `down` cleans it.
    Interrupted,
    /// `down` is removing it.
    Deleting,
    /// `down` removed everything.
    Deleted,
}

impl Status {
    /// Its name, as in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Ready => "ready",
            Status::Failed => "failed",
            Status::Interrupted => "interrupted",
            Status::Deleting => "deleting",
            Status::Deleted => "deleted",
        }
    }
}

/// A node as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// Its role.
    pub role: String,
    /// Provider's id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Shape.
    pub shape: String,
    /// Last known state.
    pub state: String,
    /// Public IP, once known.
    pub public_ip: Option<String>,
    /// Private IP, once known.
    pub private_ip: Option<String>,
    /// The block volumes attached to it besides its boot disk, as last seen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<VolumeRecord>,
}

/// A block volume attached to a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeRecord {
    /// Provider's id.
    pub id: String,
    /// Size, GB.
    pub size_gb: u32,
    /// The provider's kind (`gp3`, `vpus-10`).
    pub kind: String,
    /// Last known state.
    pub state: String,
}

/// Everything `owbench` knows about one cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterState {
    /// [`SCHEMA`].
    pub schema: String,
    /// The cluster's id, also the value of its `owbench-cluster` tag.
    pub id: String,
    /// The spec it was made from.
    pub spec: ClusterSpec,
    /// Where it stands.
    pub status: Status,
    /// When `up` started (RFC 3339).
    pub created_at: String,
    /// When the file last changed (RFC 3339).
    pub updated_at: String,
    /// Nodes created, as recorded after each create returned.
    pub nodes: Vec<NodeRecord>,
    /// Why `up` or `down` failed, if it did.
    pub error: Option<String>,
    /// What its nodes cost in USD per hour at the provider's list prices, when the
    /// provider prices every shape (recorded by `up`).
    #[serde(default)]
    pub price_per_hour: Option<f64>,
    /// When `down` removed everything (RFC 3339).
    #[serde(default)]
    pub deleted_at: Option<String>,
    /// The version of the installer plugin that set it up (recorded by `up`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installer_version: Option<String>,
    /// The secrets the host made for it (OpenWhisk keys, TLS certificate and key), by
    /// name; the file is its owner's only.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, String>,
    /// Where and as whom to reach the OpenWhisk an installer made, once its health check
    /// passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Outputs>,
}

/// The installed OpenWhisk, as a client reaches it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outputs {
    /// The API's base URL (`https://ADDRESS`).
    pub api_host: String,
    /// The key, `uuid:key`.
    pub auth: String,
    /// The namespace.
    pub namespace: String,
    /// The certificate the API serves (PEM), which clients pin.
    pub tls_cert: String,
}

/// Check that `id` is a plain name (letters, digits, `-`, `_`, `.`), as the ids `up`
/// makes are, and so names a file in the state directory and nothing else.
pub fn check_id(id: &str) -> anyhow::Result<()> {
    let plain = !id.is_empty()
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    anyhow::ensure!(
        plain,
        "`{id}` is not a cluster id (ids are like NAME-1a2b3c: letters, digits, -, _ and .)"
    );
    Ok(())
}

fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

impl ClusterState {
    /// The state of cluster `id` whose state file is gone, made again from `spec` with no
    /// nodes recorded (`down` finds them by tag); not yet saved. The id must be a plain
    /// name (letters, digits, `-`, `_`, `.`), as the ids `up` makes are.
    pub fn with_id(id: &str, spec: ClusterSpec) -> anyhow::Result<ClusterState> {
        check_id(id)?;
        let mut state = ClusterState::new(spec);
        state.id = id.to_owned();
        Ok(state)
    }

    /// A new cluster from `spec` with a fresh id (`NAME-xxxxxx`), not yet saved.
    pub fn new(spec: ClusterSpec) -> ClusterState {
        let suffix: u32 = rand::random::<u32>() & 0xff_ffff;
        ClusterState {
            schema: SCHEMA.into(),
            id: format!("{}-{suffix:06x}", spec.name),
            spec,
            status: Status::Creating,
            created_at: now(),
            updated_at: now(),
            nodes: Vec::new(),
            error: None,
            price_per_hour: None,
            deleted_at: None,
            installer_version: None,
            secrets: BTreeMap::new(),
            outputs: None,
        }
    }

    /// How long it has existed: from `up` to `down`, or to `now`.
    pub fn age(&self, now: std::time::SystemTime) -> Option<std::time::Duration> {
        let start = humantime::parse_rfc3339(&self.created_at).ok()?;
        let end = match &self.deleted_at {
            Some(t) => humantime::parse_rfc3339(t).ok()?,
            None => now,
        };
        Some(end.duration_since(start).unwrap_or_default())
    }

    /// What it has cost so far at list prices: its price per hour over its age, which
    /// its nodes' power-off after `max_hours` bounds when an installer made it.
    pub fn cost_so_far(&self, now: std::time::SystemTime) -> Option<f64> {
        let mut hours = self.age(now)?.as_secs_f64() / 3600.0;
        if self.spec.installer.is_some() {
            hours = hours.min(self.spec.max_hours);
        }
        Some(self.price_per_hour? * hours)
    }

    /// The OpenWhisk an installer set up on it, once its health check passed.
    pub fn ready_outputs(&self) -> anyhow::Result<&Outputs> {
        match (&self.outputs, self.status) {
            (Some(outputs), Status::Ready) => Ok(outputs),
            (_, status) => anyhow::bail!(
                "cluster {} has no OpenWhisk: it is {} (an installer's cluster is ready once its health check passed)",
                self.id,
                status.as_str()
            ),
        }
    }

    /// Mark it removed now.
    pub fn mark_deleted(&mut self) {
        self.status = Status::Deleted;
        self.deleted_at = Some(now());
    }
}

/// The directory of state files.
#[derive(Debug, Clone)]
pub struct StateStore {
    dir: PathBuf,
}

/// `$OWBENCH_STATE_DIR`, else `$XDG_STATE_HOME/owbench/clusters`, else
/// `~/.local/state/owbench/clusters`.
pub fn default_dir() -> PathBuf {
    owbench_plugin::dirs::owbench_dir(
        "OWBENCH_STATE_DIR",
        "XDG_STATE_HOME",
        ".local/state",
        "clusters",
    )
}

impl StateStore {
    /// State files in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> StateStore {
        StateStore { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// The file of cluster `id`.
    pub fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Write `state` (stamped now) atomically, readable by its owner only (it holds the
    /// cluster's secrets).
    pub fn save(&self, state: &mut ClusterState) -> anyhow::Result<()> {
        state.updated_at = now();
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create the state directory {}", self.dir.display()))?;
        let path = self.path(&state.id);
        let tmp = self.dir.join(format!(".{}.json.tmp", state.id));
        let text = serde_json::to_string_pretty(state)?;
        write_synced(&tmp, text.as_bytes())
            .and_then(|()| std::fs::rename(&tmp, &path))
            .with_context(|| format!("cannot write cluster state {}", path.display()))
    }

    /// Read cluster `id`.
    pub fn load(&self, id: &str) -> anyhow::Result<ClusterState> {
        check_id(id)?;
        let path = self.path(id);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                anyhow::anyhow!(
                    "no cluster `{id}` in {} (`owbench cluster list` shows the known ones)",
                    self.dir.display()
                )
            } else {
                anyhow::anyhow!("cannot read {}: {e}", path.display())
            }
        })?;
        let state: ClusterState = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{} is not a cluster state file: {e}", path.display()))?;
        anyhow::ensure!(
            state.schema == SCHEMA,
            "{} has schema `{}`, this owbench reads `{SCHEMA}`",
            path.display(),
            state.schema
        );
        Ok(state)
    }

    /// Every cluster, oldest first (files that do not parse are skipped with a warning).
    pub fn list(&self) -> anyhow::Result<Vec<ClusterState>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => anyhow::bail!("cannot read {}: {e}", self.dir.display()),
        };
        let mut states = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_suffix(".json").filter(|n| !n.starts_with('.')) else {
                continue;
            };
            match self.load(id) {
                Ok(s) => states.push(s),
                Err(e) => tracing::warn!("skipping a cluster state file: {e:#}"),
            }
        }
        states.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(states)
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path)?;
    // A file left behind by an interrupted save keeps its mode on open: set it.
    #[cfg(unix)]
    f.set_permissions(
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o600),
    )?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_lists() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        let spec = ClusterSpec::parse(
            "name = \"c\"\nprovider = \"aws-ec2\"\nregion = \"r\"\nimage = \"i\"\n[[nodes]]\nrole = \"a\"\nshape = \"s\"\n",
        )
        .unwrap();
        let mut state = ClusterState::new(spec);
        assert!(
            state.id.starts_with("c-") && state.id.len() == 8,
            "{}",
            state.id
        );
        store.save(&mut state).unwrap();
        assert_eq!(store.load(&state.id).unwrap(), state);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(store.path(&state.id))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "only its owner reads a state file");
        }
        assert_eq!(store.list().unwrap(), vec![state.clone()]);
        let e = store.load("nope").unwrap_err().to_string();
        assert!(e.contains("no cluster `nope`"), "{e}");
        std::fs::write(store.path("bad"), "{").unwrap();
        assert!(store.load("bad").is_err());
        assert_eq!(store.list().unwrap().len(), 1);
    }

    #[test]
    fn age_and_cost_run_from_up_to_down_and_stop_at_max_hours() {
        let spec = ClusterSpec::parse(
            "name = \"c\"\nprovider = \"aws-ec2\"\nregion = \"r\"\nimage = \"i\"\n[[nodes]]\nrole = \"a\"\nshape = \"s\"\n",
        )
        .unwrap();
        let mut state = ClusterState::new(spec);
        state.created_at = "2026-11-29T10:00:00Z".into();
        let at = |t: &str| humantime::parse_rfc3339(t).unwrap();
        let now = at("2026-11-29T16:00:00Z");
        assert_eq!(state.age(now).unwrap().as_secs(), 6 * 3600);
        assert_eq!(state.cost_so_far(now), None, "no price known");
        state.price_per_hour = Some(0.5);
        assert_eq!(state.cost_so_far(now), Some(3.0));
        // An installer's nodes power off after max_hours (4 by default).
        state.spec.installer = Some(crate::cluster::spec::InstallerSpec {
            name: "x".into(),
            settings: Default::default(),
        });
        assert_eq!(state.cost_so_far(now), Some(2.0));
        state.spec.installer = None;
        state.deleted_at = Some("2026-11-29T11:30:00Z".into());
        assert_eq!(state.age(now).unwrap().as_secs(), 5400);
        assert_eq!(state.cost_so_far(now), Some(0.75));
    }
}
