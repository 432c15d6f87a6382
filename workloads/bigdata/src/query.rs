//! The three queries over one partition, streaming: rows are parsed as the bytes arrive,
//! so only query 3's partition of `rankings` (the build side of its hash join) is held
//! in memory. A malformed row is an error naming its table, line and byte offset.
//!
//! ```sql
//! -- 1 (scan)
//! SELECT pageURL, pageRank FROM rankings WHERE pageRank > :min_rank
//! -- 2 (aggregation)
//! SELECT SUBSTR(sourceIP, 1, :prefix), SUM(adRevenue) FROM uservisits
//!   GROUP BY SUBSTR(sourceIP, 1, :prefix)
//! -- 3 (join)
//! SELECT sourceIP, totalRevenue, avgPageRank FROM (
//!   SELECT sourceIP, AVG(pageRank) AS avgPageRank, SUM(adRevenue) AS totalRevenue
//!   FROM rankings AS R, uservisits AS UV
//!   WHERE R.pageURL = UV.destURL
//!     AND UV.visitDate BETWEEN Date('1980-01-01') AND Date(:end_date)
//!   GROUP BY UV.sourceIP)
//! ORDER BY totalRevenue DESC LIMIT 1
//! ```

use std::collections::HashMap;

use owbench_workload::{Error, Params, Value, json};

use crate::data::{Ranking, UserVisit};

/// One of the benchmark's queries, with its argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// 1: rankings with `pageRank > min_rank`.
    Scan {
        /// The threshold (1a: 1000, 1b: 100, 1c: 10).
        min_rank: i64,
    },
    /// 2: ad revenue summed by the first `prefix` characters of `sourceIP`.
    Aggregate {
        /// The prefix length (2a: 8, 2b: 10, 2c: 12).
        prefix: usize,
    },
    /// 3: the source IP with the most revenue from visits up to `end_date`.
    Join {
        /// Last visit date, `YYYY-MM-DD` (3a: 1980-04-01, 3b: 1983-01-01, 3c: 2010-01-01).
        end_date: String,
    },
}

/// First visit date of query 3.
pub const START_DATE: &str = "1980-01-01";

impl Query {
    /// The query `params` ask for.
    pub fn from_params(params: &Params) -> Result<Query, Error> {
        let has = |name| params.get(name).is_some_and(|v| !v.is_null());
        Ok(match params.u64_in("query", 1, 3)? {
            1 => Query::Scan {
                min_rank: if has("min_rank") {
                    params.u64_in("min_rank", 0, i64::MAX as u64)? as i64
                } else {
                    1000
                },
            },
            2 => Query::Aggregate {
                prefix: if has("prefix") {
                    params.u64_in("prefix", 1, 64)? as usize
                } else {
                    8
                },
            },
            _ => {
                let end_date = params.opt_str("end_date")?.unwrap_or("1980-04-01");
                if !crate::data::is_date(end_date) {
                    return Err(Error::InvalidParams(format!(
                        "`end_date` must be a date YYYY-MM-DD, got `{end_date}`"
                    )));
                }
                Query::Join {
                    end_date: end_date.to_owned(),
                }
            }
        })
    }

    /// Its number.
    pub fn number(&self) -> u64 {
        match self {
            Query::Scan { .. } => 1,
            Query::Aggregate { .. } => 2,
            Query::Join { .. } => 3,
        }
    }
}

/// Splits a byte stream into numbered lines.
#[derive(Debug, Default)]
struct Lines {
    pending: Vec<u8>,
    line: u64,
    offset: u64,
    bytes: u64,
}

impl Lines {
    /// Call `each` with every complete line in `chunk`.
    fn feed(
        &mut self,
        chunk: &[u8],
        each: &mut dyn FnMut(&str) -> Result<(), String>,
        table: &str,
    ) -> Result<(), Error> {
        self.bytes += chunk.len() as u64;
        let mut rest = chunk;
        if !self.pending.is_empty() {
            let Some(end) = memchr::memchr(b'\n', rest) else {
                self.pending.extend_from_slice(rest);
                return Ok(());
            };
            self.pending.extend_from_slice(&rest[..end]);
            rest = &rest[end + 1..];
            let mut line = std::mem::take(&mut self.pending);
            self.line(&line, each, table)?;
            line.clear();
            self.pending = line;
        }
        // Whole lines are read in place; only a line cut by the chunk's end is copied.
        while let Some(end) = memchr::memchr(b'\n', rest) {
            self.line(&rest[..end], each, table)?;
            rest = &rest[end + 1..];
        }
        self.pending.extend_from_slice(rest);
        Ok(())
    }

    /// The last line, if the stream did not end with a newline.
    fn end(
        &mut self,
        each: &mut dyn FnMut(&str) -> Result<(), String>,
        table: &str,
    ) -> Result<(), Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let line = std::mem::take(&mut self.pending);
        self.line(&line, each, table)
    }

    fn line(
        &mut self,
        raw: &[u8],
        each: &mut dyn FnMut(&str) -> Result<(), String>,
        table: &str,
    ) -> Result<(), Error> {
        self.line += 1;
        let (number, offset) = (self.line, self.offset);
        self.offset += raw.len() as u64 + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.is_empty() {
            return Ok(());
        }
        let text =
            std::str::from_utf8(raw).map_err(|_| bad_row(table, number, offset, "not UTF-8"))?;
        each(text).map_err(|why| bad_row(table, number, offset, &why))
    }
}

fn bad_row(table: &str, line: u64, offset: u64, why: &str) -> Error {
    Error::Failed(format!(
        "malformed {table} row at line {line} (byte offset {offset}): {why}"
    ))
}

/// One of the benchmark's two tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// `rankings (pageURL, pageRank, avgDuration)`.
    Rankings,
    /// `uservisits (sourceIP, destURL, visitDate, adRevenue, ...)`.
    Uservisits,
}

impl Table {
    /// Its name in SQL, errors and parameter names (`<name>_url`).
    pub fn name(self) -> &'static str {
        match self {
            Table::Rankings => "rankings",
            Table::Uservisits => "uservisits",
        }
    }
}

/// The state of one query over one partition.
pub struct Scan {
    query: Query,
    max_rankings: u64,
    rankings: Lines,
    uservisits: Lines,
    rows: u64,
    /// Query 1: matching (pageURL, pageRank).
    matches: Vec<(String, i64)>,
    /// Query 3: pageURL → pageRank of this partition.
    ranks: HashMap<String, i64>,
    /// Query 2: prefix → revenue.
    revenue: HashMap<String, f64>,
    /// Query 3: sourceIP → (revenue, sum of pageRank, visits).
    visitors: HashMap<String, (f64, i64, u64)>,
}

impl Scan {
    /// Start `query`; query 3 may hold at most `max_rankings` bytes of `rankings`.
    pub fn new(query: Query, max_rankings: u64) -> Scan {
        Scan {
            query,
            max_rankings,
            rankings: Lines::default(),
            uservisits: Lines::default(),
            rows: 0,
            matches: Vec::new(),
            ranks: HashMap::new(),
            revenue: HashMap::new(),
            visitors: HashMap::new(),
        }
    }

    /// Whether it reads `table`.
    pub fn needs(&self, table: Table) -> bool {
        match table {
            Table::Rankings => matches!(self.query, Query::Scan { .. } | Query::Join { .. }),
            Table::Uservisits => matches!(self.query, Query::Aggregate { .. } | Query::Join { .. }),
        }
    }

    /// Rows read so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.rankings.bytes + self.uservisits.bytes
    }

    /// More bytes of `table`'s partition (`None`: it ended, and a last line without a
    /// newline is still a row). Query 3 holds `rankings` in memory and refuses more of
    /// it than `max_rankings` bytes.
    pub fn feed(&mut self, table: Table, chunk: Option<&[u8]>) -> Result<(), Error> {
        let held = self.rankings.bytes + chunk.map_or(0, |c| c.len() as u64);
        if table == Table::Rankings
            && matches!(self.query, Query::Join { .. })
            && held > self.max_rankings
        {
            return Err(Error::Failed(format!(
                "the rankings partition is larger than max_rankings_mb ({} MB): query 3 holds it in memory; give the action more memory and raise max_rankings_mb",
                self.max_rankings >> 20
            )));
        }
        let slot = match table {
            Table::Rankings => &mut self.rankings,
            Table::Uservisits => &mut self.uservisits,
        };
        let mut lines = std::mem::take(slot);
        let mut each = |line: &str| match table {
            Table::Rankings => self.on_ranking(line),
            Table::Uservisits => self.on_visit(line),
        };
        let result = match chunk {
            Some(chunk) => lines.feed(chunk, &mut each, table.name()),
            None => lines.end(&mut each, table.name()),
        };
        match table {
            Table::Rankings => self.rankings = lines,
            Table::Uservisits => self.uservisits = lines,
        }
        result
    }

    fn on_ranking(&mut self, line: &str) -> Result<(), String> {
        let r = Ranking::parse(line)?;
        self.rows += 1;
        match &self.query {
            Query::Scan { min_rank } if r.page_rank > *min_rank => {
                self.matches.push((r.page_url.to_owned(), r.page_rank));
            }
            Query::Join { .. } => {
                self.ranks.insert(r.page_url.to_owned(), r.page_rank);
            }
            _ => {}
        }
        Ok(())
    }

    fn on_visit(&mut self, line: &str) -> Result<(), String> {
        let v = UserVisit::parse(line)?;
        self.rows += 1;
        match &self.query {
            Query::Aggregate { prefix } => {
                let key = v.source_ip.get(..*prefix).unwrap_or(v.source_ip);
                match self.revenue.get_mut(key) {
                    Some(sum) => *sum += v.ad_revenue,
                    None => {
                        self.revenue.insert(key.to_owned(), v.ad_revenue);
                    }
                }
            }
            Query::Join { end_date } => {
                let in_range = v.visit_date >= START_DATE && v.visit_date <= end_date.as_str();
                if let (true, Some(rank)) = (in_range, self.ranks.get(v.dest_url)) {
                    if !self.visitors.contains_key(v.source_ip) {
                        self.visitors
                            .insert(v.source_ip.to_owned(), Default::default());
                    }
                    let e = self.visitors.get_mut(v.source_ip).expect("inserted");
                    e.0 += v.ad_revenue;
                    e.1 += rank;
                    e.2 += 1;
                }
            }
            Query::Scan { .. } => {}
        }
        Ok(())
    }

    /// The partial result of this partition (what [`crate::reduce`] merges).
    pub fn finish(self) -> Value {
        match self.query {
            Query::Scan { min_rank } => json!({
                "query": 1, "min_rank": min_rank,
                "rows": self.matches.iter().map(|(u, r)| json!([u, r])).collect::<Vec<_>>(),
            }),
            Query::Aggregate { prefix } => json!({
                "query": 2, "prefix": prefix,
                "groups": sorted(self.revenue).map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
            }),
            Query::Join { end_date } => json!({
                "query": 3, "end_date": end_date,
                "groups": sorted(self.visitors)
                    .map(|(ip, (rev, rank, n))| json!([ip, rev, rank, n]))
                    .collect::<Vec<_>>(),
            }),
        }
    }
}

/// The entries of `map` in key order (partials are sorted; the reduction merges them).
fn sorted<V>(map: HashMap<String, V>) -> impl Iterator<Item = (String, V)> {
    let mut entries: Vec<_> = map.into_iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    entries.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    const VISITS: &str = "1.2.3.4,www.a.example/p1.html,1980-02-29,1.5,curl/8.5.0,USA,en-US,nova,9\n\
                          1.2.3.5,www.a.example/p2.html,1980-03-01,2.25,curl/8.5.0,USA,en-US,nova,9\n\
                          9.9.9.9,www.b.example/p1.html,1981-01-01,4,curl/8.5.0,USA,en-US,nova,9";

    fn aggregate(chunk: usize, text: &str) -> Result<Value, Error> {
        let mut scan = Scan::new(Query::Aggregate { prefix: 5 }, 1 << 20);
        for piece in text.as_bytes().chunks(chunk) {
            scan.feed(Table::Uservisits, Some(piece))?;
        }
        scan.feed(Table::Uservisits, None)?;
        Ok(scan.finish())
    }

    #[test]
    fn lines_cut_anywhere_by_chunks_give_the_same_answer() {
        let whole = aggregate(VISITS.len(), VISITS).unwrap();
        assert_eq!(
            whole["groups"],
            json!([["1.2.3", 3.75], ["9.9.9", 4.0]]),
            "{whole}"
        );
        for chunk in 1..12 {
            assert_eq!(
                aggregate(chunk, VISITS).unwrap(),
                whole,
                "chunks of {chunk}"
            );
        }
    }

    #[test]
    fn a_bad_row_is_named_by_line_and_offset_whatever_the_chunks() {
        let text = VISITS.replace("2.25", "two");
        let second = VISITS.find('\n').unwrap() + 1;
        for chunk in [1, 7, text.len()] {
            let e = aggregate(chunk, &text).unwrap_err().to_string();
            assert!(
                e.contains(&format!("uservisits row at line 2 (byte offset {second})"))
                    && e.contains("adRevenue `two`"),
                "{e}"
            );
        }
    }
}
