//! The machine a run came from, read from `/proc` on Linux.

use serde::{Deserialize, Serialize};

/// The machine a run came from.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Machine {
    /// Operating system.
    pub os: String,
    /// CPU architecture.
    pub arch: String,
    /// Logical CPUs available.
    pub cpus: usize,
    /// Host name.
    #[serde(default)]
    pub hostname: Option<String>,
    /// CPU model name.
    #[serde(default)]
    pub cpu_model: Option<String>,
    /// Total memory, MB.
    #[serde(default)]
    pub memory_mb: Option<u64>,
}

impl Machine {
    /// This machine.
    pub fn this() -> Machine {
        let read = |p: &str| std::fs::read_to_string(p).ok();
        let cpu_model = read("/proc/cpuinfo").and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        });
        let memory_mb = read("/proc/meminfo").and_then(|t| {
            let kb: u64 = t
                .lines()
                .find(|l| l.starts_with("MemTotal:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some(kb / 1024)
        });
        Machine {
            os: std::env::consts::OS.into(),
            arch: std::env::consts::ARCH.into(),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            hostname: read("/proc/sys/kernel/hostname").map(|h| h.trim().to_owned()),
            cpu_model,
            memory_mb,
        }
    }
}
