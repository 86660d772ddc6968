//! How many threads the machine runs at once, asked once per process.
//!
//! The standard library's answer reads the cgroup files under /proc and /sys each
//! time (about ten system calls); loading, checking, the runtime and the report
//! scan each asked, which a run of one scenario paid five times.

use std::sync::OnceLock;

/// The cores this process may use (at least 1).
pub fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}
