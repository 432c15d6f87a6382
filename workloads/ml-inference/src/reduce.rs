//! Merging the partial results of every partition of the digits data set into the
//! accuracy over the whole set: the component's `reduce` export.

use owbench_workload::{Value, json};

/// The partial results of every partition → images, correct top-1 labels, accuracy.
pub fn reduce(partials: &[Value]) -> Result<Value, String> {
    let (mut images, mut correct) = (0u64, 0u64);
    for (i, p) in partials.iter().enumerate() {
        images += p["images"]
            .as_u64()
            .ok_or_else(|| format!("partial {i} has no `images` count"))?;
        correct += p["correct"]
            .as_u64()
            .ok_or_else(|| format!("partial {i} has no `correct` count (input without labels?)"))?;
    }
    Ok(json!({
        "images": images,
        "correct": correct,
        "accuracy": correct as f64 / images.max(1) as f64,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_is_over_every_image() {
        let r = reduce(&[
            json!({"images": 3, "correct": 2}),
            json!({"images": 1, "correct": 1}),
        ]);
        assert_eq!(r.unwrap()["accuracy"], 0.75);
        assert!(
            reduce(&[json!({"images": 3})])
                .unwrap_err()
                .contains("no `correct`")
        );
    }
}
