//! The deterministic generator of the two tables (native builds only: the host writes
//! data sets, components only read them).

use super::{RANKINGS_PER_SCALE, USERVISITS_PER_SCALE, partition_file, partition_of};

/// SplitMix64: a tiny generator whose sequence never changes (a data set is reproduced
/// exactly from its scale and seed by any owbench version).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const WORDS: [&str; 24] = [
    "alpha", "bravo", "cloud", "delta", "echo", "fox", "gamma", "harbor", "iris", "jolt", "kilo",
    "lumen", "metro", "nova", "orbit", "pixel", "quartz", "river", "solar", "tango", "ultra",
    "vivid", "whale", "zenith",
];
const AGENTS: [&str; 6] = [
    "Mozilla/5.0 (X11; Linux x86_64)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0)",
    "Opera/9.80 (Windows NT 6.1)",
    "curl/8.5.0",
    "Googlebot/2.1",
];
const COUNTRIES: [&str; 8] = ["USA", "DEU", "FRA", "JPN", "BRA", "IND", "GBR", "CAN"];
const LANGUAGES: [&str; 8] = [
    "en-US", "de-DE", "fr-FR", "ja-JP", "pt-BR", "hi-IN", "en-GB", "fr-CA",
];

/// Days since 1970-01-01 → `YYYY-MM-DD` (proleptic Gregorian).
fn date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The page URL of ranking `i`.
fn page_url(rng: &mut SplitMix, i: u64) -> String {
    let a = WORDS[rng.below(WORDS.len() as u64) as usize];
    let b = WORDS[rng.below(WORDS.len() as u64) as usize];
    format!("www.{a}{b}.example/page{i}.html")
}

/// A generated data set, written as `rankings-NNN.csv` and `uservisits-NNN.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// Rows of `rankings`.
    pub rankings: u64,
    /// Rows of `uservisits`.
    pub uservisits: u64,
    /// Partitions of each table.
    pub partitions: u32,
}

/// Write the data set of `scale` (rows: 10,000 × scale rankings, 100,000 × scale
/// visits) in `partitions` partitions per table into `dir`, from `seed`.
pub fn generate(
    dir: &std::path::Path,
    scale: f64,
    partitions: u32,
    seed: u64,
) -> std::io::Result<Generated> {
    use std::io::Write;

    let partitions = partitions.max(1);
    let n_rankings = ((RANKINGS_PER_SCALE as f64 * scale).round() as u64).max(1);
    let n_visits = ((USERVISITS_PER_SCALE as f64 * scale).round() as u64).max(1);
    std::fs::create_dir_all(dir)?;
    let open = |table: &str| -> std::io::Result<Vec<std::io::BufWriter<std::fs::File>>> {
        (0..partitions)
            .map(|i| {
                std::fs::File::create(dir.join(partition_file(table, i)))
                    .map(|f| std::io::BufWriter::with_capacity(1 << 16, f))
            })
            .collect()
    };
    let mut rng = SplitMix(seed);
    let urls: Vec<String> = (0..n_rankings).map(|i| page_url(&mut rng, i)).collect();
    let mut out = open("rankings")?;
    for url in &urls {
        // pageRank log-uniform in 1..10000: a quarter above 1000, half above 100.
        let rank = (10f64.powf(4.0 * rng.unit())) as i64;
        let duration = 1 + rng.below(100);
        writeln!(
            out[partition_of(url, partitions) as usize],
            "{url},{rank},{duration}"
        )?;
    }
    for f in &mut out {
        f.flush()?;
    }
    // Visitors come from a pool a tenth the size of the visits, so addresses repeat.
    let pool: Vec<String> = (0..(n_visits / 10).max(1))
        .map(|_| {
            format!(
                "{}.{}.{}.{}",
                1 + rng.below(223),
                rng.below(256),
                rng.below(256),
                1 + rng.below(254)
            )
        })
        .collect();
    let mut out = open("uservisits")?;
    let days_1970_2010 = 40 * 365 + 10;
    for _ in 0..n_visits {
        let ip = &pool[rng.below(pool.len() as u64) as usize];
        let url = &urls[rng.below(urls.len() as u64) as usize];
        let day = date(rng.below(days_1970_2010) as i64);
        let revenue = rng.below(16 * 1000) as f64 / 16.0;
        writeln!(
            out[partition_of(url, partitions) as usize],
            "{ip},{url},{day},{revenue},{},{},{},{},{}",
            AGENTS[rng.below(AGENTS.len() as u64) as usize],
            COUNTRIES[rng.below(COUNTRIES.len() as u64) as usize],
            LANGUAGES[rng.below(LANGUAGES.len() as u64) as usize],
            WORDS[rng.below(WORDS.len() as u64) as usize],
            1 + rng.below(100)
        )?;
    }
    for f in &mut out {
        f.flush()?;
    }
    Ok(Generated {
        rankings: n_rankings,
        uservisits: n_visits,
        partitions,
    })
}

#[cfg(test)]
mod tests {
    use super::super::UserVisit;
    use super::*;

    #[test]
    fn dates_and_the_sequence_are_stable() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(3712), "1980-03-01");
        assert_eq!(date(14_610), "2010-01-01");
        let mut a = SplitMix(7);
        let mut b = SplitMix(7);
        assert_eq!(a.next(), b.next());
    }

    #[test]
    fn generation_is_deterministic_and_co_partitioned() {
        let dir = std::env::temp_dir().join(format!("owbench-bigdata-{}", std::process::id()));
        let g = generate(&dir, 0.05, 3, 1).unwrap();
        assert_eq!((g.rankings, g.uservisits), (500, 5000));
        let first = std::fs::read_to_string(dir.join(partition_file("uservisits", 1))).unwrap();
        generate(&dir, 0.05, 3, 1).unwrap();
        let again = std::fs::read_to_string(dir.join(partition_file("uservisits", 1))).unwrap();
        assert_eq!(first, again);
        for line in first.lines() {
            let v = UserVisit::parse(line).unwrap();
            assert_eq!(partition_of(v.dest_url, 3), 1);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
