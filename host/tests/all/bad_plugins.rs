use std::time::Duration;

use owbench_plugin::catalog;
use owbench_plugin::{CallError, InstallerPlugin, PluginError, ProviderPlugin};

use crate::helpers::*;

/// Call the misbehave fixture with `params` and return the error it must produce.
async fn misbehave_error(params: &str) -> PluginError {
    let engine = engine();
    let dir = misbehave_dir();
    let plugin = load_dir(&engine, dir.path()).await.unwrap();
    let outcome = plugin.call(&engine, params, plugin.default_limits()).await;
    outcome.result.expect_err("the call must fail")
}

fn one_line(e: &PluginError) -> String {
    let text = e.to_string();
    assert!(!text.contains('\n'), "error is not one line: {text:?}");
    assert!(
        text.starts_with("plugin "),
        "error does not name the plugin: {text}"
    );
    text
}

#[tokio::test]
async fn a_missing_component_is_named() {
    let engine = engine();
    let dir = plugin_dir(&misbehave_manifest("workload@0.4.0", ""), None);
    let e = load_dir(&engine, dir.path()).await.err().unwrap();
    assert!(matches!(e, PluginError::ReadComponent { .. }), "{e}");
    assert!(one_line(&e).contains("cannot read component"), "{e}");
}

#[tokio::test]
async fn a_corrupt_component_is_refused() {
    let engine = engine();
    let dir = plugin_dir(&misbehave_manifest("workload@0.4.0", ""), None);
    std::fs::write(dir.path().join("plugin.wasm"), b"\0asm\x0d\0\x01\0garbage").unwrap();
    let e = load_dir(&engine, dir.path()).await.err().unwrap();
    assert!(matches!(e, PluginError::Compile { .. }), "{e}");
    assert!(
        one_line(&e).contains("not a valid WebAssembly component"),
        "{e}"
    );

    std::fs::write(dir.path().join("plugin.wasm"), b"not wasm at all").unwrap();
    let e = load_dir(&engine, dir.path()).await.err().unwrap();
    assert!(matches!(e, PluginError::Compile { .. }), "{e}");
}

#[tokio::test]
async fn a_component_of_another_world_is_refused() {
    let engine = engine();
    let manifest = misbehave_manifest("workload@0.4.0", "").replace("misbehave", "wrong-world");
    let dir = plugin_dir(&manifest, Some(owbench_components::fixtures::WRONG_WORLD));
    let e = load_dir(&engine, dir.path()).await.err().unwrap();
    assert!(matches!(e, PluginError::WorldMismatch { .. }), "{e}");
    let text = one_line(&e);
    assert!(
        text.contains("does not implement `owbench:plugin/workload@0.4.0`"),
        "{text}"
    );
}

/// The component and manifest of the `wrong-world` fixture (an installer), its manifest
/// declaring `world`.
fn wrong_world(world: &str) -> (owbench_plugin::manifest::Manifest, Vec<u8>) {
    let manifest = misbehave_manifest(world, "").replace("misbehave", "wrong-world");
    let dir = plugin_dir(&manifest, Some(owbench_components::fixtures::WRONG_WORLD));
    catalog::component(&catalog::Source::Dir(dir.path().to_path_buf())).unwrap()
}

#[tokio::test]
async fn an_installer_loads_and_is_called_through_the_one_loader() {
    let engine = engine();
    let (manifest, bytes) = wrong_world("installer@0.4.0");
    let installer = InstallerPlugin::load(&engine, manifest, &bytes)
        .await
        .unwrap();
    assert_eq!(installer.info().name, "wrong-world");
    assert_eq!(installer.info().roles[0].name, "standalone");
    let cluster = owbench_plugin::installer::Cluster {
        id: "c-1".into(),
        provider: "aws-ec2".into(),
        groups: vec![],
    };
    let e = installer.plan(&engine, &cluster, &[]).await.unwrap_err();
    assert!(
        matches!(&e, CallError::Refused { message, retryable: false, .. } if message == "fixture"),
        "{e}"
    );
    assert_eq!(e.to_string(), "wrong-world: fixture");

    // The same component declared a provider is refused by the provider's bindings.
    let (manifest, bytes) = wrong_world("provider@0.4.0");
    let e = ProviderPlugin::load(&engine, manifest, &bytes, None)
        .await
        .err()
        .unwrap();
    assert!(matches!(e, PluginError::WorldMismatch { .. }), "{e}");
    assert!(
        one_line(&e).contains("does not implement `owbench:plugin/provider@0.4.0`"),
        "{e}"
    );
}

#[tokio::test]
async fn a_workload_is_not_an_installer() {
    let engine = engine();
    let manifest = misbehave_manifest("installer@0.4.0", "");
    let dir = plugin_dir(&manifest, Some(owbench_components::fixtures::MISBEHAVE));
    let (manifest, bytes) =
        catalog::component(&catalog::Source::Dir(dir.path().to_path_buf())).unwrap();
    let e = InstallerPlugin::load(&engine, manifest, &bytes)
        .await
        .err()
        .unwrap();
    assert!(matches!(e, PluginError::WorldMismatch { .. }), "{e}");
    assert!(
        one_line(&e).contains("owbench:plugin/installer@0.4.0"),
        "{e}"
    );
}

#[tokio::test]
async fn a_workload_cannot_import_what_only_providers_get() {
    let engine = engine();
    let manifest = misbehave_manifest("workload@0.4.0", "").replace("misbehave", "signer-thief");
    let dir = plugin_dir(&manifest, Some(owbench_components::fixtures::SIGNER_THIEF));
    let e = load_dir(&engine, dir.path()).await.err().unwrap();
    assert!(matches!(e, PluginError::WorldMismatch { .. }), "{e}");
    let text = one_line(&e);
    assert!(text.contains("signer"), "{text}");
}

#[tokio::test]
async fn a_manifest_of_another_world_or_version_is_refused() {
    let engine = engine();
    let wasm = Some(owbench_components::fixtures::MISBEHAVE);
    let dir = plugin_dir(&misbehave_manifest("installer@0.4.0", ""), wasm);
    let e = load_dir(&engine, dir.path()).await.err().unwrap();
    assert!(
        one_line(&e).ends_with("plugin implements the `installer` world, not `workload`"),
        "{e}"
    );

    let dir = plugin_dir(&misbehave_manifest("workload@0.1.0", ""), wasm);
    let e = load_dir(&engine, dir.path()).await.err().unwrap();
    assert!(
        one_line(&e).contains("this owbench speaks `owbench:plugin@0.4.0`"),
        "{e}"
    );
}

#[tokio::test]
async fn a_component_that_is_not_what_its_manifest_says_is_refused() {
    let engine = engine();
    let manifest = misbehave_manifest("workload@0.4.0", "")
        .replace("version = \"0.1.0\"", "version = \"9.9.9\"");
    let dir = plugin_dir(&manifest, Some(owbench_components::fixtures::MISBEHAVE));
    let e = load_dir(&engine, dir.path()).await.err().unwrap();
    assert!(matches!(e, PluginError::Identity { .. }), "{e}");
    assert!(
        one_line(&e).contains("component says it is `misbehave@0.1.0`"),
        "{e}"
    );
}

#[tokio::test]
async fn invalid_params_json_is_refused_before_the_call() {
    for params in ["{", "[1, 2]", "\"text\""] {
        let e = misbehave_error(params).await;
        assert!(matches!(e, PluginError::InvalidParams { .. }), "{e}");
        one_line(&e);
    }
}

#[tokio::test]
async fn an_application_error_is_reported_as_such() {
    let e = misbehave_error(r#"{"mode": "fail"}"#).await;
    assert!(e.is_application_error());
    assert_eq!(one_line(&e), "plugin `misbehave` failed: failed on purpose");
}

#[tokio::test]
async fn a_trap_carries_the_guest_panic_message() {
    let e = misbehave_error(r#"{"mode": "trap"}"#).await;
    assert!(matches!(e, PluginError::Trap { .. }), "{e}");
    assert!(!e.is_application_error());
    assert!(
        one_line(&e).contains("guest panicked: trapped on purpose"),
        "{e}"
    );
}

#[tokio::test]
async fn an_endless_loop_times_out() {
    let e = misbehave_error(r#"{"mode": "loop"}"#).await;
    assert!(
        matches!(e, PluginError::Timeout { limit, .. } if limit == Duration::from_secs(2)),
        "{e}"
    );
    assert_eq!(
        one_line(&e),
        "plugin `misbehave`: timed out after 2000 ms (limit)"
    );
}

#[tokio::test]
async fn unbounded_allocation_hits_the_memory_limit() {
    let e = misbehave_error(r#"{"mode": "alloc"}"#).await;
    assert_eq!(
        one_line(&e),
        "plugin `misbehave`: exceeded its memory limit of 64 MiB"
    );
}

#[tokio::test]
async fn a_stack_overflow_is_caught() {
    let e = misbehave_error(r#"{"mode": "stack"}"#).await;
    assert_eq!(one_line(&e), "plugin `misbehave`: wasm stack overflow");
    let e = misbehave_error(r#"{"mode": "shadow-stack"}"#).await;
    assert!(one_line(&e).contains("out of bounds memory access"), "{e}");
}

#[tokio::test]
async fn a_host_outside_the_allowlist_is_denied_clearly() {
    // A listener the plugin may not reach: it must never see a connection.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/object", listener.local_addr().unwrap());
    let engine = engine();
    let dir = misbehave_dir();
    let plugin = load_dir(&engine, dir.path()).await.unwrap();
    let params = serde_json::json!({"mode": "get", "url": url}).to_string();
    let outcome = plugin.call(&engine, &params, plugin.default_limits()).await;
    let e = outcome.result.unwrap_err();
    assert!(matches!(e, PluginError::Denied { .. }), "{e}");
    assert!(one_line(&e).contains(&format!("`GET {url}` denied")), "{e}");
    // Refused in the host, before any connection was made.
    let accepted = listener.accept();
    assert!(
        matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the denied request reached the network: {accepted:?}"
    );
}

/// The misbehave fixture allowed to reach `hosts`, loaded in `engine`, fetching `url`.
async fn misbehave_get(
    engine: &owbench_plugin::PluginEngine,
    hosts: &str,
    url: &str,
) -> Result<String, PluginError> {
    let manifest = misbehave_manifest("workload@0.4.0", "").replace(
        "[limits]",
        &format!("[permissions]\nallowed_outbound_hosts = [{hosts}]\n[limits]"),
    );
    let dir = plugin_dir(&manifest, Some(owbench_components::fixtures::MISBEHAVE));
    let plugin = load_dir(engine, dir.path()).await.unwrap();
    let params = serde_json::json!({"mode": "get", "url": url}).to_string();
    plugin
        .call(engine, &params, plugin.default_limits())
        .await
        .result
}

#[tokio::test]
async fn an_allowed_host_named_by_its_address_is_reached_without_a_grant() {
    let objects = owbench::objects::ObjectServer::start().await.unwrap();
    let engine = engine_granting_private_networks(false);
    let hosts = format!("\"http://{}\"", objects.addr());
    let got = misbehave_get(&engine, &hosts, &objects.url(16, 1)).await;
    assert_eq!(got.unwrap(), r#"{"status":200}"#);
}

#[tokio::test]
async fn an_allowed_name_that_resolves_to_a_private_address_is_refused_unless_granted() {
    // A listener the plugin may not reach: it must never see a connection.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let url = format!("http://localhost:{port}/object");
    let hosts = format!("\"http://localhost:{port}\"");
    let engine = engine_granting_private_networks(false);
    let e = misbehave_get(&engine, &hosts, &url).await.unwrap_err();
    assert!(matches!(e, PluginError::Denied { .. }), "{e}");
    let text = one_line(&e);
    assert!(
        text.contains(&format!(
            "`GET {url}` denied: `localhost` resolves to private address"
        )),
        "{e}"
    );
    assert!(text.contains("grant the plugin `private-networks`"), "{e}");
    let accepted = listener.accept();
    assert!(
        matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the refused request reached the network: {accepted:?}"
    );

    // The same request with `private-networks` granted goes out.
    let objects = owbench::objects::ObjectServer::start().await.unwrap();
    let port = objects.addr().port();
    let url = format!("http://localhost:{port}/objects/16?seed=1");
    let hosts = format!("\"http://localhost:{port}\"");
    let engine = engine_granting_private_networks(true);
    let got = misbehave_get(&engine, &hosts, &url).await;
    assert_eq!(got.unwrap(), r#"{"status":200}"#);
}

#[tokio::test]
async fn a_url_parameter_naming_the_metadata_service_or_loopback_is_refused() {
    // `{{ url }}` allows the URL's origin, but not a private address behind it: the
    // parameter is the caller's, the grant is the user's.
    let engine = engine_granting_private_networks(false);
    for url in [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://127.0.0.1:9/x",
        "http://[::ffff:127.0.0.1]:9/x",
    ] {
        let e = misbehave_get(&engine, "\"{{ url }}\"", url)
            .await
            .unwrap_err();
        assert!(matches!(e, PluginError::Denied { .. }), "{url}: {e}");
        assert!(one_line(&e).contains("is a private address"), "{url}: {e}");
    }
}

#[tokio::test]
async fn the_guest_sees_no_environment_and_only_its_scratch_dir() {
    // (The CLI test `no_secret_from_the_environment_reaches_a_plugin` also plants a secret.)
    let engine = engine();
    let dir = misbehave_dir();
    let plugin = load_dir(&engine, dir.path()).await.unwrap();
    let outcome = plugin
        .call(&engine, r#"{"mode": "sandbox"}"#, plugin.default_limits())
        .await;
    let seen: serde_json::Value = serde_json::from_str(&outcome.result.unwrap()).unwrap();
    assert_eq!(seen["env"], serde_json::json!([]), "{seen}");
    assert!(seen["root"].as_str().unwrap().starts_with("Err"), "{seen}");
    assert!(
        seen["etc_passwd"].as_str().unwrap().starts_with("Err"),
        "{seen}"
    );
    assert!(
        seen["escape"].as_str().unwrap().starts_with("Err"),
        "{seen}"
    );
    assert_eq!(seen["scratch_write"], "Ok(())", "{seen}");
}

#[tokio::test]
async fn scratch_dirs_are_removed_after_each_call_even_on_failure() {
    let root = tempfile::tempdir().unwrap();
    let engine = engine_with_scratch(root.path().to_path_buf());
    let dir = misbehave_dir();
    let plugin = load_dir(&engine, dir.path()).await.unwrap();
    for params in [r#"{"mode": "sandbox"}"#, r#"{"mode": "trap"}"#] {
        let _ = plugin.call(&engine, params, plugin.default_limits()).await;
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
    }
}

#[tokio::test]
async fn logs_metrics_and_output_are_captured_not_passed_through() {
    let engine = engine();
    let dir = misbehave_dir();
    let plugin = load_dir(&engine, dir.path()).await.unwrap();
    let outcome = plugin
        .call(&engine, r#"{"mode": "log"}"#, plugin.default_limits())
        .await;
    assert!(outcome.result.is_ok());
    assert_eq!(outcome.logs.len(), 1);
    assert_eq!(outcome.logs[0].message, "hello from the guest");
    assert_eq!(outcome.metrics[0].name, "answer");
    assert_eq!(outcome.stdout, "to stdout\n");
    assert_eq!(outcome.stderr, "to stderr\n");
}

#[tokio::test]
async fn the_engine_survives_many_bad_calls_in_a_row() {
    let engine = engine();
    let dir = misbehave_dir();
    let plugin = load_dir(&engine, dir.path()).await.unwrap();
    for mode in ["trap", "alloc", "stack", "shadow-stack", "fail", "ok"] {
        let _ = plugin
            .call(
                &engine,
                &format!(r#"{{"mode": "{mode}"}}"#),
                plugin.default_limits(),
            )
            .await;
    }
    let outcome = plugin
        .call(&engine, r#"{"mode": "ok"}"#, plugin.default_limits())
        .await;
    assert_eq!(outcome.result.unwrap(), r#"{"ok":true}"#);
}
