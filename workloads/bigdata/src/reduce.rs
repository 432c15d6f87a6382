//! Reducing the partial results of every partition into the query's answer, as the host
//! does after a run (and as the cross-check compares with a database).

use std::collections::BTreeMap;

use owbench_workload::{Value, json};

/// The answer of a query from the partials of all its partitions.
///
/// - 1: `{"query": 1, "count", "rows": [[pageURL, pageRank], ...]}` sorted by URL;
/// - 2: `{"query": 2, "groups": [[prefix, revenue], ...]}` sorted by prefix;
/// - 3: `{"query": 3, "sourceIP", "totalRevenue", "avgPageRank"}` (ties of revenue go
///   to the smallest address).
pub fn reduce(partials: &[Value]) -> Result<Value, String> {
    let query = partials
        .first()
        .and_then(|p| p["query"].as_u64())
        .ok_or("no partial results to reduce")?;
    if let Some(other) = partials.iter().find(|p| p["query"].as_u64() != Some(query)) {
        return Err(format!(
            "partials of different queries: {query} and {}",
            other["query"]
        ));
    }
    let rows = |p: &Value, key: &str| -> Result<Vec<Value>, String> {
        p[key]
            .as_array()
            .cloned()
            .ok_or_else(|| format!("a partial of query {query} has no `{key}` array"))
    };
    let text = |v: &Value| -> Result<String, String> {
        v.as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("expected a string, got {v}"))
    };
    let num = |v: &Value| {
        v.as_f64()
            .ok_or_else(|| format!("expected a number, got {v}"))
    };
    match query {
        1 => {
            let mut all = Vec::new();
            for p in partials {
                for r in rows(p, "rows")? {
                    all.push((text(&r[0])?, num(&r[1])? as i64));
                }
            }
            all.sort();
            Ok(json!({
                "query": 1, "count": all.len(),
                "rows": all.iter().map(|(u, r)| json!([u, r])).collect::<Vec<_>>(),
            }))
        }
        2 => {
            let mut groups: BTreeMap<String, f64> = BTreeMap::new();
            for p in partials {
                for g in rows(p, "groups")? {
                    *groups.entry(text(&g[0])?).or_default() += num(&g[1])?;
                }
            }
            Ok(json!({
                "query": 2,
                "groups": groups.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
            }))
        }
        3 => {
            let mut visitors: BTreeMap<String, (f64, f64, f64)> = BTreeMap::new();
            for p in partials {
                for g in rows(p, "groups")? {
                    let e = visitors.entry(text(&g[0])?).or_default();
                    e.0 += num(&g[1])?;
                    e.1 += num(&g[2])?;
                    e.2 += num(&g[3])?;
                }
            }
            // BTreeMap order: the first of equal revenues is the smallest address.
            let best = visitors.iter().fold(
                None::<(&String, &(f64, f64, f64))>,
                |best, (ip, v)| match best {
                    Some((_, b)) if b.0 >= v.0 => best,
                    _ => Some((ip, v)),
                },
            );
            Ok(match best {
                Some((ip, (revenue, ranks, visits))) => json!({
                    "query": 3, "sourceIP": ip, "totalRevenue": revenue,
                    "avgPageRank": ranks / visits,
                }),
                None => json!({ "query": 3, "sourceIP": null }),
            })
        }
        n => Err(format!("no query {n}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partials_reduce_to_one_answer() {
        let q2 = [
            json!({"query": 2, "groups": [["1.2", 1.5], ["3.4", 2.0]]}),
            json!({"query": 2, "groups": [["1.2", 0.25]]}),
        ];
        assert_eq!(
            reduce(&q2).unwrap()["groups"],
            json!([["1.2", 1.75], ["3.4", 2.0]])
        );
        let q3 = [
            json!({"query": 3, "groups": [["9.9.9.9", 5.0, 10, 2], ["1.1.1.1", 7.0, 3, 1]]}),
            json!({"query": 3, "groups": [["9.9.9.9", 3.0, 20, 2]]}),
        ];
        let a = reduce(&q3).unwrap();
        assert_eq!(
            (a["sourceIP"].as_str(), a["totalRevenue"].as_f64()),
            (Some("9.9.9.9"), Some(8.0))
        );
        assert_eq!(a["avgPageRank"], 7.5);
        assert!(reduce(&[]).is_err());
        assert!(
            reduce(&[q2[0].clone(), q3[0].clone()])
                .unwrap_err()
                .contains("different queries")
        );
    }
}
