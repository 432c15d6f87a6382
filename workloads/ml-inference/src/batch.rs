//! A batch of 8×8 images from JSON or CSV, checked value by value.

use owbench_workload::{Error, Value};

/// Pixels per image.
pub const PIXELS: usize = 64;
/// The largest pixel value (scikit-learn's digits are 0–16).
pub const MAX_PIXEL: f32 = 16.0;

/// Images ready for the model: pixels scaled to 0–1, image after image.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// `len() * 64` values in 0–1.
    pub pixels: Vec<f32>,
    /// The true labels, when the input has them.
    pub labels: Option<Vec<usize>>,
}

impl Batch {
    /// Images in the batch.
    pub fn len(&self) -> usize {
        self.pixels.len() / PIXELS
    }

    /// Whether it has no image.
    pub fn is_empty(&self) -> bool {
        self.pixels.is_empty()
    }

    /// `images`: an array of images, each an array of 64 numbers 0–16.
    pub fn from_json(images: &Value) -> Result<Batch, Error> {
        let bad = |why: String| Error::InvalidParams(format!("`images`: {why}"));
        let images = images
            .as_array()
            .ok_or_else(|| bad("expected an array of images".into()))?;
        let mut pixels = Vec::with_capacity(images.len() * PIXELS);
        for (i, image) in images.iter().enumerate() {
            let values = image
                .as_array()
                .filter(|v| v.len() == PIXELS)
                .ok_or_else(|| bad(format!("image {i} is not an array of {PIXELS} numbers")))?;
            for (j, v) in values.iter().enumerate() {
                let p = v
                    .as_f64()
                    .ok_or_else(|| bad(format!("image {i} pixel {j} is not a number")))?;
                pixels.push(pixel(p).map_err(|why| bad(format!("image {i} pixel {j} {why}")))?);
            }
        }
        non_empty(Batch {
            pixels,
            labels: None,
        })
    }

    /// CSV lines of 64 pixels 0–16, each optionally after a true label 0–9; every line
    /// has a label or none does. A bad line is named by number and byte offset.
    pub fn from_csv(bytes: &[u8]) -> Result<Batch, Error> {
        let mut pixels = Vec::new();
        let mut labels = Vec::new();
        let mut with_labels = None;
        let mut offset = 0;
        for (n, raw) in bytes.split(|b| *b == b'\n').enumerate() {
            let at = offset;
            offset += raw.len() + 1;
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            if raw.is_empty() {
                continue;
            }
            let bad = |why: String| {
                Error::Failed(format!(
                    "malformed images row at line {} (byte offset {at}): {why}",
                    n + 1
                ))
            };
            let text = std::str::from_utf8(raw).map_err(|_| bad("not UTF-8".into()))?;
            let fields: Vec<&str> = text.split(',').collect();
            let labelled = match (fields.len(), with_labels) {
                (PIXELS, None | Some(false)) => false,
                (65, None | Some(true)) => true,
                (found, Some(labelled)) => {
                    let expected = if labelled { 65 } else { PIXELS };
                    return Err(bad(format!(
                        "expected {expected} fields like the rows before it, found {found}"
                    )));
                }
                (found, None) => {
                    return Err(bad(format!("expected 64 or 65 fields, found {found}")));
                }
            };
            with_labels = Some(labelled);
            let values = if labelled {
                let label: usize = fields[0]
                    .trim()
                    .parse()
                    .ok()
                    .filter(|l| *l < 10)
                    .ok_or_else(|| bad(format!("label `{}` is not 0-9", fields[0])))?;
                labels.push(label);
                &fields[1..]
            } else {
                &fields[..]
            };
            for (j, v) in values.iter().enumerate() {
                let p: f64 = v
                    .trim()
                    .parse()
                    .map_err(|_| bad(format!("pixel {j} `{v}` is not a number")))?;
                pixels.push(pixel(p).map_err(|why| bad(format!("pixel {j} {why}")))?);
            }
        }
        non_empty(Batch {
            pixels,
            labels: (with_labels == Some(true)).then_some(labels),
        })
    }
}

fn pixel(p: f64) -> Result<f32, String> {
    if (0.0..=f64::from(MAX_PIXEL)).contains(&p) {
        Ok(p as f32 / MAX_PIXEL)
    } else {
        Err(format!("value {p} is outside 0-16"))
    }
}

fn non_empty(batch: Batch) -> Result<Batch, Error> {
    if batch.is_empty() {
        return Err(Error::InvalidParams("the batch has no image".into()));
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use owbench_workload::json;

    #[test]
    fn csv_and_json_give_the_same_pixels() {
        let row: Vec<String> = (0..64).map(|i| (i % 17).to_string()).collect();
        let csv = format!("3,{}\n7,{}\n", row.join(","), row.join(","));
        let b = Batch::from_csv(csv.as_bytes()).unwrap();
        assert_eq!((b.len(), b.labels.clone()), (2, Some(vec![3, 7])));
        let image: Vec<u64> = (0..64).map(|i| i % 17).collect();
        let j = Batch::from_json(&json!([image, image])).unwrap();
        assert_eq!(j.pixels, b.pixels);
        assert_eq!(b.pixels[16], 16.0 / 16.0);
    }

    #[test]
    fn bad_rows_are_named_by_line_and_offset() {
        let row: Vec<String> = (0..64).map(|_| "1".into()).collect();
        let good = format!("1,{}\n", row.join(","));
        let text = format!("{good}2,{}\n", row[..63].join(","));
        let e = Batch::from_csv(text.as_bytes()).unwrap_err().to_string();
        assert!(
            e.contains(&format!("line 2 (byte offset {})", good.len()))
                && e.contains("expected 65 fields like the rows before it, found 64"),
            "{e}"
        );
        let text = format!("{good}1,{},99\n", row[..63].join(","));
        let e = Batch::from_csv(text.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("pixel 63 value 99 is outside 0-16"), "{e}");
        let e = Batch::from_json(&json!([[1, 2]])).unwrap_err().to_string();
        assert!(e.contains("image 0 is not an array of 64 numbers"), "{e}");
    }
}
