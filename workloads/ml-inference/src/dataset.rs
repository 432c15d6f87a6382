//! The digits data set for `owbench bench` (native builds only): scikit-learn's 1797
//! images as `model/train.py` wrote them, split into partitions (their results are
//! merged by [`crate::reduce`]).

use std::path::Path;

/// Every image of the data set: a true label, then 64 pixels 0–16, a line each.
pub const DIGITS_CSV: &str = include_str!("../data/digits.csv");

/// File name of partition `i`.
pub fn partition_file(i: u32) -> String {
    format!("images-{i:03}.csv")
}

/// Write the data set into `dir` as `partitions` files of consecutive images.
pub fn write_partitions(dir: &Path, partitions: u32) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let lines: Vec<&str> = DIGITS_CSV.lines().collect();
    let p = partitions.max(1) as usize;
    for i in 0..p {
        let part = &lines[i * lines.len() / p..(i + 1) * lines.len() / p];
        let mut text = part.join("\n");
        text.push('\n');
        std::fs::write(dir.join(partition_file(i as u32)), text)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_hold_every_image_once() {
        let dir = std::env::temp_dir().join(format!("owbench-digits-{}", std::process::id()));
        write_partitions(&dir, 7).unwrap();
        let mut all = String::new();
        for i in 0..7 {
            all.push_str(&std::fs::read_to_string(dir.join(partition_file(i))).unwrap());
        }
        assert_eq!(all, DIGITS_CSV);
        assert_eq!(DIGITS_CSV.lines().count(), 1797);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
