//! Table-driven tests: a test holds a table of rows (each with its name) and one
//! check; this runs the check on every row, as many at once as the machine has cores
//! (as the test harness would for separate tests), and fails naming every row that
//! failed, not only the first.
//!
//! `ROW=part cargo test --test NAME` runs only the rows whose name holds `part`.

#![allow(dead_code)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

pub fn run_rows<R: Sync>(rows: &[R], name: impl Fn(&R) -> &str + Sync, check: impl Fn(&R) + Sync) {
    let only = std::env::var("ROW").ok();
    let picked: Vec<&R> = rows
        .iter()
        .filter(|r| only.as_deref().is_none_or(|o| name(r).contains(o)))
        .collect();
    assert!(!picked.is_empty(), "no row is named like ROW={only:?}");
    let next = AtomicUsize::new(0);
    let failed = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(picked.len());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                while let Some(row) = picked.get(next.fetch_add(1, Ordering::SeqCst)) {
                    if let Err(e) = catch_unwind(AssertUnwindSafe(|| check(row))) {
                        let why = e
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default();
                        failed
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(format!("row `{}`: {why}", name(row)));
                    }
                }
            });
        }
    });
    let failed = failed.into_inner().unwrap_or_else(|p| p.into_inner());
    assert!(
        failed.is_empty(),
        "{} of {} rows failed:\n\n{}",
        failed.len(),
        picked.len(),
        failed.join("\n\n")
    );
}
