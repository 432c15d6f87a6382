//! The benchmark's two tables (AMPLab Big Data Benchmark schema) and a deterministic
//! generator for them.
//!
//! ```text
//! rankings   (pageURL VARCHAR(300), pageRank INT, avgDuration INT)
//! uservisits (sourceIP VARCHAR(116), destURL VARCHAR(100), visitDate DATE,
//!             adRevenue FLOAT, userAgent VARCHAR(256), countryCode CHAR(3),
//!             languageCode CHAR(6), searchWord VARCHAR(32), duration INT)
//! ```
//!
//! Rows are comma-separated lines, as the benchmark's text files are. Both tables are
//! partitioned by URL (`pageURL`, `destURL`) with the same hash, so the join of query 3
//! is complete within each partition. `adRevenue` values are multiples of 1/16, so their
//! sums are exact in any order and partial sums reduce to exactly what a database gets.

/// One `rankings` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranking<'a> {
    /// The page.
    pub page_url: &'a str,
    /// Its rank.
    pub page_rank: i64,
    /// Mean visit length.
    pub avg_duration: i64,
}

impl<'a> Ranking<'a> {
    /// Parse a line (3 fields).
    pub fn parse(line: &'a str) -> Result<Ranking<'a>, String> {
        let f = fields::<3>(line)?;
        Ok(Ranking {
            page_url: nonempty(f[0], "pageURL")?,
            page_rank: int(f[1], "pageRank")?,
            avg_duration: int(f[2], "avgDuration")?,
        })
    }
}

/// One `uservisits` row.
#[derive(Debug, Clone, PartialEq)]
pub struct UserVisit<'a> {
    /// Visitor's address.
    pub source_ip: &'a str,
    /// The page visited.
    pub dest_url: &'a str,
    /// `YYYY-MM-DD`.
    pub visit_date: &'a str,
    /// Revenue.
    pub ad_revenue: f64,
    /// Browser.
    pub user_agent: &'a str,
    /// Country.
    pub country_code: &'a str,
    /// Language.
    pub language_code: &'a str,
    /// Search word.
    pub search_word: &'a str,
    /// Visit length.
    pub duration: i64,
}

impl<'a> UserVisit<'a> {
    /// Parse a line (9 fields).
    pub fn parse(line: &'a str) -> Result<UserVisit<'a>, String> {
        let f = fields::<9>(line)?;
        if !is_date(f[2]) {
            return Err(format!("visitDate `{}` is not a date YYYY-MM-DD", f[2]));
        }
        let ad_revenue: f64 = f[3]
            .parse()
            .map_err(|_| format!("adRevenue `{}` is not a number", f[3]))?;
        Ok(UserVisit {
            source_ip: nonempty(f[0], "sourceIP")?,
            dest_url: nonempty(f[1], "destURL")?,
            visit_date: f[2],
            ad_revenue,
            user_agent: f[4],
            country_code: f[5],
            language_code: f[6],
            search_word: f[7],
            duration: int(f[8], "duration")?,
        })
    }
}

/// The `N` comma-separated fields of `line` (no allocation: this is the hot path).
fn fields<const N: usize>(line: &str) -> Result<[&str; N], String> {
    let mut out = [""; N];
    let mut commas = memchr::memchr_iter(b',', line.as_bytes());
    let mut start = 0;
    for (i, slot) in out.iter_mut().enumerate() {
        let end = match commas.next() {
            Some(end) => end,
            None if i + 1 == N => line.len(),
            None => return Err(format!("expected {N} fields, found {}", i + 1)),
        };
        // Commas are ASCII, so both ends are character boundaries.
        *slot = &line[start..end];
        start = end + 1;
    }
    if start <= line.len() {
        return Err(format!(
            "expected {N} fields, found {}",
            N + 1 + commas.count()
        ));
    }
    Ok(out)
}

fn nonempty<'a>(v: &'a str, name: &str) -> Result<&'a str, String> {
    if v.is_empty() {
        Err(format!("{name} is empty"))
    } else {
        Ok(v)
    }
}

fn int(v: &str, name: &str) -> Result<i64, String> {
    v.parse()
        .map_err(|_| format!("{name} `{v}` is not an integer"))
}

/// Whether `s` is a date `YYYY-MM-DD`.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && (1..=12).contains(&s[5..7].parse::<u32>().unwrap_or(0))
        && (1..=31).contains(&s[8..10].parse::<u32>().unwrap_or(0))
}

/// The partition of a URL among `partitions` (FNV-1a).
pub fn partition_of(url: &str, partitions: u32) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in url.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % u64::from(partitions.max(1))) as u32
}

/// Rows of `rankings` per unit of scale.
pub const RANKINGS_PER_SCALE: u64 = 10_000;
/// Rows of `uservisits` per unit of scale.
pub const USERVISITS_PER_SCALE: u64 = 100_000;

/// File name of partition `i` of `table`.
pub fn partition_file(table: &str, i: u32) -> String {
    format!("{table}-{i:03}.csv")
}

#[cfg(not(target_arch = "wasm32"))]
mod generate;
#[cfg(not(target_arch = "wasm32"))]
pub use generate::{Generated, generate};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_parse_and_bad_rows_say_why() {
        let r = Ranking::parse("www.a.example/p1.html,42,7").unwrap();
        assert_eq!((r.page_rank, r.avg_duration), (42, 7));
        assert!(
            Ranking::parse("x,1")
                .unwrap_err()
                .contains("expected 3 fields, found 2")
        );
        assert!(
            Ranking::parse("x,one,2")
                .unwrap_err()
                .contains("pageRank `one`")
        );
        let line = "1.2.3.4,www.a.example/p1.html,1980-02-29,12.5625,curl/8.5.0,USA,en-US,nova,9";
        let v = UserVisit::parse(line).unwrap();
        assert_eq!((v.ad_revenue, v.duration), (12.5625, 9));
        let bad = line.replace("1980-02-29", "1980-13-01");
        assert!(UserVisit::parse(&bad).unwrap_err().contains("visitDate"));
    }

    #[test]
    fn dates_and_partitions_check() {
        assert!(is_date("1980-04-01") && !is_date("1980-4-01") && !is_date("1980-00-10"));
        assert_eq!(partition_of("www.a.example/page1.html", 1), 0);
    }
}
