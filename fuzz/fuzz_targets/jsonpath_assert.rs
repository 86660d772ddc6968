#![no_main]
//! `cargo fuzz run jsonpath_assert`: see docs/performance.md (Fuzzing).

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/fuzz_harness.rs"]
mod harness;

fuzz_target!(|data: &[u8]| harness::jsonpath_assert(data));
