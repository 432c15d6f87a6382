use std::path::{Path, PathBuf};

use owbench::objects::ObjectServer;
use serde_json::{Value, json};

use crate::helpers::{engine, failure, load_builtin, native_result, python_with, wasm_result};

fn workload_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../workloads/ml-inference")
}

/// onnxruntime's labels and scores for every image of `csv` with the built-in model.
fn onnxruntime_reference(csv: &Path) -> Value {
    let python = python_with("onnxruntime", &["onnxruntime==1.32.0", "numpy"]);
    let out = std::process::Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/onnxruntime_digits.py"))
        .arg(workload_dir().join("model/digits.onnx"))
        .arg(csv)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Top-1 labels equal, every score within 1e-4; the largest difference.
fn assert_agrees(result: &Value, reference: &Value, what: &str) -> f64 {
    assert_eq!(
        result["labels"], reference["labels"],
        "{what}: top-1 labels"
    );
    let mut worst = 0f64;
    let (ours, theirs) = (
        result["scores"].as_array().unwrap(),
        reference["scores"].as_array().unwrap(),
    );
    assert_eq!(ours.len(), theirs.len());
    for (a, b) in ours.iter().zip(theirs) {
        for (x, y) in a.as_array().unwrap().iter().zip(b.as_array().unwrap()) {
            worst = worst.max((x.as_f64().unwrap() - y.as_f64().unwrap()).abs());
        }
    }
    assert!(worst <= 1e-4, "{what}: a score differs by {worst}");
    worst
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_digit_gets_onnxruntimes_label_and_scores_within_1e_4() {
    let data = workload_dir().join("data");
    let reference = onnxruntime_reference(&data.join("digits.csv"));
    assert_eq!(reference["labels"].as_array().unwrap().len(), 1797);
    let server = ObjectServer::start_with_files(Some(data)).await.unwrap();
    let params = json!({"images_url": server.file_url("digits.csv")});
    let wasm = wasm_result("ml-inference", params.clone()).await;
    assert_agrees(&wasm, &reference, "wasm");
    let native = native_result("ml-inference", params.to_string()).await;
    assert_agrees(&native, &reference, "native");
    // The true labels count the same hits as onnxruntime's labels do.
    let truth: Vec<u64> = std::fs::read_to_string(workload_dir().join("data/digits.csv"))
        .unwrap()
        .lines()
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    let hits = reference["labels"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&truth)
        .filter(|(l, t)| l.as_u64() == Some(**t))
        .count();
    assert_eq!(wasm["correct"], hits);
    assert_eq!(wasm["images"], 1797);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_model_a_bad_row_and_an_oversized_input_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let model = std::fs::read(workload_dir().join("model/digits.onnx")).unwrap();
    std::fs::write(tmp.path().join("truncated.onnx"), &model[..model.len() / 2]).unwrap();
    std::fs::write(
        tmp.path().join("garbage.onnx"),
        b"\x00\x01not a model at all",
    )
    .unwrap();
    let digits = std::fs::read_to_string(workload_dir().join("data/digits.csv")).unwrap();
    let first = digits.find('\n').unwrap() + 1;
    let mut broken = digits[..first].to_owned();
    broken.push_str("7,1,2,x\n");
    std::fs::write(tmp.path().join("broken.csv"), &broken).unwrap();
    let big = digits.repeat(5); // 1.3 MB
    std::fs::write(tmp.path().join("big.csv"), big).unwrap();
    let server = ObjectServer::start_with_files(Some(tmp.path().to_owned()))
        .await
        .unwrap();
    let engine = engine();
    let plugin = load_builtin(&engine, "ml-inference").await;
    let image: Vec<u32> = (0..64).map(|i| i % 17).collect();
    for name in ["truncated.onnx", "garbage.onnx"] {
        let url = server.file_url(name);
        let e = failure(
            &engine,
            &plugin,
            json!({"images": [image], "model_url": url}),
        )
        .await;
        assert!(e.is_application_error(), "{e}");
        assert!(
            e.to_string()
                .contains(&format!("model_url {url} is not a usable model")),
            "{e}"
        );
    }
    let e = failure(
        &engine,
        &plugin,
        json!({"images_url": server.file_url("broken.csv")}),
    )
    .await;
    assert!(e.is_application_error(), "{e}");
    assert!(
        e.to_string().contains(&format!(
            "malformed images row at line 2 (byte offset {first}): expected 65 fields like the rows before it, found 4"
        )),
        "{e}"
    );
    let e = failure(
        &engine,
        &plugin,
        json!({"images_url": server.file_url("big.csv"), "max_input_mb": 1}),
    )
    .await;
    assert!(e.is_application_error(), "{e}");
    assert!(
        e.to_string()
            .contains("larger than max_input_mb (1 MB): it passes byte offset 1048576"),
        "{e}"
    );
    let e = failure(&engine, &plugin, json!({"images": [[1, 2, 3]]})).await;
    assert!(
        e.to_string()
            .contains("image 0 is not an array of 64 numbers"),
        "{e}"
    );
}

#[test]
fn the_default_spec_classifies_the_whole_data_set_across_invocations() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = crate::bench::with_data(
        &workload_dir().join("bench.toml"),
        &out,
        &tmp.path().join("data"),
        &["--runs", "1"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = crate::bench::results(&out);
    let answers: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("answers.json")).unwrap()).unwrap();
    assert_eq!(answers.len(), 1);
    let a = &answers[0];
    assert_eq!(a["complete"], true, "{a}");
    assert_eq!(a["answer"]["images"], 1797, "{a}");
    // The model's accuracy on the whole set, as train.py printed it (0.9961).
    assert_eq!(a["answer"]["correct"], 1790, "{a}");
}
