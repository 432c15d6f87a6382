//! `ml-inference`: image classification inside the component with `tract`.
//!
//! The built-in model is a small convolutional network trained on scikit-learn's 8×8
//! handwritten digits (`model/train.py`, exported to ONNX as `model/digits.onnx`); a
//! call may name another ONNX model of the same input and output shape by URL.
//!
//! Parameters: the batch, either `images` (an array of images, each 64 pixel values
//! 0–16, row by row) or `images_url` (CSV lines: an optional true label, then the 64
//! pixels, as `data/digits.csv`); `model_url` (optional); `max_input_mb` (the most bytes
//! read from a URL, default 64); `timeout_ms`. The result: `labels`, `scores` (the
//! softmax of each image, 10 values), `images`, `images_per_s`, and with true labels
//! `correct`.

#[cfg(feature = "kernel")]
pub mod batch;
#[cfg(not(target_arch = "wasm32"))]
pub mod dataset;
#[cfg(feature = "kernel")]
pub mod model;
pub mod reduce;

#[cfg(feature = "kernel")]
use std::time::Instant;

#[cfg(feature = "kernel")]
use owbench_workload::http::get_bytes;
#[cfg(feature = "kernel")]
use owbench_workload::{Category, Ctx, Error, Info, Params, Value, Workload, json};

/// The workload type exported as a component.
#[cfg(feature = "kernel")]
pub struct MlInference;

#[cfg(feature = "kernel")]
impl Workload for MlInference {
    fn info() -> Info {
        Info {
            name: "ml-inference",
            version: env!("CARGO_PKG_VERSION"),
            category: Category::Ml,
            description: "classifies a batch of 8x8 digit images with a CNN run by tract (ONNX)",
            default_params: json!({ "timeout_ms": 120000, "max_input_mb": 64 }),
        }
    }

    fn reduce(partials: &[Value]) -> Result<Value, Error> {
        reduce::reduce(partials).map_err(Error::Failed)
    }

    fn run(params: &Params, ctx: &mut dyn Ctx) -> Result<Value, Error> {
        let timeout_ms = params.u64_in("timeout_ms", 1, 3_600_000)?;
        let max_input_mb = params.u64_in("max_input_mb", 1, 4096)?;
        let batch = match (params.get("images"), params.opt_str("images_url")?) {
            (Some(images), None) => batch::Batch::from_json(images)?,
            (None, Some(url)) => {
                let bytes = get_bytes(url, "images_url", "max_input_mb", max_input_mb, timeout_ms)?;
                batch::Batch::from_csv(&bytes)?
            }
            _ => {
                return Err(Error::InvalidParams(
                    "give exactly one of `images` and `images_url`".into(),
                ));
            }
        };
        let loaded = Instant::now();
        let classifier = match params.opt_str("model_url")? {
            Some(url) => {
                let bytes = get_bytes(url, "model_url", "max_input_mb", max_input_mb, timeout_ms)?;
                std::sync::Arc::new(model::Classifier::load(&bytes).map_err(|e| {
                    Error::Failed(format!("model_url {url} is not a usable model: {e}"))
                })?)
            }
            None => model::Classifier::builtin()?,
        };
        ctx.metric("model_load_ms", loaded.elapsed().as_secs_f64() * 1e3, "ms");
        let started = Instant::now();
        let scores = classifier.classify(&batch.pixels, batch.len())?;
        let seconds = started.elapsed().as_secs_f64();
        let images_per_s = batch.len() as f64 / seconds.max(1e-9);
        ctx.metric("images_per_s", images_per_s, "images/s");
        let labels: Vec<usize> = scores.iter().map(|s| model::top1(s)).collect();
        let mut out = json!({
            "images": batch.len(),
            "labels": labels,
            "scores": scores,
            "seconds": seconds,
            "images_per_s": images_per_s,
        });
        if let Some(truth) = &batch.labels {
            let correct = labels.iter().zip(truth).filter(|(a, b)| a == b).count();
            out["correct"] = json!(correct);
        }
        Ok(out)
    }
}

#[cfg(feature = "kernel")]
owbench_workload::export_workload!(MlInference);
