//! A run stays bounded whatever a file sends: matrix cases in all, rendered template
//! text in all; and the smaller file and command-line mistakes of issue 12 end in a
//! clear exit 2 rather than retries or a wrong message.

#[path = "support/safety.rs"]
mod safety;

use safety::{Recorder, run, write};

/// A file whose matrix has 100 × 100 cases.
fn big_matrix(i: usize) -> String {
    let values: Vec<String> = (0..100).map(|n| n.to_string()).collect();
    format!(
        "name: m{i}\nmatrix:\n  a: [{0}]\n  b: [{0}]\nsteps:\n  - request: {{ url: /v1/whoami }}\n",
        values.join(", ")
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_matrix_cases_of_a_run_are_capped_in_all() {
    let dir = tempfile::tempdir().unwrap();
    // 6 × 10 000 cases: each matrix is under its own cap, together they are not.
    for i in 0..6 {
        write(dir.path(), &format!("m{i}.yaml"), &big_matrix(i));
    }
    let folder = dir.path().to_str().unwrap();
    let ran = run(&["validate", folder], &[]).await;
    assert_eq!(ran.code(), Some(2), "{}", ran.both());
    assert!(
        ran.stderr
            .contains("the matrices of this run expand to more than 50000 cases in all"),
        "{}",
        ran.stderr
    );
    // Names a file and the line of its scenario.
    assert!(
        (0..6).any(|i| ran.stderr.contains(&format!("m{i}.yaml:1:"))),
        "{}",
        ran.stderr
    );
    // Five of them fit.
    std::fs::remove_file(dir.path().join("m5.yaml")).unwrap();
    let ran = run(&["validate", folder], &[]).await;
    assert_eq!(ran.code(), Some(0), "{}", ran.both());
    let _ = Recorder::ok;
}
