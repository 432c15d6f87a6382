use std::path::Path;

use crate::bench::{results, write_spec};
use crate::cli::owbench;
use crate::helpers::npm_package;

/// Debian's Chromium (`ci/test.sh` installs it with apt-get).
const CHROMIUM: &str = "/usr/bin/chromium";

#[test]
fn the_report_of_three_repetitions_renders_every_chart_in_chromium() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install Debian's chromium (ci/test.sh does)"
    );
    let node_modules = npm_package("playwright-core@1.65.1");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // Two workloads, three repetitions, open loop.
    let spec = write_spec(
        tmp.path(),
        "name = \"browser\"\ncount = 200\n[target]\nkind = \"embedded\"\n[load]\nmodel = \"open\"\nrate = 2000\n\
         [[workload]]\nname = \"noop\"\n[[workload]]\nname = \"matmul\"\nparams = { n = 8 }\n",
    );
    let o = owbench(&[
        "bench",
        spec.to_str().unwrap(),
        "--runs",
        "3",
        "--quiet",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report = results(&out).join("report.html");
    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report.png");
    let check = std::process::Command::new("node")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/js/report-in-chromium.js"
        ))
        .env("NODE_PATH", &node_modules)
        .env("REPORT", &report)
        .env("EXPECT_CHARTS", "9")
        .env("SCREENSHOT", &screenshot)
        .env("CHROMIUM", CHROMIUM)
        .output()
        .expect("node must be installed");
    let stdout = String::from_utf8_lossy(&check.stdout);
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(check.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("every chart drawn"), "{stdout}");
}
