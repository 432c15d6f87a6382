//! The `owbench cluster` scenarios every provider plugin passes, written once and run
//! against each test cloud: moto for `aws-ec2`, the loopback OCI API server for `oci`.

use std::path::PathBuf;
use std::process::Output;

use serde_json::Value;

use crate::providers::text;

/// What a cloud's answers look like in the scenarios.
pub struct Expected {
    /// The `--dry-run` line: node count, provider, region and price per hour.
    pub plan: &'static str,
    /// An image id that does not exist there.
    pub missing_image: &'static str,
    /// The provider's error code for it.
    pub missing_image_code: &'static str,
    /// What `down` prints for the firewall rule `up` made.
    pub rule: &'static str,
    /// The image id the spec's `image = "ubuntu-24.04"` resolves to for the controller.
    pub ubuntu: &'static str,
    /// A small shape without local NVMe.
    pub small_shape: &'static str,
    /// A shape with local NVMe, and how the plan shows its disk.
    pub nvme_shape: (&'static str, &'static str),
    /// The provider's kinds of `hdd` and `ssd` volumes.
    pub volume_kinds: (&'static str, &'static str),
}

/// A test cloud with `owbench cluster` configured to use it.
pub trait TestCloud {
    /// A spec file for a controller and two invokers, with `image = "ubuntu-24.04"`,
    /// the invokers using `invoker_image` (`None`: the cloud's image id), port 443 open to
    /// 203.0.113.0/24.
    fn spec(&self, invoker_image: Option<&str>) -> PathBuf;
    /// `owbench cluster ARGS`, with this cloud's credentials and state directory.
    fn cluster(&self, args: &[&str]) -> Output;
    /// Where `owbench cluster` keeps its state files.
    fn state_dir(&self) -> PathBuf;
    /// Live nodes tagged with cluster `id`, as the cloud sees them.
    async fn live(&self, id: &str) -> usize;
    /// Make a node tagged with cluster `id` that no state file records (a create call
    /// whose answer was lost).
    async fn add_stray(&self, id: &str);
    /// What the cloud answers.
    fn expected(&self) -> Expected;
    /// A spec file of this cloud whose node groups are `nodes` (TOML `[[nodes]]` tables).
    fn spec_with(&self, nodes: &str) -> PathBuf;
    /// The volumes of cluster `id`'s nodes as the cloud sees them, each `KIND SIZE`,
    /// those deleted left out.
    async fn volumes(&self, id: &str) -> Vec<String>;
    /// Lower the account's limits where the test cloud lets the test; how many nodes of
    /// which shape are then over them, and the line `up` refuses with.
    async fn tighten_limits(&self) -> (&'static str, u32, &'static str);
}

/// Block volumes and local NVMe: a volume class the provider has, of a size it makes, on
/// a shape with local NVMe only, each refused in one line before anything is made; a
/// plan over the account's limits refused the same way; then volumes made with their
/// nodes (an `hdd` each on two, an `ssd` on one), shown by `status`, and gone with `down`.
pub async fn volumes_are_made_shown_and_deleted_and_limits_come_first(cloud: &impl TestCloud) {
    let e = cloud.expected();
    let small = e.small_shape;
    let refused = |nodes: &str, wanted: &str| {
        let spec = cloud.spec_with(nodes);
        let up = cloud.cluster(&["up", spec.to_str().unwrap()]);
        assert_eq!(up.status.code(), Some(1), "{}", text(&up.stderr));
        let stderr = text(&up.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(wanted), "{wanted} not in {stderr}");
        assert!(!cloud.state_dir().exists(), "nothing recorded");
    };
    let group = |role: &str, shape: &str, count: u32, extra: &str| {
        format!("[[nodes]]\nrole = \"{role}\"\nshape = \"{shape}\"\ncount = {count}\n{extra}\n")
    };
    refused(
        &group(
            "data",
            small,
            1,
            "volume = { size_gb = 20, class = \"hdd\" }",
        ),
        "role `data`: a `hdd` volume (",
    );
    refused(
        &group(
            "data",
            small,
            1,
            "volume = { size_gb = 200, class = \"tape\" }",
        ),
        "unknown variant `tape`",
    );
    refused(
        &group("data", small, 1, "local_nvme = true"),
        &format!("role `data`: shape {small} has no local NVMe (on "),
    );
    refused(
        &group(
            "data",
            e.nvme_shape.0,
            1,
            "local_nvme = true\nvolume = { size_gb = 200, class = \"ssd\" }",
        ),
        "role `data`: give `volume` or `local_nvme`, not both",
    );
    let (shape, over, line) = cloud.tighten_limits().await;
    refused(&group("many", shape, over, ""), line);

    // The dry run shows each group's data disk.
    let nvme = cloud.spec_with(&group("fast", e.nvme_shape.0, 1, "local_nvme = true"));
    let dry = cloud.cluster(&["up", nvme.to_str().unwrap(), "--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    assert!(
        text(&dry.stdout).contains(e.nvme_shape.1),
        "{}",
        text(&dry.stdout)
    );

    let nodes = group(
        "data",
        small,
        2,
        "volume = { size_gb = 200, class = \"hdd\" }",
    ) + &group(
        "db",
        small,
        1,
        "volume = { size_gb = 100, class = \"ssd\" }",
    );
    let spec = cloud.spec_with(&nodes);
    let up = cloud.cluster(&["up", spec.to_str().unwrap()]);
    assert!(up.status.success(), "{}", text(&up.stderr));
    let out = text(&up.stdout);
    let (hdd, ssd) = e.volume_kinds;
    assert!(out.contains(&format!("200 GB {hdd}")), "{out}");
    assert!(
        out.contains("account limit "),
        "the limits are checked first: {out}"
    );
    let id = cluster_id(&text(&up.stderr));
    let mut made = cloud.volumes(&id).await;
    made.sort();
    let mut wanted = vec![
        format!("{hdd} 200"),
        format!("{hdd} 200"),
        format!("{ssd} 100"),
    ];
    wanted.sort();
    assert_eq!(made, wanted);

    let status = cloud.cluster(&["status", &id]);
    assert!(status.status.success(), "{}", text(&status.stderr));
    let out = text(&status.stdout);
    assert_eq!(out.matches(&format!(" 200 GB {hdd} (")).count(), 2, "{out}");
    assert_eq!(out.matches(&format!(" 100 GB {ssd} (")).count(), 1, "{out}");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(state_file(cloud, &id)).unwrap()).unwrap();
    assert_eq!(saved["nodes"][0]["volumes"][0]["size_gb"], 200, "{saved}");

    let down = cloud.cluster(&["down", &id]);
    assert!(down.status.success(), "{}", text(&down.stderr));
    assert_eq!(
        cloud.volumes(&id).await,
        Vec::<String>::new(),
        "no volume left"
    );
}

/// Plan, `up`, `status`, `list`, `down` (and `down` again): three nodes made, seen
/// running, and all gone with their firewall rule.
pub async fn up_status_list_down(cloud: &impl TestCloud) {
    let expected = cloud.expected();
    let spec = cloud.spec(None);
    let spec = spec.to_str().unwrap();

    let plan = cloud.cluster(&["up", spec, "--dry-run"]);
    assert!(plan.status.success(), "{}", text(&plan.stderr));
    let out = text(&plan.stdout);
    assert!(out.contains(expected.plan), "{out}");
    assert!(!cloud.state_dir().exists(), "a dry run writes no state");

    let up = cloud.cluster(&["up", spec]);
    assert!(up.status.success(), "{}", text(&up.stderr));
    let id = cluster_id(&text(&up.stderr));
    assert_eq!(cloud.live(&id).await, 3);
    // The alias was resolved in the region, and the state records the id.
    let out = text(&up.stdout);
    assert!(
        out.contains(&format!(
            "role controller: image ubuntu-24.04 is {}",
            expected.ubuntu
        )),
        "{out}"
    );
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(state_file(cloud, &id)).unwrap()).unwrap();
    assert_eq!(
        saved["spec"]["nodes"][0]["image"], expected.ubuntu,
        "{saved}"
    );

    let status = cloud.cluster(&["status", &id]);
    assert!(status.status.success(), "{}", text(&status.stderr));
    let out = text(&status.stdout);
    assert_eq!(out.matches(" running ").count(), 3, "{out}");
    assert!(
        out.contains("invoker") && out.contains("controller"),
        "{out}"
    );
    let list = cloud.cluster(&["list"]);
    let out = text(&list.stdout);
    let row = out
        .lines()
        .find(|l| l.contains(&id))
        .unwrap_or_else(|| panic!("{out}"));
    // Both test clouds price every shape of the spec: the cost so far is a figure.
    assert!(out.contains("USD so far"), "{out}");
    let cost = row.split_whitespace().last().unwrap();
    assert!(cost.parse::<f64>().is_ok_and(|c| c >= 0.0), "{row}");

    let down = cloud.cluster(&["down", &id]);
    assert!(down.status.success(), "{}", text(&down.stderr));
    let out = text(&down.stdout);
    assert!(out.contains("3 node(s) terminated"), "{out}");
    assert!(out.contains(expected.rule), "{out}");
    assert_eq!(cloud.live(&id).await, 0);
    let again = cloud.cluster(&["down", &id]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(text(&again.stdout).contains("0 node(s) terminated"));
}

/// `up` fails after the controller exists (the invokers' image does not): one line
/// naming the role, the cloud's code and the `down` command; state `failed` with the
/// one node; `down` also finds a node only its tag knows, and leaves zero.
pub async fn a_failed_up_leaves_state_that_down_cleans_completely(cloud: &impl TestCloud) {
    let expected = cloud.expected();
    let spec = cloud.spec(Some(expected.missing_image));
    let up = cloud.cluster(&["up", spec.to_str().unwrap()]);
    assert_eq!(up.status.code(), Some(1));
    let stderr = text(&up.stderr);
    let id = cluster_id(&stderr);
    let error = stderr.lines().last().unwrap();
    assert!(
        error.starts_with("error: creating role `invoker`"),
        "{stderr}"
    );
    assert!(error.contains(expected.missing_image_code), "{stderr}");
    assert!(
        error.contains(&format!("owbench cluster down {id}")),
        "{stderr}"
    );
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(state_file(cloud, &id)).unwrap()).unwrap();
    assert_eq!(saved["status"], "failed");
    assert_eq!(saved["nodes"].as_array().unwrap().len(), 1, "{saved}");
    assert_eq!(cloud.live(&id).await, 1);

    cloud.add_stray(&id).await;
    assert_eq!(cloud.live(&id).await, 2);
    let down = cloud.cluster(&["down", &id]);
    assert!(down.status.success(), "{}", text(&down.stderr));
    let out = text(&down.stdout);
    assert!(
        out.contains("2 node(s) terminated (1 found only by tag)"),
        "{out}"
    );
    assert_eq!(cloud.live(&id).await, 0, "zero instances left");
    let again = cloud.cluster(&["down", &id]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(text(&again.stdout).contains("0 node(s) terminated"));
}

/// An image alias the provider does not know: one line naming the role and the alias,
/// before anything is created or recorded.
pub async fn an_unknown_image_alias_creates_nothing(cloud: &impl TestCloud) {
    let spec = cloud.spec(Some("ubuntu-99.04"));
    let up = cloud.cluster(&["up", spec.to_str().unwrap()]);
    assert_eq!(up.status.code(), Some(1));
    let stderr = text(&up.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: role `invoker`: image `ubuntu-99.04`: ")
            && stderr.contains("ubuntu-24.04"),
        "{stderr}"
    );
    assert!(!cloud.state_dir().exists(), "nothing recorded");
}

/// The state file of cluster `id`.
pub fn state_file(cloud: &impl TestCloud, id: &str) -> PathBuf {
    cloud.state_dir().join(format!("{id}.json"))
}

/// The cluster's id, from the `cluster ID: state in PATH` line `up` prints.
pub fn cluster_id(stderr: &str) -> String {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("cluster ")?.split(':').next())
        .unwrap_or_else(|| panic!("no cluster id in: {stderr}"))
        .to_owned()
}
