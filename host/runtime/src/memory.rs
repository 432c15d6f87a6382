//! The container's memory limit, which bounds each instance's linear memory.

use std::path::Path;

/// Kept for the runtime itself (its heap, the compiled code, the HTTP server): an
/// instance may use the container's limit less this, so that running out of memory is a
/// clean error in the activation instead of the container being killed.
pub const RESERVE: u64 = 32 << 20;

/// The smallest memory an instance is given.
pub const MIN_INSTANCE: u64 = 16 << 20;

/// The memory limit of this process's cgroup, bytes (cgroup v2 `memory.max`, else v1
/// `memory.limit_in_bytes`); `None` when there is none.
pub fn cgroup_limit() -> Option<u64> {
    [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]
    .iter()
    .find_map(|path| std::fs::read_to_string(Path::new(path)).ok())
    .and_then(|text| parse_limit(&text))
}

/// A cgroup memory limit file's value: bytes, or `max` (v2) or a value near 2^63 (v1)
/// for none.
pub fn parse_limit(text: &str) -> Option<u64> {
    let text = text.trim();
    if text == "max" {
        return None;
    }
    text.parse::<u64>().ok().filter(|&bytes| bytes < 1 << 60)
}

/// The memory an instance gets under a container limit of `limit` bytes.
pub fn instance_limit(limit: u64) -> u64 {
    limit.saturating_sub(RESERVE).max(MIN_INSTANCE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_read_as_cgroups_write_them() {
        assert_eq!(parse_limit("max\n"), None);
        assert_eq!(parse_limit("268435456\n"), Some(256 << 20));
        assert_eq!(parse_limit("9223372036854771712\n"), None);
        assert_eq!(parse_limit("garbage"), None);
        assert_eq!(instance_limit(256 << 20), 224 << 20);
        assert_eq!(instance_limit(20 << 20), MIN_INSTANCE);
    }
}
