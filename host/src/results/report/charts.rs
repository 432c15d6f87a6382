//! The report's charts, drawn with `plotters` into SVG strings (inline in the HTML: no
//! scripts, no fonts to fetch, no network).

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::load::Hist;
use crate::results::series::Series;
use crate::results::summary::{Summary, WorkloadSummary};

const W: u32 = 720;
const H: u32 = 320;

/// Series colours (Okabe–Ito, readable by colour-blind readers).
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
    RGBColor(240, 228, 66),
    RGBColor(0, 0, 0),
];

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// One line of a chart over time: its value at point `i` of a series.
type Getter<'a> = &'a dyn Fn(&Series, usize) -> f64;
/// A [`Getter`] owned.
type BoxedGetter = Box<dyn Fn(&Series, usize) -> f64>;

/// Draw on a fresh SVG canvas; the SVG text.
fn svg(draw: impl FnOnce(&Area<'_>) -> Result<(), String>) -> Result<String, String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        draw(&root)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn ms(us: f64) -> f64 {
    us / 1000.0
}

fn upper(values: impl Iterator<Item = f64>) -> f64 {
    let max = values.fold(0.0_f64, f64::max);
    if max > 0.0 { max * 1.1 } else { 1.0 }
}

/// Client latency against percentile ("nines" scale) for every workload, from the
/// histograms merged over the repetitions.
pub fn spectrum(s: &Summary) -> Result<String, String> {
    let curves: Vec<(String, Vec<(f64, f64)>)> = s
        .workloads
        .iter()
        .filter_map(|w| {
            let h = Hist::decode(&w.histograms.latency_us).ok()?;
            if h.is_empty() {
                return None;
            }
            // Up to the nines the sample supports: 1000 values resolve p99.9.
            let top = (h.len() as f64).log10().clamp(1.0, 5.0);
            let points = (0..=(top * 40.0) as usize)
                .map(|i| {
                    let x = i as f64 / 40.0;
                    let q = 1.0 - 10f64.powf(-x);
                    (x, ms(h.at(q) as f64).max(0.001))
                })
                .chain(std::iter::once((top, ms(h.at(1.0) as f64).max(0.001))))
                .collect();
            Some((w.meta.name.clone(), points))
        })
        .collect();
    // Whole nines on the axis: 0, 90, 99, 99.9, ...
    let nines = curves
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(x, _)| *x))
        .fold(1.0, f64::max)
        .ceil();
    let x_max = nines;
    let y_min = curves
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, y)| *y))
        .fold(f64::INFINITY, f64::min)
        .min(1.0)
        * 0.8;
    let y_max = upper(curves.iter().flat_map(|(_, p)| p.iter().map(|(_, y)| *y)));
    svg(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Client latency by percentile", ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..x_max, (y_min..y_max.max(y_min * 10.0)).log_scale())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("percentile")
            .y_desc("latency (ms, log)")
            .x_labels(nines as usize + 1)
            .x_label_formatter(&|x| nines_label(*x))
            .y_label_formatter(&|y| format!("{y}"))
            .draw()
            .map_err(err)?;
        for (i, (name, points)) in curves.iter().enumerate() {
            let c = colour(i);
            chart
                .draw_series(LineSeries::new(points.clone(), c.stroke_width(2)))
                .map_err(err)?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                });
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    })
}

/// `k` nines as a percentile: 0, 90, 99, 99.9, ...; nothing between whole nines.
fn nines_label(x: f64) -> String {
    if (x - x.round()).abs() > 1e-9 || x < 0.0 {
        return String::new();
    }
    match x.round() as usize {
        0 => "0".into(),
        1 => "90".into(),
        k => format!("99{}{}", if k > 2 { "." } else { "" }, "9".repeat(k - 2)),
    }
}

fn legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 12))
        .draw()
        .map_err(err)
}

/// The series of `w`, every repetition.
fn series_of<'a>(s: &'a Summary, w: &WorkloadSummary) -> Vec<&'a Series> {
    s.series
        .iter()
        .filter(|x| x.workload == w.meta.name)
        .collect()
}

fn run_label(series: &Series, runs: usize) -> String {
    if runs > 1 {
        format!(" (run {})", series.run + 1)
    } else {
        String::new()
    }
}

/// A line chart over time: one or two lines per repetition.
fn over_time(
    title: &str,
    y_desc: &str,
    series: &[&Series],
    lines: &[(&str, Getter<'_>)],
) -> Result<String, String> {
    let x_max = series
        .iter()
        .filter_map(|s| {
            s.points
                .last()
                .map(|p| p.t_s + s.interval_ms as f64 / 1000.0)
        })
        .fold(0.001, f64::max);
    let y_max = upper(series.iter().flat_map(|s| {
        lines
            .iter()
            .flat_map(move |(_, f)| (0..s.points.len()).map(move |i| f(s, i)))
    }));
    svg(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("seconds since the workload started")
            .y_desc(y_desc)
            .draw()
            .map_err(err)?;
        for (ri, s) in series.iter().enumerate() {
            for (li, (name, f)) in lines.iter().enumerate() {
                let c = colour(li);
                let style = if ri == 0 {
                    c.stroke_width(2)
                } else {
                    c.mix(0.55).stroke_width(1)
                };
                let points: Vec<(f64, f64)> = s
                    .points
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (p.t_s, f(s, i)))
                    .collect();
                chart
                    .draw_series(LineSeries::new(points, style))
                    .map_err(err)?
                    .label(format!("{name}{}", run_label(s, series.len())))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
            }
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    })
}

/// Achieved rate (finished per second) against the target rate (meant to start per
/// second). The last interval of a series is cut short by the end of the run, so its
/// rate is left out.
pub fn rate(s: &Summary, w: &WorkloadSummary) -> Result<String, String> {
    let per_s = |s: &Series, v: u64| v as f64 * 1000.0 / s.interval_ms as f64;
    let whole: Vec<Series> = series_of(s, w)
        .into_iter()
        .map(|s| {
            let mut s = s.clone();
            if s.points.len() > 2 {
                s.points.pop();
            }
            s
        })
        .collect();
    over_time(
        &format!("{}: achieved vs target rate", w.meta.name),
        "invocations/s",
        &whole.iter().collect::<Vec<_>>(),
        &[
            ("target", &|s: &Series, i: usize| {
                per_s(s, s.points[i].intended)
            }),
            ("achieved", &|s: &Series, i: usize| {
                per_s(s, s.points[i].done)
            }),
        ],
    )
}

/// Client latency p50 and p99 of the invocations finishing in each interval.
pub fn latency(s: &Summary, w: &WorkloadSummary) -> Result<String, String> {
    over_time(
        &format!("{}: client latency over time", w.meta.name),
        "latency (ms)",
        &series_of(s, w),
        &[
            ("p50", &|s: &Series, i: usize| ms(s.points[i].p50_us as f64)),
            ("p99", &|s: &Series, i: usize| ms(s.points[i].p99_us as f64)),
        ],
    )
}

/// Errors per interval by class (and ok for scale).
pub fn errors(s: &Summary, w: &WorkloadSummary) -> Result<String, String> {
    let series = series_of(s, w);
    let mut classes: Vec<String> = series
        .iter()
        .flat_map(|s| s.points.iter().flat_map(|p| p.outcomes.keys().cloned()))
        .filter(|k| k != "ok")
        .collect();
    classes.sort();
    classes.dedup();
    let title = if classes.is_empty() {
        format!("{}: errors over time (none)", w.meta.name)
    } else {
        format!("{}: errors over time by class", w.meta.name)
    };
    let getters: Vec<(String, BoxedGetter)> = if classes.is_empty() {
        vec![(
            "errors".to_owned(),
            Box::new(|s: &Series, i: usize| s.points[i].errors() as f64),
        )]
    } else {
        classes
            .into_iter()
            .map(|c| {
                let key = c.clone();
                let f: BoxedGetter = Box::new(move |s: &Series, i: usize| {
                    s.points[i].outcomes.get(&key).copied().unwrap_or(0) as f64
                });
                (c, f)
            })
            .collect()
    };
    let lines: Vec<(&str, Getter<'_>)> = getters
        .iter()
        .map(|(n, f)| (n.as_str(), f.as_ref()))
        .collect();
    over_time(&title, "errors per interval", &series, &lines)
}

/// Horizontal bars, one group per workload.
fn bars(
    title: &str,
    x_desc: &str,
    names: &[String],
    parts: &[(&str, Vec<f64>)],
    stacked: bool,
) -> Result<String, String> {
    let n = names.len().max(1);
    let x_max = upper((0..n).map(|i| {
        let values = parts.iter().map(|(_, v)| v.get(i).copied().unwrap_or(0.0));
        if stacked {
            values.sum()
        } else {
            values.fold(0.0, f64::max)
        }
    }));
    let names = names.to_vec();
    svg(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(110)
            .build_cartesian_2d(0.0..x_max, 0.0..n as f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(x_desc)
            .y_labels(n * 2 + 1)
            .y_label_formatter(&|y| {
                let i = *y - 0.5;
                if (i - i.round()).abs() < 1e-6 && i >= 0.0 {
                    names.get(i.round() as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .draw()
            .map_err(err)?;
        let band = 0.7
            / if stacked {
                1.0
            } else {
                parts.len().max(1) as f64
            };
        for (pi, (label, values)) in parts.iter().enumerate() {
            let c = colour(pi);
            let rects: Vec<Rectangle<(f64, f64)>> = values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let x0: f64 = if stacked {
                        parts[..pi]
                            .iter()
                            .map(|(_, p)| p.get(i).copied().unwrap_or(0.0))
                            .sum()
                    } else {
                        0.0
                    };
                    let y0 = i as f64 + 0.15 + if stacked { 0.0 } else { band * pi as f64 };
                    Rectangle::new([(x0, y0), (x0 + v, y0 + band)], c.filled())
                })
                .collect();
            chart
                .draw_series(rects)
                .map_err(err)?
                .label(*label)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)
    })
}

/// Cold against warm client latency (p50 and p99) per workload.
pub fn cold_warm(s: &Summary) -> Result<String, String> {
    let names: Vec<String> = s.workloads.iter().map(|w| w.meta.name.clone()).collect();
    let pick = |f: &dyn Fn(&WorkloadSummary) -> u64| -> Vec<f64> {
        s.workloads.iter().map(|w| ms(f(w) as f64)).collect()
    };
    bars(
        "Cold vs warm client latency",
        "latency (ms)",
        &names,
        &[
            ("warm p50", pick(&|w| w.warm_latency_us.p50)),
            ("warm p99", pick(&|w| w.warm_latency_us.p99)),
            ("cold p50", pick(&|w| w.cold_latency_us.p50)),
            ("cold p99", pick(&|w| w.cold_latency_us.p99)),
        ],
        false,
    )
}

/// Where a mean invocation's service time goes: waitTime, initTime (amortized over all
/// invocations), run time (duration − init) and the rest of the platform's overhead.
pub fn stack(s: &Summary) -> Result<String, String> {
    let names: Vec<String> = s.workloads.iter().map(|w| w.meta.name.clone()).collect();
    let mut parts: [(&str, Vec<f64>); 4] = [
        ("waitTime", Vec::new()),
        ("initTime", Vec::new()),
        ("run time", Vec::new()),
        ("other overhead", Vec::new()),
    ];
    for w in &s.workloads {
        let n = w.with_record.max(1) as f64;
        let init = w.init_us.mean * w.init_us.count as f64 / n;
        let run = (w.duration_us.mean - init).max(0.0);
        let other = (w.overhead_us.mean - w.wait_us.mean).max(0.0);
        for (part, v) in parts.iter_mut().zip([w.wait_us.mean, init, run, other]) {
            part.1.push(ms(v));
        }
    }
    bars(
        "Mean service time: waitTime, initTime, run time, other overhead",
        "ms",
        &names,
        &parts,
        true,
    )
}
