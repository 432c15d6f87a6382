use std::path::Path;

use bigdata::data::partition_file;
use owbench::objects::ObjectServer;
use serde_json::{Value, json};

use crate::helpers::{engine, failure, load_builtin};

/// Load the generated tables into SQLite with the benchmark's schema.
fn sqlite_of(dir: &Path, partitions: u32) -> rusqlite::Connection {
    let db = rusqlite::Connection::open_in_memory().unwrap();
    db.execute_batch(
        "CREATE TABLE rankings (pageURL VARCHAR(300), pageRank INT, avgDuration INT);
         CREATE TABLE uservisits (sourceIP VARCHAR(116), destURL VARCHAR(100), visitDate DATE,
           adRevenue FLOAT, userAgent VARCHAR(256), countryCode CHAR(3), languageCode CHAR(6),
           searchWord VARCHAR(32), duration INT);",
    )
    .unwrap();
    let tx = db.unchecked_transaction().unwrap();
    for i in 0..partitions {
        for (table, marks) in [("rankings", 3), ("uservisits", 9)] {
            let text = std::fs::read_to_string(dir.join(partition_file(table, i))).unwrap();
            let sql = format!(
                "INSERT INTO {table} VALUES ({})",
                vec!["?"; marks].join(", ")
            );
            let mut insert = tx.prepare_cached(&sql).unwrap();
            for line in text.lines() {
                let fields: Vec<&str> = line.split(',').collect();
                // SQLite's column affinity turns numeric text into INTEGER / REAL.
                insert
                    .execute(rusqlite::params_from_iter(fields.iter()))
                    .unwrap();
            }
        }
    }
    tx.commit().unwrap();
    db
}

/// The `[text, number]` rows of `sql` with its integer parameter `arg`.
fn pairs<T>(db: &rusqlite::Connection, sql: &str, arg: &Value) -> Vec<Value>
where
    T: rusqlite::types::FromSql + serde::Serialize,
{
    let mut stmt = db.prepare(sql).unwrap();
    stmt.query_map([arg.as_i64().unwrap()], |r| {
        Ok(json!([r.get::<_, String>(0)?, r.get::<_, T>(1)?]))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// The benchmark's SQL, its answer in the shape `bigdata::reduce::reduce` gives.
fn sqlite_answer(db: &rusqlite::Connection, query: u64, arg: &Value) -> Value {
    match query {
        1 => {
            let rows = pairs::<i64>(
                db,
                "SELECT pageURL, pageRank FROM rankings WHERE pageRank > ?1 ORDER BY pageURL",
                arg,
            );
            json!({"query": 1, "count": rows.len(), "rows": rows})
        }
        2 => {
            let groups = pairs::<f64>(
                db,
                "SELECT SUBSTR(sourceIP, 1, ?1), SUM(adRevenue) FROM uservisits
                 GROUP BY SUBSTR(sourceIP, 1, ?1) ORDER BY 1",
                arg,
            );
            json!({"query": 2, "groups": groups})
        }
        _ => db
            .query_row(
                "SELECT sourceIP, totalRevenue, avgPageRank FROM (
                   SELECT sourceIP, AVG(pageRank) AS avgPageRank, SUM(adRevenue) AS totalRevenue
                   FROM rankings AS R, uservisits AS UV
                   WHERE R.pageURL = UV.destURL
                     AND UV.visitDate BETWEEN Date('1980-01-01') AND Date(?1)
                   GROUP BY UV.sourceIP)
                 ORDER BY totalRevenue DESC, sourceIP LIMIT 1",
                [arg.as_str().unwrap()],
                |r| {
                    Ok(json!({
                        "query": 3,
                        "sourceIP": r.get::<_, String>(0)?,
                        "totalRevenue": r.get::<_, f64>(1)?,
                        "avgPageRank": r.get::<_, f64>(2)?,
                    }))
                },
            )
            .unwrap(),
    }
}

#[cfg(feature = "native")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bigdata_answers_equal_sqlite_running_the_benchmark_sql() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let partitions = 4;
    let g = bigdata::data::generate(&data, 0.2, partitions, 7).unwrap();
    assert_eq!((g.rankings, g.uservisits), (2000, 20_000));
    let db = sqlite_of(&data, partitions);
    let server = ObjectServer::start_with_files(Some(data.clone()))
        .await
        .unwrap();
    let engine = engine();
    let plugin = load_builtin(&engine, "bigdata").await;
    let cases = [
        (1, "min_rank", json!(1000)),
        (1, "min_rank", json!(10)),
        (2, "prefix", json!(8)),
        (2, "prefix", json!(12)),
        (3, "end_date", json!("1980-04-01")),
        (3, "end_date", json!("2010-01-01")),
    ];
    for (query, name, arg) in cases {
        let mut partials = Vec::new();
        for i in 0..partitions {
            let mut params = json!({
                "query": query,
                "rankings_url": server.file_url(&partition_file("rankings", i)),
                "uservisits_url": server.file_url(&partition_file("uservisits", i)),
            });
            params[name] = arg.clone();
            let outcome = plugin
                .call(&engine, &params.to_string(), plugin.default_limits())
                .await;
            let text = outcome
                .result
                .unwrap_or_else(|e| panic!("query {query} partition {i}: {e}"));
            let partial: Value = serde_json::from_str(&text).unwrap();
            // The native build of the same kernel agrees, partition by partition.
            let native = crate::helpers::native_result("bigdata", params.to_string()).await;
            for key in ["rows", "groups"] {
                assert_eq!(partial[key], native[key], "query {query} partition {i}");
            }
            partials.push(partial);
        }
        let answer = bigdata::reduce::reduce(&partials).unwrap();
        let expected = sqlite_answer(&db, query, &arg);
        assert_eq!(answer, expected, "query {query} with {name} = {arg}");
        if query == 1 {
            assert!(answer["count"].as_u64().unwrap() > 0);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bigdata_names_the_malformed_row_and_refuses_an_oversized_partition() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    bigdata::data::generate(&data, 0.05, 1, 3).unwrap();
    let visits = data.join(partition_file("uservisits", 0));
    let mut text = std::fs::read_to_string(&visits).unwrap();
    let second_line = text.find('\n').unwrap() + 1;
    text.insert_str(second_line, "1.2.3.4,oops\n");
    std::fs::write(data.join("broken.csv"), &text).unwrap();
    // A partition of rankings over 1 MB: more than query 3 may hold with max_rankings_mb = 1.
    let big: String = (0..50_000)
        .map(|i| format!("www.x.example/page{i}.html,5,5\n"))
        .collect();
    std::fs::write(data.join("big-rankings.csv"), big).unwrap();
    let server = ObjectServer::start_with_files(Some(data.clone()))
        .await
        .unwrap();
    let engine = engine();
    let plugin = load_builtin(&engine, "bigdata").await;
    let e = failure(
        &engine,
        &plugin,
        json!({"query": 2, "uservisits_url": server.file_url("broken.csv")}),
    )
    .await;
    assert!(e.is_application_error(), "{e}");
    assert!(
        e.to_string().contains(&format!(
            "malformed uservisits row at line 2 (byte offset {second_line}): expected 9 fields, found 2"
        )),
        "{e}"
    );
    let e = failure(
        &engine,
        &plugin,
        json!({
            "query": 3, "max_rankings_mb": 1,
            "rankings_url": server.file_url("big-rankings.csv"),
            "uservisits_url": server.file_url("broken.csv"),
        }),
    )
    .await;
    assert!(e.is_application_error(), "{e}");
    assert!(
        e.to_string().contains("larger than max_rankings_mb (1 MB)"),
        "{e}"
    );
    let e = failure(&engine, &plugin, json!({"query": 4})).await;
    assert!(
        e.to_string().contains("`query` must be between 1 and 3"),
        "{e}"
    );
}

#[test]
fn the_bigdata_spec_reduces_every_partition_into_the_sqlite_answer() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let out = tmp.path().join("out");
    let spec = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../workloads/bigdata/bench.toml"
    );
    let o = crate::bench::with_data(Path::new(spec), &out, &data_dir, &["--runs", "1"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = crate::bench::results(&out);
    let answers: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("answers.json")).unwrap()).unwrap();
    assert_eq!(answers.len(), 3);
    let db = sqlite_of(&data_dir.join("bigdata-s1-p16-seed1"), 16);
    for (a, (query, arg)) in
        answers
            .iter()
            .zip([(1, json!(1000)), (2, json!(8)), (3, json!("1980-04-01"))])
    {
        assert_eq!(a["complete"], true, "{a}");
        assert_eq!(
            a["answer"],
            sqlite_answer(&db, query, &arg),
            "query {query}"
        );
    }
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    for w in summary["workloads"].as_array().unwrap() {
        assert_eq!(w["outcomes"]["ok"], 16, "{}", w["meta"]);
    }
}

#[test]
fn a_partition_parameter_needs_a_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = crate::bench::write_spec(
        tmp.path(),
        "name = \"x\"\ncount = 1\n[target]\nkind = \"embedded\"\n[load]\nmodel = \"closed\"\nconcurrency = 1\n\
         [[workload]]\nname = \"bigdata\"\nparams = { query = 2, uservisits_url = \"{{ partition uservisits }}\" }\n",
    );
    let o = crate::cli::owbench(&["bench", spec.to_str().unwrap(), "--quiet"]);
    crate::cli::assert_one_line_error(
        &o,
        "reads a partition but the workload has no [workload.dataset]",
    );
}
