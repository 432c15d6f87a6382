//! Builds every first-party guest (built-in workloads; with the `fixtures` feature the
//! test fixtures; with the `providers` feature the provider and installer plugins; heavy workloads only
//! with the `heavy-workloads` feature) for
//! `wasm32-wasip2` with nested `cargo build`s, so that `cargo build`/`cargo test` of the
//! host needs no extra step. The components land in `target/guests` (shared by all host profiles) and are
//! embedded or referenced from the generated `components.rs`.

use std::env;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "../builtins/table.rs"]
mod table;

/// Provider plugins under `plugins/`: (cargo package, artifact stem). Built only with
/// the `providers` feature: the AWS SDK alone takes minutes to compile.
const PROVIDERS: &[(&str, &str)] = &[("aws-ec2", "aws_ec2"), ("oci", "oci")];

/// Installer plugins under `plugins/`: (cargo package, artifact stem). Built with the
/// provider plugins (the `providers` feature), which they need.
const INSTALLERS: &[(&str, &str)] = &[
    ("openwhisk-standalone", "openwhisk_standalone"),
    ("openwhisk-kube", "openwhisk_kube"),
    ("owbench-serve", "owbench_serve"),
];

/// A built-in plugin left out of this build: (plugin name, the cargo feature that
/// builds it in).
type LeftOut = (String, &'static str);

/// Plugins under `plugins/`: (cargo package, artifact stem).
type Packages = &'static [(&'static str, &'static str)];

/// Test fixtures: (cargo package, artifact stem, constant name). Referenced by path.
const FIXTURES: &[(&str, &str, &str)] = &[
    ("fixture-misbehave", "fixture_misbehave", "MISBEHAVE"),
    ("fixture-wrong-world", "fixture_wrong_world", "WRONG_WORLD"),
    ("fixture-peek", "fixture_peek", "PEEK"),
    (
        "fixture-signer-thief",
        "fixture_signer_thief",
        "SIGNER_THIEF",
    ),
];

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.join("../..").canonicalize().unwrap();
    for watched in [
        "workloads",
        "plugins",
        "wit",
        "host/fixtures",
        "host/builtins/Cargo.toml",
        // The runtime image's Dockerfile, which the `openwhisk-standalone` installer embeds.
        "host/runtime/Dockerfile",
        "Cargo.lock",
        ".cargo/config.toml",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=OWBENCH_LINT_GUESTS");
    println!("cargo:rerun-if-env-changed=OWBENCH_GUESTS_PROFILE");

    ensure_wasm_target();
    let target_dir = root.join("target/guests");
    // The built-in workloads: the one table in host/builtins/Cargo.toml. Heavy ones
    // (their crate says so) only with the `heavy-workloads` feature.
    let heavy_wanted = env::var_os("CARGO_FEATURE_HEAVY_WORKLOADS").is_some();
    let table = table::builtin_workloads(&root.join("host/builtins/Cargo.toml"));
    let (built, left_out): (Vec<_>, Vec<_>) = table.iter().partition(|b| heavy_wanted || !b.heavy);
    let workloads: Vec<(&str, &str)> = built
        .iter()
        .map(|b| (b.package.as_str(), b.krate.as_str()))
        .collect();
    let workloads_left_out: Vec<LeftOut> = left_out
        .iter()
        .map(|b| (b.name.clone(), "heavy-workloads"))
        .collect();
    // Workloads are benchmarked: full optimisation, one codegen unit, LTO. Test fixtures
    // come along (they share most dependencies), only for builds with tests (the
    // `fixtures` feature, which `owbench`'s dev-dependency turns on).
    let fixtures_wanted = env::var_os("CARGO_FEATURE_FIXTURES").is_some();
    let fixture_list: &[(&str, &str, &str)] = if fixtures_wanted { FIXTURES } else { &[] };
    let benchmarked: Vec<&str> = workloads
        .iter()
        .map(|(p, _)| *p)
        .chain(fixture_list.iter().map(|(p, _, _)| *p))
        .collect();
    // The workspace's `release` profile; CI's test build asks for `ci` (release with the
    // inference engine less optimised: Cargo.toml says why).
    let profile = match env::var("OWBENCH_GUESTS_PROFILE").as_deref() {
        Err(_) | Ok("release") => "release",
        Ok("ci") => "ci",
        Ok(other) => panic!("OWBENCH_GUESTS_PROFILE must be `release` or `ci`, not `{other}`"),
    };
    let mut benchmarked = guest_build(&root, &target_dir, profile, &benchmarked);
    let upper = profile.to_ascii_uppercase();
    benchmarked
        .env(format!("CARGO_PROFILE_{upper}_CODEGEN_UNITS"), "1")
        .env(format!("CARGO_PROFILE_{upper}_LTO"), "true");
    run(benchmarked);
    // Provider plugins are API glue around large SDKs (aws-sdk-ec2 alone takes minutes),
    // installers write plans: the workspace's `plugin` profile optimises for size and
    // builds in parallel.
    let cloud = env::var_os("CARGO_FEATURE_PROVIDERS").is_some();
    let (providers, installers, cloud_left_out): (Packages, Packages, _) = if cloud {
        let packages: Vec<&str> = PROVIDERS
            .iter()
            .chain(INSTALLERS)
            .map(|(p, _)| *p)
            .collect();
        run(guest_build(&root, &target_dir, "plugin", &packages));
        (PROVIDERS, INSTALLERS, (Vec::new(), Vec::new()))
    } else {
        let left_out = |list: &[(&str, &str)]| -> Vec<LeftOut> {
            list.iter()
                .filter_map(|(p, _)| table::plugin_name(&root.join("plugins").join(p)))
                .map(|name| (name, "providers"))
                .collect()
        };
        (&[], &[], (left_out(PROVIDERS), left_out(INSTALLERS)))
    };
    let (providers_left_out, installers_left_out) = cloud_left_out;

    let artifacts = target_dir.join("wasm32-wasip2").join(profile);
    let plugin_artifacts = target_dir.join("wasm32-wasip2/plugin");
    let mut out = String::new();
    builtins(
        &mut out,
        "WORKLOADS",
        "The built-in workloads in this build",
        &root.join("workloads"),
        &workloads,
        &artifacts,
    );
    builtins(
        &mut out,
        "PROVIDERS",
        "The provider plugins in this build",
        &root.join("plugins"),
        providers,
        &plugin_artifacts,
    );
    builtins(
        &mut out,
        "INSTALLERS",
        "The installer plugins in this build",
        &root.join("plugins"),
        installers,
        &plugin_artifacts,
    );
    left_out_list(
        &mut out,
        "WORKLOADS_LEFT_OUT",
        "workloads",
        &workloads_left_out,
    );
    left_out_list(
        &mut out,
        "PROVIDERS_LEFT_OUT",
        "provider plugins",
        &providers_left_out,
    );
    left_out_list(
        &mut out,
        "INSTALLERS_LEFT_OUT",
        "installer plugins",
        &installers_left_out,
    );
    let mut fixtures = String::new();
    for (_, stem, name) in fixture_list {
        let wasm = artifacts.join(format!("{stem}.wasm"));
        writeln!(fixtures, "/// Path of the `{stem}` test fixture component.").unwrap();
        writeln!(fixtures, "pub const {name}: &str = {:?};", path(&wasm)).unwrap();
    }
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    std::fs::write(out_dir.join("workloads.rs"), out).unwrap();
    std::fs::write(out_dir.join("fixtures.rs"), fixtures).unwrap();
    println!("cargo:generated={}", path(&out_dir));
}

/// Build `packages` for `wasm32-wasip2` with cargo profile `profile` into `target_dir`,
/// stripped and without debug info (the host compiles them with Cranelift at load time).
fn guest_build(root: &Path, target_dir: &Path, profile: &str, packages: &[&str]) -> Command {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    let upper = profile.to_ascii_uppercase();
    cmd.current_dir(root)
        .args(["build", "--profile", profile, "--target", "wasm32-wasip2"])
        .arg("--target-dir")
        .arg(target_dir)
        .env(format!("CARGO_PROFILE_{upper}_DEBUG"), "false")
        .env(format!("CARGO_PROFILE_{upper}_STRIP"), "true");
    // Flags meant for the host build must not leak into the guest build; the guests'
    // own flags come from `.cargo/config.toml`.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
    ] {
        cmd.env_remove(var);
    }
    // The host's compiler wrapper (clippy-driver under `cargo clippy`, or in CI) lints the
    // guests only when asked: CI's build lints them while it builds them; a local
    // `cargo clippy` of the host must not rebuild the benchmarked guests with it.
    if env::var_os("OWBENCH_LINT_GUESTS").is_none() {
        cmd.env_remove("RUSTC_WORKSPACE_WRAPPER");
        cmd.env_remove("CLIPPY_ARGS");
    }
    for package in packages {
        cmd.args(["-p", package]);
    }
    cmd
}

/// Run a guest build; panic with the likely fix when it fails.
fn run(mut build: Command) {
    let status = build
        .status()
        .expect("failed to run cargo to build the wasm32-wasip2 guests");
    assert!(
        status.success(),
        "building the wasm32-wasip2 guests failed (is the target installed? `rustup target add wasm32-wasip2`)"
    );
}

/// Append `pub const NAME: &[Builtin]`: each (package, stem) of `list` as the
/// `plugin.toml` under `dir/package` and the component `stem.wasm` in `artifacts`.
fn builtins(
    out: &mut String,
    name: &str,
    what: &str,
    dir: &Path,
    list: &[(&str, &str)],
    artifacts: &Path,
) {
    writeln!(out, "/// {what}: (plugin.toml, component bytes).").unwrap();
    writeln!(out, "pub const {name}: &[Builtin] = &[").unwrap();
    for (package, stem) in list {
        let wasm = artifacts.join(format!("{stem}.wasm"));
        let manifest = dir.join(package).join("plugin.toml");
        writeln!(
            out,
            "    Builtin {{ manifest: include_str!({:?}), wasm: include_bytes!({:?}) }},",
            path(&manifest),
            path(&wasm)
        )
        .unwrap();
    }
    out.push_str("];\n");
}

/// Append `pub const NAME: &[LeftOut]`: the built-in plugins of `what` this build left
/// out, each with the cargo feature that builds it in.
fn left_out_list(out: &mut String, name: &str, what: &str, list: &[LeftOut]) {
    writeln!(out, "/// Built-in {what} left out of this build.").unwrap();
    writeln!(out, "pub const {name}: &[LeftOut] = &[").unwrap();
    for (plugin, feature) in list {
        writeln!(
            out,
            "    LeftOut {{ name: {plugin:?}, feature: {feature:?} }},"
        )
        .unwrap();
    }
    out.push_str("];\n");
}

/// Install the `wasm32-wasip2` standard library with rustup when the toolchain lacks it
/// (`rust-toolchain.toml` lists it, but rustup does not add targets to an installed
/// toolchain by itself, and CI machines may set `RUSTUP_AUTO_INSTALL=0`).
fn ensure_wasm_target() {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(rustc).args(["--print", "sysroot"]).output();
    let installed = sysroot.is_ok_and(|out| {
        let root = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Path::new(&root).join("lib/rustlib/wasm32-wasip2").is_dir()
    });
    if !installed {
        println!("cargo:warning=installing the wasm32-wasip2 target with rustup");
        let status = Command::new("rustup")
            .args(["target", "add", "wasm32-wasip2"])
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "the wasm32-wasip2 target is missing and `rustup target add wasm32-wasip2` failed"
        );
    }
}

fn path(p: &Path) -> String {
    p.to_str().expect("non-UTF-8 path").to_owned()
}
