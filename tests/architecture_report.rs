//! The reporters sit at the end of the data flow (docs/architecture.md, "Layers
//! point one way"): nothing before them imports them, and they import nothing from
//! the engine. Checked on the source text, so that a new import fails here at once.

use std::path::Path;

/// Every `.rs` file under `rel` (a file or a folder) with its text.
fn sources(rel: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let mut out = Vec::new();
    let mut todo = vec![root];
    while let Some(p) = todo.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).unwrap().flatten() {
                todo.push(e.path());
            }
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push((
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            ));
        }
    }
    assert!(!out.is_empty(), "no source under {rel}");
    out
}

#[test]
fn imports_run_one_way_around_the_reporters() {
    let rules: [(&[&str], &str); 3] = [
        (
            &[
                "src/engine",
                "src/events.rs",
                "src/safety",
                "src/scenario",
                "src/import",
                "src/secrets",
                "src/curl.rs",
                "src/text.rs",
            ],
            "crate::report",
        ),
        (
            &["src/report", "src/secrets", "src/events.rs"],
            "crate::engine",
        ),
        (&["src/curl.rs", "src/text.rs"], "crate::"),
    ];
    let mut broken = Vec::new();
    for (dirs, banned) in rules {
        for dir in dirs {
            for (path, text) in sources(dir) {
                for (n, line) in text.lines().enumerate() {
                    if line.contains(banned) {
                        broken.push(format!("{path}:{}: {banned}: {}", n + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "imports against the flow:\n{}",
        broken.join("\n")
    );
}
