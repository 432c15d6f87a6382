//! The spec's `[installer]` settings, read with one-line errors.

use std::str::FromStr;

use crate::{KeyValue, Result, refuse, size};

/// An installer's settings (`[installer]` keys of the cluster spec other than `name`).
pub struct Settings(Vec<KeyValue>);

impl Settings {
    /// Wrap the settings the host passed.
    pub fn new(settings: Vec<KeyValue>) -> Settings {
        Settings(settings)
    }

    /// Refuse any key not in `known` (a typo would otherwise be ignored silently).
    pub fn only(&self, known: &[&str]) -> Result<()> {
        match self.0.iter().find(|kv| !known.contains(&kv.key.as_str())) {
            Some(kv) => Err(refuse(format!(
                "unknown installer setting `{}` (known: {})",
                kv.key,
                known.join(", ")
            ))),
            None => Ok(()),
        }
    }

    /// The value of `key`, if given.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|kv| kv.key == key)
            .map(|kv| kv.value.as_str())
    }

    /// `key` parsed as a `T` within `range`, or `default` when not given.
    pub fn number<T>(&self, key: &str, default: T, range: std::ops::RangeInclusive<T>) -> Result<T>
    where
        T: FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let Some(text) = self.get(key) else {
            return Ok(default);
        };
        match text.trim().parse::<T>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(refuse(format!(
                "installer setting `{key}` must be a number from {} to {}, got {text:?}",
                range.start(),
                range.end()
            ))),
        }
    }
}

/// The platform limits both installers here take from their settings:
/// `invocations-per-minute`, `concurrent-invocations` and `user-memory-mb`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Invocations a minute per namespace.
    pub per_minute: u32,
    /// Concurrent invocations per namespace.
    pub concurrent: u32,
    /// Memory for action containers, in MiB.
    pub user_memory_mb: u64,
}

impl Limits {
    /// The template values `@PER_MINUTE@`, `@CONCURRENT@` and `@USER_MEMORY@`, for
    /// [`fill_template`](crate::fill_template).
    pub fn template_values(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PER_MINUTE", self.per_minute.to_string()),
            ("CONCURRENT", self.concurrent.to_string()),
            ("USER_MEMORY", self.user_memory_mb.to_string()),
        ]
    }

    /// Action containers of `memory_mb` (OpenWhisk's default action memory is 256 MB)
    /// that `user_memory_mb` holds at once.
    pub fn containers(&self, memory_mb: u64) -> u64 {
        self.user_memory_mb / memory_mb
    }

    /// What a one-node platform with these limits holds, as sizing lines for
    /// `cluster up --dry-run`.
    pub fn sizing(&self) -> Vec<KeyValue> {
        vec![
            size(
                "memory for action containers",
                format!("{} MiB", self.user_memory_mb),
            ),
            size("action containers of 256 MB at once", self.containers(256)),
            size("invocations per minute (namespace limit)", self.per_minute),
            size("concurrent invocations (namespace limit)", self.concurrent),
        ]
    }

    /// The settings these limits are read from.
    pub const KEYS: [&str; 3] = [
        "invocations-per-minute",
        "concurrent-invocations",
        "user-memory-mb",
    ];

    /// Read them, each within what the platform takes; those not given are
    /// `per_minute`, `concurrent`, and the node's memory (`node_mib`) less
    /// `reserved_mib`, at least 512.
    pub fn read(
        settings: &Settings,
        (per_minute, concurrent): (u32, u32),
        node_mib: Option<u64>,
        reserved_mib: u64,
    ) -> Result<Limits> {
        let memory = node_mib.unwrap_or(8 * 1024);
        let pool = memory.saturating_sub(reserved_mib).max(512);
        Ok(Limits {
            per_minute: settings.number(Self::KEYS[0], per_minute, 60..=100_000_000)?,
            concurrent: settings.number(Self::KEYS[1], concurrent, 1..=1_000_000)?,
            user_memory_mb: settings.number(Self::KEYS[2], pool, 256..=4 * 1024 * 1024)?,
        })
    }
}
