//! The load engine: drives invocations by a [`LoadModel`], stamping each with its
//! intended, sent and done times, and streams one [`Row`] per finished invocation.
//!
//! Open models schedule on absolute time; when `max_in_flight` invocations are already
//! out, the next one waits for a slot and its latency still counts from its intended
//! time (no coordinated omission), the wait showing up as scheduling lag.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::outcome::{Invoked, Outcome};
use super::schedule::LoadModel;

/// One invocation, as the engine calls it: with its index in the workload's schedule.
pub type InvokeFn = Arc<dyn Fn(u64) -> Pin<Box<dyn Future<Output = Invoked> + Send>> + Send + Sync>;

/// How much load, for how long.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// The model.
    pub model: LoadModel,
    /// Stop after this many invocations (warm-up included).
    pub count: Option<u64>,
    /// Stop scheduling after this long.
    pub duration: Option<Duration>,
    /// The first this many invocations are warm-up: recorded, excluded from headlines.
    pub warmup: u64,
    /// Most invocations in flight at once.
    pub max_in_flight: usize,
}

/// One finished invocation: a line of `rows.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    /// Repetition (0-based).
    pub run: u32,
    /// Workload name.
    pub workload: String,
    /// Index in the workload's schedule.
    pub seq: u64,
    /// Part of the warm-up.
    pub warmup: bool,
    /// When it was meant to start, µs since the workload's start.
    pub intended_us: u64,
    /// When the request was sent, µs since the workload's start.
    pub sent_us: u64,
    /// When the answer arrived, µs since the workload's start.
    pub done_us: u64,
    /// `done - intended`: what a user waiting for it saw.
    pub latency_us: u64,
    /// `done - sent`: the request alone.
    pub service_us: u64,
    /// `sent - intended`: how late the generator was.
    pub lag_us: u64,
    /// Class of outcome.
    pub outcome: Outcome,
    /// HTTP status (0: none).
    pub status: u16,
    /// Activation id, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activation_id: Option<String>,
    /// Cold start (`initTime` present), when the record was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cold: Option<bool>,
    /// Activation `duration`, µs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_us: Option<u64>,
    /// `waitTime`, µs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_us: Option<u64>,
    /// `initTime`, µs (cold starts only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_us: Option<u64>,
    /// Error text of a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a drive did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DriveReport {
    /// Invocations started.
    pub started: u64,
    /// Invocations finished and recorded.
    pub finished: u64,
    /// Invocations still in flight when the grace period after a stop ran out.
    pub abandoned: u64,
    /// Scheduling stopped early (Ctrl-C).
    pub interrupted: bool,
}

/// Counters shared with a progress display.
#[derive(Debug, Default)]
pub struct Progress {
    /// Started invocations.
    pub started: AtomicU64,
    /// Finished invocations.
    pub finished: AtomicU64,
    /// Finished with an outcome other than `ok`.
    pub failed: AtomicU64,
}

/// Identity of the rows of one drive.
#[derive(Debug, Clone)]
pub struct RowTag {
    /// Repetition.
    pub run: u32,
    /// Workload name.
    pub workload: String,
}

/// Drive `invoke` by `plan`, sending a row per finished invocation to `rows`. Stops
/// scheduling when `stop` turns true, then gives in-flight invocations `grace`.
pub async fn drive(
    plan: &LoadPlan,
    invoke: InvokeFn,
    tag: RowTag,
    rows: mpsc::Sender<Row>,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
    progress: Arc<Progress>,
) -> DriveReport {
    let t0 = Instant::now();
    // Open models keep at most `max_in_flight` invocations out.
    let slots = Arc::new(Semaphore::new(plan.max_in_flight.max(1)));
    let mut tasks = JoinSet::new();
    let mut report = DriveReport::default();
    let end = plan.duration.map(|d| t0 + d);
    let count = plan.count.unwrap_or(u64::MAX);
    let launch = |seq: u64, intended: Instant, permit, tasks: &mut JoinSet<()>| {
        let invoke = invoke.clone();
        let rows = rows.clone();
        let tag = tag.clone();
        let progress = progress.clone();
        let warmup = seq < plan.warmup;
        progress.started.fetch_add(1, Ordering::Relaxed);
        tasks.spawn(async move {
            let _permit: tokio::sync::OwnedSemaphorePermit = permit;
            let sent = Instant::now();
            let invoked = invoke(seq).await;
            let done = Instant::now();
            let row = make_row(&tag, seq, warmup, t0, intended, sent, done, invoked);
            finish(&progress, &rows, row).await;
        });
    };

    match plan.model.arrivals() {
        Some(arrivals) => {
            for (seq, offset) in arrivals.enumerate() {
                let seq = seq as u64;
                let intended = t0 + offset;
                if seq >= count || end.is_some_and(|e| intended > e) || *stop.borrow() {
                    break;
                }
                if intended > Instant::now() {
                    tokio::select! {
                        _ = tokio::time::sleep_until(intended) => {}
                        _ = stop.changed() => break,
                    }
                }
                let permit = tokio::select! {
                    p = slots.clone().acquire_owned() => p.expect("semaphore never closed"),
                    _ = stop.changed() => break,
                };
                launch(seq, intended, permit, &mut tasks);
                while tasks.try_join_next().is_some() {}
            }
        }
        None => {
            // Closed loop: `concurrency` workers, each starting the next invocation as
            // soon as its last one ends (no task or permit per invocation).
            let LoadModel::Closed { concurrency } = plan.model else {
                unreachable!("only the closed model has no arrivals")
            };
            let next = Arc::new(AtomicU64::new(0));
            for _ in 0..concurrency.max(1) {
                let (invoke, rows, tag, progress) =
                    (invoke.clone(), rows.clone(), tag.clone(), progress.clone());
                let (next, stop) = (next.clone(), stop.clone());
                let warmup = plan.warmup;
                tasks.spawn(async move {
                    loop {
                        if *stop.borrow() || end.is_some_and(|e| Instant::now() >= e) {
                            break;
                        }
                        let seq = next.fetch_add(1, Ordering::Relaxed);
                        if seq >= count {
                            break;
                        }
                        progress.started.fetch_add(1, Ordering::Relaxed);
                        let sent = Instant::now();
                        let invoked = invoke(seq).await;
                        let done = Instant::now();
                        let row = make_row(&tag, seq, seq < warmup, t0, sent, sent, done, invoked);
                        finish(&progress, &rows, row).await;
                    }
                });
            }
            let mut stopped = stop.clone();
            let all_done = async { while tasks.join_next().await.is_some() {} };
            tokio::select! {
                _ = all_done => {}
                _ = stopped.wait_for(|s| *s) => {}
            }
        }
    }
    report.interrupted = *stop.borrow();
    if report.interrupted {
        let drained =
            tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            tasks.abort_all();
        }
    }
    while tasks.join_next().await.is_some() {}
    report.started = progress.started.load(Ordering::Relaxed);
    report.finished = progress.finished.load(Ordering::Relaxed);
    report.abandoned = report.started - report.finished;
    report
}

/// Count a finished invocation and hand its row to the sink.
async fn finish(progress: &Progress, rows: &mpsc::Sender<Row>, row: Row) {
    progress.finished.fetch_add(1, Ordering::Relaxed);
    if row.outcome != Outcome::Ok {
        progress.failed.fetch_add(1, Ordering::Relaxed);
    }
    let _ = rows.send(row).await;
}

#[allow(clippy::too_many_arguments)]
fn make_row(
    tag: &RowTag,
    seq: u64,
    warmup: bool,
    t0: Instant,
    intended: Instant,
    sent: Instant,
    done: Instant,
    invoked: Invoked,
) -> Row {
    let us = |t: Instant| t.saturating_duration_since(t0).as_micros() as u64;
    let (intended_us, sent_us, done_us) = (us(intended), us(sent), us(done));
    let times = invoked.times;
    Row {
        run: tag.run,
        workload: tag.workload.clone(),
        seq,
        warmup,
        intended_us,
        sent_us,
        done_us,
        latency_us: done_us.saturating_sub(intended_us),
        service_us: done_us.saturating_sub(sent_us),
        lag_us: sent_us.saturating_sub(intended_us),
        outcome: invoked.outcome,
        status: invoked.status,
        activation_id: invoked.activation_id,
        cold: times.map(|t| t.init_us.is_some()),
        duration_us: times.map(|t| t.duration_us),
        wait_us: times.map(|t| t.wait_us),
        init_us: times.and_then(|t| t.init_us),
        error: invoked.error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok_after(delay: Duration) -> InvokeFn {
        Arc::new(move |_| {
            Box::pin(async move {
                tokio::time::sleep(delay).await;
                Invoked {
                    outcome: Outcome::Ok,
                    status: 200,
                    activation_id: None,
                    times: None,
                    error: None,
                    result: None,
                }
            })
        })
    }

    async fn collect(
        plan: LoadPlan,
        invoke: InvokeFn,
        stop: watch::Receiver<bool>,
    ) -> (DriveReport, Vec<Row>) {
        let (tx, mut rx) = mpsc::channel(1 << 16);
        let tag = RowTag {
            run: 0,
            workload: "w".into(),
        };
        let report = drive(
            &plan,
            invoke,
            tag,
            tx,
            stop,
            Duration::from_millis(50),
            Arc::default(),
        )
        .await;
        let mut rows = Vec::new();
        while let Ok(r) = rx.try_recv() {
            rows.push(r);
        }
        (report, rows)
    }

    #[tokio::test(start_paused = true)]
    async fn open_loop_latency_counts_from_the_intended_time() {
        // 100/s with one slot and 50 ms calls: the generator falls behind, and latency
        // (from intended) grows while service time stays at 50 ms.
        let plan = LoadPlan {
            model: LoadModel::Open {
                rate: 100.0,
                poisson: false,
                seed: 1,
            },
            count: Some(10),
            duration: None,
            warmup: 2,
            max_in_flight: 1,
        };
        let (_tx, stop) = watch::channel(false);
        let (report, mut rows) = collect(plan, ok_after(Duration::from_millis(50)), stop).await;
        assert_eq!((report.started, report.finished), (10, 10));
        rows.sort_by_key(|r| r.seq);
        assert_eq!(rows.iter().filter(|r| r.warmup).count(), 2);
        let last = rows.last().unwrap();
        assert_eq!(last.intended_us, 90_000);
        assert!((49_000..=52_000).contains(&last.service_us), "{last:?}");
        assert!(last.latency_us >= 400_000, "{last:?}");
        assert_eq!(last.lag_us, last.latency_us - last.service_us);
    }

    #[tokio::test(start_paused = true)]
    async fn closed_loop_keeps_n_in_flight_and_a_burst_sends_all_at_once() {
        let plan = LoadPlan {
            model: LoadModel::Closed { concurrency: 4 },
            count: Some(20),
            duration: None,
            warmup: 0,
            max_in_flight: 1000,
        };
        let (_tx, stop) = watch::channel(false);
        let (report, rows) = collect(plan, ok_after(Duration::from_millis(10)), stop).await;
        assert_eq!(report.finished, 20);
        assert!(rows.iter().all(|r| r.lag_us == 0));
        // 20 calls of 10 ms, 4 at a time: 5 waves.
        assert!(rows.iter().map(|r| r.done_us).max().unwrap() <= 51_000);

        let plan = LoadPlan {
            model: LoadModel::Burst {
                size: 50,
                interval_ms: 0,
            },
            count: None,
            duration: None,
            warmup: 0,
            max_in_flight: 1000,
        };
        let (_tx, stop) = watch::channel(false);
        let (report, rows) = collect(plan, ok_after(Duration::from_millis(10)), stop).await;
        assert_eq!(report.finished, 50);
        assert!(
            rows.iter()
                .all(|r| r.intended_us == 0 && r.latency_us < 11_000)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_ends_scheduling_and_keeps_what_finished() {
        let plan = LoadPlan {
            model: LoadModel::Open {
                rate: 10.0,
                poisson: false,
                seed: 1,
            },
            count: None,
            duration: None,
            warmup: 0,
            max_in_flight: 100,
        };
        let (tx, stop) = watch::channel(false);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(450)).await;
            tx.send(true).unwrap();
        });
        // Calls take 1 s; the grace is 50 ms: the 5 started calls are abandoned.
        let (report, rows) = collect(plan.clone(), ok_after(Duration::from_secs(1)), stop).await;
        assert!(report.interrupted);
        assert_eq!((report.started, report.abandoned, rows.len()), (5, 5, 0));

        let (tx, stop) = watch::channel(false);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(450)).await;
            tx.send(true).unwrap();
        });
        let (report, rows) = collect(plan, ok_after(Duration::from_millis(10)), stop).await;
        assert_eq!((report.started, report.finished, rows.len()), (5, 5, 5));
    }
}
