//! Namespace throttles as OpenWhisk's controller applies them: invocations per fixed
//! wall-clock minute (rejected attempts count too; allowed while `count <= allowed`) and
//! activations in flight (allowed while `count < allowed`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Default)]
struct Counters {
    minute: u64,
    in_minute: u64,
    in_flight: u64,
}

/// Per-namespace counters.
pub struct Throttles {
    per_minute: u64,
    concurrent: u64,
    counters: Arc<Mutex<HashMap<String, Counters>>>,
}

/// Holds one in-flight slot of a namespace; released on drop.
pub struct InFlight {
    namespace: String,
    counters: Arc<Mutex<HashMap<String, Counters>>>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(c) = self
            .counters
            .lock()
            .expect("throttles poisoned")
            .get_mut(&self.namespace)
        {
            c.in_flight = c.in_flight.saturating_sub(1);
        }
    }
}

impl Throttles {
    /// Limits for every namespace.
    pub fn new(per_minute: u32, concurrent: u32) -> Throttles {
        Throttles {
            per_minute: per_minute as u64,
            concurrent: concurrent as u64,
            counters: Arc::default(),
        }
    }

    /// The configured `(invocationsPerMinute, concurrentInvocations)`.
    pub fn limits(&self) -> (u64, u64) {
        (self.per_minute, self.concurrent)
    }

    /// Admit one invocation, or the 429 message OpenWhisk gives.
    pub fn admit(&self, namespace: &str) -> Result<InFlight, String> {
        let minute = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
            / 60;
        let mut all = self.counters.lock().expect("throttles poisoned");
        let c = all.entry(namespace.to_owned()).or_default();
        if c.minute != minute {
            c.minute = minute;
            c.in_minute = 0;
        }
        c.in_minute += 1;
        if c.in_minute > self.per_minute {
            return Err(format!(
                "Too many requests in the last minute (count: {}, allowed: {}).",
                c.in_minute, self.per_minute
            ));
        }
        if c.in_flight >= self.concurrent {
            return Err(format!(
                "Too many concurrent requests in flight (count: {}, allowed: {}).",
                c.in_flight, self.concurrent
            ));
        }
        c.in_flight += 1;
        Ok(InFlight {
            namespace: namespace.to_owned(),
            counters: self.counters.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_limit_counts_in_flight() {
        let t = Throttles::new(1000, 2);
        let a = t.admit("ns").unwrap();
        let _b = t.admit("ns").unwrap();
        assert_eq!(
            t.admit("ns").err().unwrap(),
            "Too many concurrent requests in flight (count: 2, allowed: 2)."
        );
        drop(a);
        assert!(t.admit("ns").is_ok());
        assert!(t.admit("other").is_ok());
    }

    #[test]
    fn per_minute_limit_counts_rejections() {
        let t = Throttles::new(2, 100);
        let _a = t.admit("ns").unwrap();
        let _b = t.admit("ns").unwrap();
        // The test could straddle a minute boundary; then the window restarted.
        if let Err(msg) = t.admit("ns") {
            assert_eq!(
                msg,
                "Too many requests in the last minute (count: 3, allowed: 2)."
            );
            assert!(t.admit("ns").err().unwrap().contains("count: 4"));
        }
    }
}
