//! Reading `rows.jsonl` back, tolerating what a killed run or a damaged file leaves: a
//! torn last line or lines that do not parse are skipped and counted, never fatal.

use std::io::BufRead;
use std::path::Path;

use anyhow::Context as _;

use crate::load::{Row, StatsByRun};

/// What reading a rows file found besides rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Damage {
    /// Rows read.
    pub rows: u64,
    /// Lines skipped because they do not parse.
    pub damaged: u64,
    /// The first skipped line: its number (1-based) and why.
    pub first: Option<(u64, String)>,
}

impl Damage {
    /// One line for people, if anything was skipped.
    pub fn describe(&self, path: &Path) -> Option<String> {
        let (line, why) = self.first.as_ref()?;
        Some(format!(
            "{}: {} damaged line(s) skipped, the first at line {line} ({why})",
            path.display(),
            self.damaged
        ))
    }
}

/// Call `each` with every readable row of `path`, in file order.
pub fn read(path: &Path, mut each: impl FnMut(Row)) -> anyhow::Result<Damage> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let mut damage = Damage::default();
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            return Ok(damage);
        }
        number += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Row>(&line) {
            Ok(row) => {
                damage.rows += 1;
                each(row);
            }
            Err(e) => {
                damage.damaged += 1;
                if damage.first.is_none() {
                    let why = if line.last() != Some(&b'\n') {
                        "torn last line".to_owned()
                    } else {
                        e.to_string()
                    };
                    damage.first = Some((number, why));
                }
            }
        }
    }
}

/// The figures per (repetition, workload) of a rows file.
pub fn fold(path: &Path) -> anyhow::Result<(StatsByRun, Damage)> {
    let mut stats = StatsByRun::new();
    let damage = read(path, |row| {
        stats
            .entry((row.run, row.workload.clone()))
            .or_default()
            .add(&row)
    })?;
    Ok((stats, damage))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROW: &str = r#"{"run":0,"workload":"w","seq":0,"warmup":false,"intended_us":0,"sent_us":1,"done_us":90,"latency_us":90,"service_us":89,"lag_us":1,"outcome":"ok","status":200}"#;

    #[test]
    fn damaged_and_torn_lines_are_skipped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.jsonl");
        std::fs::write(&path, format!("{ROW}\nnot json\n{ROW}\n\n{}", &ROW[..40])).unwrap();
        let (stats, damage) = fold(&path).unwrap();
        assert_eq!((damage.rows, damage.damaged), (2, 2));
        assert_eq!(damage.first.as_ref().unwrap().0, 2);
        assert_eq!(stats[&(0, "w".to_owned())].measured(), 2);
        assert!(
            damage
                .describe(&path)
                .unwrap()
                .contains("2 damaged line(s)")
        );
        std::fs::write(&path, format!("{ROW}\n{}", &ROW[..40])).unwrap();
        let (_, damage) = fold(&path).unwrap();
        assert_eq!(damage.first.unwrap().1, "torn last line");
        assert!(fold(&dir.path().join("missing")).is_err());
    }
}
