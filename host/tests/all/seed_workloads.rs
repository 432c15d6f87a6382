use serde_json::json;

use crate::helpers::*;

#[cfg(feature = "native")]
fn run_native(name: &str, params: serde_json::Value) -> serde_json::Value {
    let outcome = owbench::workloads::run_native(name, &params.to_string()).unwrap();
    serde_json::from_str(&outcome.result.unwrap()).unwrap()
}

#[tokio::test]
async fn every_builtin_loads_and_describes_itself() {
    let engine = engine();
    for name in owbench::workloads::builtin_names() {
        let plugin = load_builtin(&engine, &name).await;
        assert_eq!(plugin.info().name, name);
        assert!(plugin.info().default_params.is_object());
        assert!(
            owbench::workloads::has_native(&name) || !cfg!(feature = "native"),
            "{name} has no native build"
        );
    }
}

#[cfg(feature = "native")]
#[tokio::test]
async fn matmul_wasm_and_native_agree_bit_for_bit() {
    let params = json!({"n": 96, "seed": 5});
    let wasm = wasm_result("matmul", params.clone()).await;
    let native = run_native("matmul", params);
    assert_eq!(wasm["checksum"], native["checksum"]);
    assert!(wasm["gflops"].as_f64().unwrap() > 0.0);
    // A different seed gives a different product.
    let other = run_native("matmul", json!({"n": 96, "seed": 6}));
    assert_ne!(other["checksum"], native["checksum"]);
}

#[tokio::test]
async fn bintree_wasm_output_matches_the_reference() {
    let reference = include_str!("../../../workloads/bintree/tests/reference-output-10.txt");
    let wasm = wasm_result("bintree", json!({"depth": 10})).await;
    assert_eq!(wasm["output"], reference);
    #[cfg(feature = "native")]
    assert_eq!(
        run_native("bintree", json!({"depth": 10}))["output"],
        reference
    );
}

#[tokio::test]
async fn file_io_writes_and_verifies_every_phase() {
    let wasm = wasm_result(
        "file-io",
        json!({"size_mb": 2, "block_kb": 16, "fsync": true}),
    )
    .await;
    assert_eq!(wasm["bytes"], 2 << 20);
    for phase in ["seq_write", "seq_read", "rand_write", "rand_read"] {
        assert!(
            wasm["phases"][phase]["mbps"].as_f64().unwrap() > 0.0,
            "{phase}: {wasm}"
        );
    }
}

#[tokio::test]
async fn file_io_refuses_a_size_that_is_not_whole_blocks() {
    let engine = engine();
    let plugin = load_builtin(&engine, "file-io").await;
    let params = json!({"size_mb": 1, "block_kb": 3}).to_string();
    let e = plugin
        .call(&engine, &params, plugin.default_limits())
        .await
        .result
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("must be a whole number of `block_kb` blocks"),
        "{e}"
    );
}

#[tokio::test]
async fn object_download_hashes_what_it_streams() {
    let objects = owbench::objects::ObjectServer::start().await.unwrap();
    let size = 3 << 20;
    let sha = owbench::objects::sha256_of(size, 11);
    let params = json!({"url": objects.url(size, 11), "expect_sha256": sha});
    let wasm = wasm_result("object-download", params.clone()).await;
    assert_eq!(wasm["sha256"], sha.as_str());
    assert_eq!(wasm["bytes"], size);
    // The native build, on a blocking thread (it uses a blocking client).
    #[cfg(feature = "native")]
    {
        let native = tokio::task::spawn_blocking(move || run_native("object-download", params))
            .await
            .unwrap();
        assert_eq!(native["sha256"], sha.as_str());
    }
}

#[tokio::test]
async fn object_download_reports_a_wrong_hash_and_http_errors() {
    let objects = owbench::objects::ObjectServer::start().await.unwrap();
    let engine = engine();
    let plugin = load_builtin(&engine, "object-download").await;
    let params = json!({"url": objects.url(1000, 1), "expect_sha256": "00"}).to_string();
    let e = plugin
        .call(&engine, &params, plugin.default_limits())
        .await
        .result
        .unwrap_err();
    assert!(e.is_application_error());
    assert!(e.to_string().contains("expected 00"), "{e}");

    let missing = format!("http://{}/nothing", objects.addr());
    let params = json!({"url": missing}).to_string();
    let e = plugin
        .call(&engine, &params, plugin.default_limits())
        .await
        .result
        .unwrap_err();
    assert!(e.to_string().contains("answered HTTP 404"), "{e}");
}

#[tokio::test]
async fn object_download_may_reach_only_the_url_it_is_given() {
    let objects = owbench::objects::ObjectServer::start().await.unwrap();
    let engine = engine();
    let plugin = load_builtin(&engine, "object-download").await;
    // `{{ url }}` allows the origin of `url`, nothing else: with no url, no host at all.
    let params = json!({"url": "ftp://example.invalid/x"}).to_string();
    let e = plugin
        .call(&engine, &params, plugin.default_limits())
        .await
        .result
        .unwrap_err();
    assert!(
        e.to_string().contains("must be an http:// or https:// URL"),
        "{e}"
    );
    let ok = json!({"url": objects.url(10, 1)}).to_string();
    assert!(
        plugin
            .call(&engine, &ok, plugin.default_limits())
            .await
            .result
            .is_ok()
    );
}
