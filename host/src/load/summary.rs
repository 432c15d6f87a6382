//! Per-workload figures from the rows, in constant memory: counts by outcome, cold
//! starts, throughput, and HDR histograms of client latency, service time, scheduling
//! lag, activation duration, waitTime, initTime and platform overhead.

use std::collections::BTreeMap;

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

use super::engine::Row;
use super::outcome::Outcome;

/// Largest value a histogram records, µs (1 hour); larger values are clamped.
const MAX_US: u64 = 3_600_000_000;

/// Percentiles of one histogram, µs.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Percentiles {
    /// Values recorded.
    pub count: u64,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
}

/// A histogram of µs values with 3 significant digits.
#[derive(Debug, Clone)]
pub struct Hist(Histogram<u64>);

impl Default for Hist {
    fn default() -> Self {
        Hist(Histogram::new_with_bounds(1, MAX_US, 3).expect("valid bounds"))
    }
}

impl Hist {
    /// Record one value.
    pub fn record(&mut self, us: u64) {
        self.0.saturating_record(us.clamp(1, MAX_US));
    }

    /// Its percentiles.
    pub fn percentiles(&self) -> Percentiles {
        let h = &self.0;
        if h.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            count: h.len(),
            mean: h.mean(),
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }

    /// Values recorded.
    pub fn len(&self) -> u64 {
        self.0.len()
    }

    /// Nothing recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value at quantile `q` (0..=1), µs; 0 when empty.
    pub fn at(&self, q: f64) -> u64 {
        if self.0.is_empty() {
            0
        } else {
            self.0.value_at_quantile(q)
        }
    }

    /// Add every value of `other`.
    pub fn merge(&mut self, other: &Hist) {
        // Both have the same bounds, so adding cannot fail.
        let _ = self.0.add(&other.0);
    }

    /// Read back what [`Hist::encoded`] wrote (an empty string is an empty histogram).
    pub fn decode(text: &str) -> anyhow::Result<Hist> {
        let mut hist = Hist::default();
        if text.is_empty() {
            return Ok(hist);
        }
        let bytes = base64::engine::general_purpose::STANDARD.decode(text)?;
        let h: Histogram<u64> = Deserializer::new()
            .deserialize(&mut std::io::Cursor::new(bytes))
            .map_err(|e| anyhow::anyhow!("damaged histogram: {e:?}"))?;
        let _ = hist.0.add(&h);
        Ok(hist)
    }

    /// HdrHistogram V2 + DEFLATE, base64: mergeable and readable by HdrHistogram tools.
    pub fn encoded(&self) -> String {
        let mut buf = Vec::new();
        if V2DeflateSerializer::new()
            .serialize(&self.0, &mut buf)
            .is_err()
        {
            return String::new();
        }
        base64::engine::general_purpose::STANDARD.encode(buf)
    }
}

/// Figures by (repetition, workload name).
pub type StatsByRun = BTreeMap<(u32, String), WorkloadStats>;

/// Everything summarized for one workload in one repetition (or, merged, over several).
#[derive(Debug, Clone, Default)]
pub struct WorkloadStats {
    /// Rows seen, warm-up included.
    pub rows: u64,
    /// Warm-up rows.
    pub warmup: u64,
    /// Measured rows by outcome.
    pub outcomes: BTreeMap<Outcome, u64>,
    /// Measured rows that were cold starts.
    pub cold: u64,
    /// Measured rows whose activation record was seen.
    pub with_record: u64,
    /// Client latency (from the intended time).
    pub latency: Hist,
    /// Service time (from the send).
    pub service: Hist,
    /// Scheduling lag.
    pub lag: Hist,
    /// Activation duration.
    pub duration: Hist,
    /// waitTime.
    pub wait: Hist,
    /// initTime (cold starts).
    pub init: Hist,
    /// Service time minus duration: the platform's share.
    pub overhead: Hist,
    /// Client latency of cold starts.
    pub latency_cold: Hist,
    /// Client latency of warm activations (record seen, no initTime).
    pub latency_warm: Hist,
    /// Measurement window per run: (first intended, last done), µs.
    pub windows: BTreeMap<u32, (u64, u64)>,
}

impl WorkloadStats {
    /// Add one row.
    pub fn add(&mut self, row: &Row) {
        self.rows += 1;
        if row.warmup {
            self.warmup += 1;
            return;
        }
        *self.outcomes.entry(row.outcome).or_default() += 1;
        let window = self
            .windows
            .entry(row.run)
            .or_insert((row.intended_us, row.done_us));
        window.0 = window.0.min(row.intended_us);
        window.1 = window.1.max(row.done_us);
        self.latency.record(row.latency_us);
        self.service.record(row.service_us);
        self.lag.record(row.lag_us);
        if let Some(d) = row.duration_us {
            self.with_record += 1;
            self.duration.record(d);
            self.overhead.record(row.service_us.saturating_sub(d));
        }
        if let Some(w) = row.wait_us {
            self.wait.record(w);
        }
        if let Some(i) = row.init_us {
            self.init.record(i);
        }
        match row.cold {
            Some(true) => {
                self.cold += 1;
                self.latency_cold.record(row.latency_us);
            }
            Some(false) => self.latency_warm.record(row.latency_us),
            None => {}
        }
    }

    /// Fold `other` (another repetition) into these figures.
    pub fn merge(&mut self, other: &WorkloadStats) {
        self.rows += other.rows;
        self.warmup += other.warmup;
        for (o, n) in &other.outcomes {
            *self.outcomes.entry(*o).or_default() += n;
        }
        self.cold += other.cold;
        self.with_record += other.with_record;
        for (mine, theirs) in [
            (&mut self.latency, &other.latency),
            (&mut self.service, &other.service),
            (&mut self.lag, &other.lag),
            (&mut self.duration, &other.duration),
            (&mut self.wait, &other.wait),
            (&mut self.init, &other.init),
            (&mut self.overhead, &other.overhead),
            (&mut self.latency_cold, &other.latency_cold),
            (&mut self.latency_warm, &other.latency_warm),
        ] {
            mine.merge(theirs);
        }
        for (run, w) in &other.windows {
            self.windows.insert(*run, *w);
        }
    }

    /// Measured invocations.
    pub fn measured(&self) -> u64 {
        self.rows - self.warmup
    }

    /// Measured invocations with outcome `ok`.
    pub fn ok(&self) -> u64 {
        self.outcomes.get(&Outcome::Ok).copied().unwrap_or(0)
    }

    /// Measured invocations finished per second of measurement window (summed over runs).
    pub fn throughput(&self) -> f64 {
        let seconds: f64 = self
            .windows
            .values()
            .map(|(a, b)| b.saturating_sub(*a) as f64 / 1e6)
            .sum();
        if seconds > 0.0 {
            self.measured() as f64 / seconds
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        seq: u64,
        warmup: bool,
        outcome: Outcome,
        latency: u64,
        duration: Option<u64>,
        init: Option<u64>,
    ) -> Row {
        Row {
            run: 0,
            workload: "w".into(),
            seq,
            warmup,
            intended_us: seq * 1000,
            sent_us: seq * 1000,
            done_us: seq * 1000 + latency,
            latency_us: latency,
            service_us: latency,
            lag_us: 0,
            outcome,
            status: 200,
            activation_id: None,
            cold: duration.map(|_| init.is_some()),
            duration_us: duration,
            wait_us: duration.map(|_| 5),
            init_us: init,
            error: None,
        }
    }

    #[test]
    fn warmup_is_excluded_and_figures_add_up() {
        let mut s = WorkloadStats::default();
        s.add(&row(0, true, Outcome::Ok, 9_999_999, None, None));
        for i in 1..=100 {
            s.add(&row(
                i,
                false,
                Outcome::Ok,
                1000,
                Some(400),
                (i <= 3).then_some(200),
            ));
        }
        s.add(&row(101, false, Outcome::Throttled, 50, None, None));
        assert_eq!(
            (s.rows, s.warmup, s.measured(), s.ok(), s.cold),
            (102, 1, 101, 100, 3)
        );
        assert_eq!(s.outcomes[&Outcome::Throttled], 1);
        let lat = s.latency.percentiles();
        assert_eq!(lat.p50, 1000);
        assert!(lat.max < 9_999_999, "warm-up excluded");
        assert_eq!(s.overhead.percentiles().p50, 600);
        assert_eq!(s.init.percentiles().count, 3);
        // 101 measured from t=1 ms to t=101.05 ms.
        assert!(
            (s.throughput() - 101.0 / 0.10005).abs() < 1.0,
            "{}",
            s.throughput()
        );
        let encoded = s.latency.encoded();
        let back = Hist::decode(&encoded).unwrap();
        assert_eq!(back.percentiles(), s.latency.percentiles());
        assert!(Hist::decode("not base64!").is_err());
        let mut twice = s.clone();
        twice.merge(&s);
        assert_eq!(twice.measured(), 2 * s.measured());
        assert_eq!(twice.latency.len(), 2 * s.latency.len());
        assert_eq!(s.latency_cold.len(), 3);
        assert_eq!(s.latency_warm.len(), 97);
    }
}
