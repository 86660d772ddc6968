//! Every input a fuzz target ever crashed or hung on (tests/fuzz_regressions/
//! <target>/), and the fuzz seeds (fuzz/seeds/<target>/), replayed through the
//! same harness the fuzz targets use: each must return, without a panic, within
//! a generous time limit.

#[path = "support/fuzz_harness.rs"]
mod fuzz_harness;

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

/// Far beyond what one input takes; longer means it hangs.
const HANG_LIMIT: Duration = Duration::from_secs(20);

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut inputs = Vec::new();
    for dir in [
        root.join("tests/fuzz_regressions").join(target),
        root.join("fuzz/seeds").join(target),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            if e.path().is_file() {
                inputs.push(e.path());
            }
        }
    }
    inputs.sort();
    for path in &inputs {
        let data = std::fs::read(path).unwrap();
        let (tx, rx) = mpsc::channel();
        let name = path.display().to_string();
        std::thread::spawn(move || {
            let outcome = std::panic::catch_unwind(|| run(&data));
            let _ = tx.send(outcome.is_ok());
        });
        match rx.recv_timeout(HANG_LIMIT) {
            Ok(true) => {}
            Ok(false) => panic!("{target}: {name} panicked"),
            Err(_) => panic!("{target}: {name} did not return within {HANG_LIMIT:?}"),
        }
    }
    inputs.len()
}

#[test]
fn scenario_loader_inputs() {
    assert!(replay("load", fuzz_harness::load) > 0);
}

#[test]
fn template_inputs() {
    assert!(replay("template", fuzz_harness::template) > 0);
}

#[test]
fn jsonpath_and_assertion_inputs() {
    assert!(replay("jsonpath_assert", fuzz_harness::jsonpath_assert) > 0);
}
