//! The self-contained HTML report: summary tables, charts as inline SVG, and the run's
//! metadata. No scripts, no external resources.

use std::fmt::Write as _;

use super::charts;
use super::{cell, errors_text, platform_lines, status_note, target_text, us};
use crate::results::summary::{CiMethod, FIGURES, Summary};

/// HTML-escape `s`.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}\
table{border-collapse:collapse;margin:1em 0;font-size:14px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}\
th:first-child,td:first-child{text-align:left}th{background:#f3f3f3}.partial{background:#fff3cd;border:1px solid #e0b000;padding:.6em 1em}\
figure.chart{margin:1em 0;display:inline-block}figure.chart figcaption{font-size:13px;color:#555}pre{background:#f7f7f7;padding:1em;overflow:auto}\
.outlier{color:#b00}td code{word-break:break-all}dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{font-weight:600}";

fn chart(out: &mut String, id: &str, caption: &str, drawn: Result<String, String>) {
    match drawn {
        Ok(svg) => {
            let _ = writeln!(
                out,
                "<figure class=\"chart\" data-chart=\"{}\">{svg}<figcaption>{}</figcaption></figure>",
                esc(id),
                esc(caption)
            );
        }
        Err(e) => {
            let _ = writeln!(
                out,
                "<p class=\"chart-error\">chart {} could not be drawn: {}</p>",
                esc(id),
                esc(&e)
            );
        }
    }
}

fn method(m: CiMethod) -> &'static str {
    match m {
        CiMethod::Bootstrap => "bootstrap (median across runs)",
        CiMethod::T => "t-interval (mean across runs)",
        CiMethod::OrderStatistic => "order statistics (one run)",
        CiMethod::Wilson => "Wilson (one run)",
        CiMethod::None => "-",
    }
}

/// The report of `s`.
pub fn html(s: &Summary) -> String {
    let mut o = String::new();
    let title = format!("owbench: {}", s.meta.name);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n",
        esc(&title),
        esc(&title)
    );
    let _ = writeln!(
        o,
        "<p>{} of {} repetition(s) against {} · status <b>{}</b> · {} invocation(s) recorded</p>",
        s.runs_done,
        s.meta.runs,
        esc(&target_text(s)),
        s.status.as_str(),
        s.workloads.iter().map(|w| w.invocations).sum::<u64>()
    );
    for line in platform_lines(s) {
        let _ = writeln!(o, "<p>{}</p>", esc(&line));
    }
    if let Some(note) = status_note(s) {
        let _ = writeln!(
            o,
            "<p class=\"partial\"><b>Partial results.</b> {}</p>",
            esc(&note)
        );
    }

    o.push_str("<h2>Summary</h2>\n<table><tr><th>workload</th><th>invocations</th><th>ok</th><th>errors</th><th>cold</th><th>throughput</th><th>p50</th><th>p90</th><th>p99</th><th>max</th><th>duration p50</th><th>overhead p50</th><th>errors by class</th></tr>\n");
    for w in &s.workloads {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}/s</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&w.meta.name),
            w.measured,
            w.outcomes.get("ok").copied().unwrap_or(0),
            w.errors,
            w.cold_starts,
            w.throughput_per_s,
            us(w.latency_us.p50 as f64),
            us(w.latency_us.p90 as f64),
            us(w.latency_us.p99 as f64),
            us(w.latency_us.max as f64),
            us(w.duration_us.p50 as f64),
            us(w.overhead_us.p50 as f64),
            esc(&errors_text(w))
        );
    }
    o.push_str("</table>\n");

    o.push_str("<h2>Figures across repetitions</h2>\n<p>Median across repetitions with its 95% confidence interval; CV is the coefficient of variation across repetitions. Outlier repetitions (modified z-score over 3.5) are marked, never dropped.</p>\n");
    for w in &s.workloads {
        let _ = writeln!(
            o,
            "<h3>{}</h3>\n<table><tr><th>figure</th><th>median [95% CI]</th><th>interval</th><th>CV</th><th>per repetition</th></tr>",
            esc(&w.meta.name)
        );
        for def in &FIGURES {
            let Some(f) = w.figures.get(def.key) else {
                continue;
            };
            let per_run: Vec<String> = f
                .runs
                .iter()
                .zip(&f.values)
                .map(|(r, v)| {
                    let text = format!("{}: {}", r + 1, def.unit.show(*v));
                    if f.outliers.contains(r) {
                        format!("<span class=\"outlier\">{} (outlier)</span>", esc(&text))
                    } else {
                        esc(&text)
                    }
                })
                .collect();
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(def.label),
                esc(&cell(def, f.median, f.ci)),
                method(f.method),
                f.cv.map_or("-".into(), |c| format!("{:.1}%", c * 100.0)),
                per_run.join(", ")
            );
        }
        o.push_str("</table>\n");
    }

    o.push_str("<h2>Charts</h2>\n");
    chart(
        &mut o,
        "spectrum",
        "Client latency percentile spectrum per workload (all repetitions merged).",
        charts::spectrum(s),
    );
    chart(
        &mut o,
        "cold-warm",
        "Client latency of cold starts against warm activations.",
        charts::cold_warm(s),
    );
    chart(
        &mut o,
        "stack",
        "Mean service time split into waitTime, initTime (amortized), run time and other platform overhead.",
        charts::stack(s),
    );
    for w in &s.workloads {
        let _ = writeln!(o, "<h3>{}</h3>", esc(&w.meta.name));
        let name = &w.meta.name;
        chart(
            &mut o,
            &format!("rate-{name}"),
            "Achieved (finished per second) against target (meant to start per second) rate.",
            charts::rate(s, w),
        );
        chart(
            &mut o,
            &format!("latency-{name}"),
            "Client latency of the invocations finishing in each interval.",
            charts::latency(s, w),
        );
        chart(
            &mut o,
            &format!("errors-{name}"),
            "Errors per interval by class.",
            charts::errors(s, w),
        );
    }

    o.push_str("<h2>Run</h2>\n<dl>");
    let started = humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(s.meta.started_ms),
    );
    let m = &s.meta.machine;
    let machine = format!(
        "{} {} · {} CPU(s){}{}{}",
        m.os,
        m.arch,
        m.cpus,
        m.cpu_model
            .as_ref()
            .map_or(String::new(), |c| format!(" · {c}")),
        m.memory_mb
            .map_or(String::new(), |mb| format!(" · {mb} MB")),
        m.hostname
            .as_ref()
            .map_or(String::new(), |h| format!(" · host {h}"))
    );
    for (k, v) in [
        ("run id", s.meta.id.map_or("-".into(), |i| i.to_string())),
        ("started", started.to_string()),
        (
            "duration",
            format!(
                "{:.1} s",
                s.ended_ms.saturating_sub(s.meta.started_ms) as f64 / 1000.0
            ),
        ),
        ("owbench", s.meta.owbench_version.clone()),
        ("target", s.meta.target.to_string()),
        ("machine", machine),
        ("blocking", s.meta.blocking.to_string()),
    ] {
        let _ = write!(o, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(&v));
    }
    o.push_str("</dl>\n<h3>Workloads and plugins</h3>\n<table><tr><th>workload</th><th>action</th><th>kind</th><th>code sha256</th><th>parameters</th><th>load</th></tr>\n");
    for w in &s.workloads {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td><code>{}</code></td></tr>",
            esc(&w.meta.name),
            esc(&w.meta.action),
            esc(w.meta.kind.as_deref().unwrap_or("-")),
            esc(w.meta.component_sha256.as_deref().unwrap_or("-")),
            esc(&w.meta.params.to_string()),
            esc(&w.meta.load.to_string())
        );
    }
    let _ = write!(
        o,
        "</table>\n<h3>Spec</h3>\n<pre>{}</pre>\n</body></html>\n",
        esc(&s.meta.spec)
    );
    o
}
