//! `owbench bench`'s reporter: the live view of a running experiment, a progress bar on
//! a terminal (done, achieved rate, in flight, p50/p99 so far, errors by class), or a
//! plain line per second when the output is not a terminal (CI logs, files).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::bench::{Display, DriveView, Reporter};
use crate::load::LiveFigures;
use crate::results::summary::show_us;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Nothing (`--quiet`).
    Quiet,
    /// A progress bar (stderr is a terminal).
    Bar,
    /// A line per second on stderr.
    Lines,
}

impl Reporter for View {
    fn drive(&self, drive: DriveView) -> Option<Display> {
        show_progress(*self, drive)
    }

    fn notice(&self, text: &str) {
        // Even `--quiet` shows notices: they say why a run stops or what was not saved.
        eprintln!("{text}");
    }
}

struct Snapshot {
    finished: u64,
    in_flight: u64,
    rate: f64,
    live: LiveFigures,
}

impl Snapshot {
    fn message(&self) -> String {
        let errors: u64 = self.live.errors.values().sum();
        let classes: Vec<String> = self
            .live
            .errors
            .iter()
            .map(|(o, n)| format!("{}={n}", o.as_str()))
            .collect();
        format!(
            "{:.1}/s in flight {} p50 {} p99 {} errors {errors}{}",
            self.rate,
            self.in_flight,
            show_us(self.live.p50_us as f64),
            show_us(self.live.p99_us as f64),
            if classes.is_empty() {
                String::new()
            } else {
                format!(" ({})", classes.join(" "))
            }
        )
    }
}

/// Show the progress of one drive (one workload in one repetition).
fn show_progress(view: View, drive: DriveView) -> Option<Display> {
    let DriveView {
        tag,
        runs,
        count,
        progress,
        live,
    } = drive;
    let name = if runs > 1 {
        format!("{} (run {}/{runs})", tag.workload, tag.run + 1)
    } else {
        tag.workload.clone()
    };
    let key = (tag.run, tag.workload.clone());
    let snapshot = move |last: &mut (Instant, u64)| {
        let started = progress.started.load(Ordering::Relaxed);
        let finished = progress.finished.load(Ordering::Relaxed);
        let now = Instant::now();
        let dt = now.duration_since(last.0).as_secs_f64();
        let rate = if dt > 0.0 {
            finished.saturating_sub(last.1) as f64 / dt
        } else {
            0.0
        };
        *last = (now, finished);
        Snapshot {
            finished,
            in_flight: started.saturating_sub(finished),
            rate,
            live: live
                .lock()
                .ok()
                .and_then(|l| l.get(&key).cloned())
                .unwrap_or_default(),
        }
    };
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let task = match view {
        View::Quiet => return None,
        View::Bar => {
            let bar = match count {
                Some(n) => indicatif::ProgressBar::new(n),
                None => indicatif::ProgressBar::new_spinner(),
            };
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{prefix:>24} [{bar:30}] {pos}/{len} {elapsed_precise} {msg}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(name);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(250));
                let mut last = (Instant::now(), 0);
                loop {
                    let done = tokio::select! {
                        _ = tick.tick() => false,
                        _ = &mut stopped => true,
                    };
                    let s = snapshot(&mut last);
                    bar.set_position(s.finished);
                    bar.set_message(s.message());
                    if done {
                        bar.abandon();
                        break;
                    }
                }
            })
        }
        View::Lines => tokio::spawn(async move {
            let t0 = Instant::now();
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            let mut last = (t0, 0);
            loop {
                let done = tokio::select! {
                    _ = tick.tick() => false,
                    _ = &mut stopped => true,
                };
                let s = snapshot(&mut last);
                let of = count.map_or(String::new(), |n| format!("/{n}"));
                eprintln!(
                    "[{name}] {:.0}s done {}{of} {}",
                    t0.elapsed().as_secs_f64(),
                    s.finished,
                    s.message()
                );
                if done {
                    break;
                }
            }
        }),
    };
    Some(Display::new(task, stop))
}
