//! Reports of a run: the table printed at the end, a Markdown summary for a pull-request
//! comment, and the self-contained HTML report with inline SVG charts.

mod charts;
mod html;

use std::fmt::Write as _;

pub use html::html;

use super::summary::{FIGURES, FigureDef, Status, Summary, WorkloadSummary, show_us};

/// `median [lo, hi]` of a figure, in its unit.
pub fn cell(def: &FigureDef, median: f64, ci: Option<(f64, f64)>) -> String {
    match ci {
        Some((lo, hi)) => format!(
            "{} [{}, {}]",
            def.unit.show(median),
            def.unit.show(lo),
            def.unit.show(hi)
        ),
        None => def.unit.show(median),
    }
}

fn errors_text(w: &WorkloadSummary) -> String {
    let errors: Vec<String> = w
        .outcomes
        .iter()
        .filter(|(k, v)| k.as_str() != "ok" && **v > 0)
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if errors.is_empty() {
        "-".to_owned()
    } else {
        errors.join(" ")
    }
}

/// Why a run's figures are incomplete, if they are.
pub fn status_note(s: &Summary) -> Option<String> {
    match s.status {
        Status::Complete => None,
        Status::Interrupted => Some(format!(
            "interrupted (Ctrl-C): partial results, {} invocation(s) abandoned in flight",
            s.abandoned
        )),
        Status::Partial => Some(format!(
            "partial: rebuilt from the rows of a run that did not finish ({} of {} repetition(s) recorded{})",
            s.runs_done,
            s.meta.runs,
            if s.damaged_rows > 0 {
                format!(", {} damaged row(s) skipped", s.damaged_rows)
            } else {
                String::new()
            }
        )),
    }
}

/// The table printed after a run (times in ms), and the figures across repetitions.
pub fn text(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{:<18} {:>7} {:>7} {:>6} {:>6} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}  errors",
        "workload",
        "count",
        "ok",
        "cold",
        "errors",
        "thr/s",
        "p50",
        "p90",
        "p99",
        "max",
        "dur p50",
        "ovh p50"
    );
    let ms = |us: u64| {
        let v = us as f64 / 1000.0;
        if v >= 100.0 {
            format!("{v:.0}")
        } else if v >= 1.0 {
            format!("{v:.1}")
        } else {
            format!("{v:.2}")
        }
    };
    for w in &s.workloads {
        let _ = writeln!(
            out,
            "{:<18} {:>7} {:>7} {:>6} {:>6} {:>9.1} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}  {}",
            w.meta.name,
            w.measured,
            w.outcomes.get("ok").copied().unwrap_or(0),
            w.cold_starts,
            w.errors,
            w.throughput_per_s,
            ms(w.latency_us.p50),
            ms(w.latency_us.p90),
            ms(w.latency_us.p99),
            ms(w.latency_us.max),
            ms(w.duration_us.p50),
            ms(w.overhead_us.p50),
            errors_text(w),
        );
    }
    let _ = writeln!(
        out,
        "latency: client, from the intended start (ms); dur: activation duration; ovh: service time - duration"
    );
    if s.runs_done > 1 {
        let _ = writeln!(
            out,
            "\nacross {} repetitions: median [95% CI] (cv); * marks an outlier repetition",
            s.runs_done
        );
        for w in &s.workloads {
            let _ = writeln!(out, "{}", w.meta.name);
            for def in &FIGURES {
                if let Some(f) = w.figures.get(def.key) {
                    let cv =
                        f.cv.map_or(String::new(), |c| format!(" cv {:.1}%", c * 100.0));
                    let outliers = if f.outliers.is_empty() {
                        String::new()
                    } else {
                        let runs: Vec<String> = f
                            .outliers
                            .iter()
                            .map(|r| format!("run {}", r + 1))
                            .collect();
                        format!(" * outlier: {}", runs.join(", "))
                    };
                    let _ = writeln!(
                        out,
                        "  {:<24} {}{cv}{outliers}",
                        def.label,
                        cell(def, f.median, f.ci)
                    );
                }
            }
        }
    }
    for line in platform_lines(s) {
        let _ = writeln!(out, "{line}");
    }
    if let Some(note) = status_note(s) {
        let _ = writeln!(out, "{note}");
    }
    out
}

/// A Markdown summary, suitable for a pull-request comment.
pub fn markdown(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### owbench: {}\n", s.meta.name);
    let _ = writeln!(
        out,
        "{} repetition(s) on {} · owbench {} · {} · status **{}**\n",
        s.runs_done,
        target_text(s),
        s.meta.owbench_version,
        humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + std::time::Duration::from_millis(s.meta.started_ms)
        ),
        s.status.as_str()
    );
    for line in platform_lines(s) {
        let _ = writeln!(out, "{line}\n");
    }
    if let Some(note) = status_note(s) {
        let _ = writeln!(out, "> **{note}**\n");
    }
    let _ = write!(out, "| workload | invocations | errors |");
    for def in &FIGURES {
        let _ = write!(out, " {} |", def.label);
    }
    let _ = write!(out, "\n|---|---:|---:|");
    for _ in &FIGURES {
        let _ = write!(out, "---:|");
    }
    out.push('\n');
    for w in &s.workloads {
        let _ = write!(out, "| `{}` | {} | {} |", w.meta.name, w.measured, w.errors);
        for def in &FIGURES {
            let text = w.figures.get(def.key).map_or("-".into(), |f| {
                let mark = if f.outliers.is_empty() { "" } else { " ⚠" };
                format!("{}{mark}", cell(def, f.median, f.ci))
            });
            let _ = write!(out, " {text} |");
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "\nMedian across repetitions [95% confidence interval]; ⚠ marks a figure with an outlier repetition (kept). Client latency counts from the intended start."
    );
    out
}

/// The platform the run ran on and what it cost, for people (nothing when the target
/// says nothing of either).
pub fn platform_lines(s: &Summary) -> Vec<String> {
    let mut lines: Vec<String> = super::platform::text(&s.meta.target)
        .map(|p| format!("platform: {p}"))
        .into_iter()
        .collect();
    if let Some(c) = &s.cost {
        let per_1000 = c.usd_per_1000.map_or(String::new(), |u| {
            format!("; {u:.6} USD per 1,000 invocations")
        });
        lines.push(format!(
            "cost: {:.6} USD for {:.4} h at {:.4} USD/h{per_1000} (list prices; the cluster's set-up and idle time are not counted)",
            c.usd, c.hours, c.usd_per_hour
        ));
    }
    lines
}

/// The target, for people.
pub fn target_text(s: &Summary) -> String {
    let t = &s.meta.target;
    match t["kind"].as_str() {
        Some("http") => format!("http {}", t["url"].as_str().unwrap_or("?")),
        Some(kind) => format!("{kind} {}", t["apihost"].as_str().unwrap_or_default()),
        None => "an unknown target".into(),
    }
}

/// `µs` as text, for report cells.
fn us(v: f64) -> String {
    show_us(v)
}
