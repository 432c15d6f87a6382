//! `bigdata`: the AMPLab Big Data Benchmark's queries 1 (scan), 2 (aggregation) and
//! 3 (join) over one partition of `rankings` and `uservisits` fetched over HTTP.
//!
//! One invocation processes one partition and returns a partial result; the host
//! reduces the partials of every partition ([`reduce`]) into the query's answer. The
//! tables are generated deterministically ([`data`]) and co-partitioned by URL, so the
//! join of query 3 is complete within a partition.
//!
//! Parameters: `query` (1, 2 or 3), its argument (`min_rank` for 1, default 1000;
//! `prefix` for 2, default 8; `end_date` for 3, default `1980-04-01`), `rankings_url`
//! (queries 1 and 3), `uservisits_url` (queries 2 and 3), `max_rankings_mb` (query 3
//! keeps its partition of `rankings` in memory; default 64) and `timeout_ms`.

pub mod data;
#[cfg(feature = "kernel")]
pub mod query;
pub mod reduce;

#[cfg(feature = "kernel")]
use std::time::Instant;

#[cfg(feature = "kernel")]
use owbench_workload::{Category, Ctx, Error, Info, Params, Value, Workload, json};

#[cfg(feature = "kernel")]
use query::{Query, Scan, Table};

/// The workload type exported as a component.
#[cfg(feature = "kernel")]
pub struct Bigdata;

#[cfg(feature = "kernel")]
impl Workload for Bigdata {
    fn info() -> Info {
        Info {
            name: "bigdata",
            version: env!("CARGO_PKG_VERSION"),
            category: Category::Bigdata,
            description: "AMPLab Big Data Benchmark query 1, 2 or 3 over one partition fetched over HTTP",
            default_params: json!({ "query": 2, "timeout_ms": 120000, "max_rankings_mb": 64 }),
        }
    }

    fn reduce(partials: &[Value]) -> Result<Value, Error> {
        reduce::reduce(partials).map_err(Error::Failed)
    }

    fn run(params: &Params, ctx: &mut dyn Ctx) -> Result<Value, Error> {
        let query = Query::from_params(params)?;
        let timeout_ms = params.u64_in("timeout_ms", 1, 3_600_000)?;
        let max_rankings = params.u64_in("max_rankings_mb", 1, 4096)? << 20;
        let started = Instant::now();
        let mut scan = Scan::new(query, max_rankings);
        for table in [Table::Rankings, Table::Uservisits] {
            if scan.needs(table) {
                let url = params.str(&format!("{}_url", table.name()))?;
                owbench_workload::http::get_ok(url, timeout_ms, &mut |chunk| {
                    scan.feed(table, Some(chunk))
                })?;
                scan.feed(table, None)?;
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let (rows, bytes) = (scan.rows(), scan.bytes());
        ctx.metric("rows_per_s", rows as f64 / seconds.max(1e-9), "rows/s");
        ctx.metric("scan_mbps", bytes as f64 / 1e6 / seconds.max(1e-9), "MB/s");
        let mut out = scan.finish();
        if let Value::Object(map) = &mut out {
            map.insert("rows_scanned".into(), json!(rows));
            map.insert("bytes".into(), json!(bytes));
            map.insert("seconds".into(), json!(seconds));
        }
        Ok(out)
    }
}

#[cfg(feature = "kernel")]
owbench_workload::export_workload!(Bigdata);
