//! The classifier: an ONNX model optimized and run by `tract`.

use std::sync::{Arc, OnceLock};

use owbench_workload::Error;
use tract_onnx::prelude::*;

use crate::batch::PIXELS;

/// The built-in model (`model/digits.onnx`, made by `model/train.py`).
pub const DIGITS_ONNX: &[u8] = include_bytes!("../model/digits.onnx");
/// Classes the model scores.
pub const CLASSES: usize = 10;

/// A loaded, optimized model of input `[N, 1, 8, 8]` and output `[N, 10]`.
pub struct Classifier {
    plan: TypedRunnableModel<TypedModel>,
}

impl Classifier {
    /// Parse, type and optimize ONNX `bytes`.
    pub fn load(bytes: &[u8]) -> TractResult<Classifier> {
        let plan = tract_onnx::onnx()
            .model_for_read(&mut std::io::Cursor::new(bytes))?
            .into_optimized()?
            .into_runnable()?;
        Ok(Classifier { plan })
    }

    /// The built-in model, loaded once per instance (a warm instance reuses it).
    pub fn builtin() -> Result<Arc<Classifier>, Error> {
        static BUILTIN: OnceLock<Result<Arc<Classifier>, String>> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                Classifier::load(DIGITS_ONNX)
                    .map(Arc::new)
                    .map_err(|e| format!("{e:#}"))
            })
            .clone()
            .map_err(|e| Error::Failed(format!("the built-in model does not load: {e}")))
    }

    /// The softmax scores of `n` images (`pixels`: `n * 64` values in 0–1).
    pub fn classify(&self, pixels: &[f32], n: usize) -> Result<Vec<Vec<f32>>, Error> {
        let failed = |e: TractError| Error::Failed(format!("the model failed: {e:#}"));
        let input = Tensor::from_shape(&[n, 1, 8, 8], &pixels[..n * PIXELS]).map_err(failed)?;
        let outputs = self.plan.run(tvec!(input.into())).map_err(failed)?;
        let scores = outputs[0].to_array_view::<f32>().map_err(failed)?;
        if scores.shape() != [n, CLASSES] {
            return Err(Error::Failed(format!(
                "the model's output has shape {:?}, expected [{n}, {CLASSES}]",
                scores.shape()
            )));
        }
        Ok(scores
            .outer_iter()
            .map(|row| row.iter().copied().collect())
            .collect())
    }
}

/// The index of the highest score (the first among equals).
pub fn top1(scores: &[f32]) -> usize {
    let mut best = 0;
    for (i, s) in scores.iter().enumerate() {
        if *s > scores[best] {
            best = i;
        }
    }
    best
}
