//! `runner validate` over a corpus of broken scenario files: each must be refused
//! with exit code 2 and a diagnostic at the right file, line and column, with the
//! expected message and hint, the caret under the spot, and never a panic or hang.
//!
//! Committed cases live in tests/corpus/invalid/*.yaml; each starts with one
//! `# expect: LINE:COL message-substring | hint-substring` line per diagnostic it
//! must produce (and it must produce no others). Cases that would be awkward to
//! commit (binary, not UTF-8, megabytes) are generated into a temporary folder.

#[path = "support/dx.rs"]
mod dx;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use dx::{Printed, parse_diagnostics, run_with_limit};

/// Generous: a debug build on a shared machine. Only here to turn a hang into a failure.
const LIMIT: Duration = Duration::from_secs(120);
/// The multi-megabyte case does real work; a debug build on a busy machine is slow.
const BIG_LIMIT: Duration = Duration::from_secs(900);

#[derive(Debug, Clone)]
struct Expect {
    line: u32,
    col: u32,
    message: String,
    hint: String,
}

fn parse_expect(spec: &str) -> Expect {
    let (pos, rest) = spec
        .trim()
        .split_once(' ')
        .unwrap_or_else(|| panic!("bad expectation {spec:?}"));
    let (line, col) = pos.split_once(':').expect("LINE:COL");
    let (message, hint) = rest.split_once('|').unwrap_or((rest, ""));
    Expect {
        line: line.parse().expect("line number"),
        col: col.parse().expect("column number"),
        message: message.trim().to_string(),
        hint: hint.trim().to_string(),
    }
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/invalid")
}

fn expectations_in(path: &Path) -> Vec<Expect> {
    let text = std::fs::read_to_string(path).expect("corpus files are UTF-8");
    text.lines()
        .map_while(|l| l.strip_prefix("# expect:"))
        .map(parse_expect)
        .collect()
}

/// Run `validate FILE` in `dir` and check the exit code, that nothing panicked,
/// and that the diagnostics are exactly the expected ones.
fn check_case(dir: &Path, file: &str, expects: &[Expect]) -> Vec<String> {
    let size = std::fs::metadata(dir.join(file)).map_or(0, |m| m.len());
    let limit = if size > 1 << 20 { BIG_LIMIT } else { LIMIT };
    let out = run_with_limit(dir, &["validate", file], &[], limit);
    let mut problems = Vec::new();
    if out.stderr.contains("panicked") || out.stderr.contains("overflowed") {
        problems.push(format!("{file}: the runner crashed:\n{}", out.stderr));
        return problems;
    }
    if out.code != Some(2) {
        problems.push(format!(
            "{file}: exit code {:?}, expected 2\nstdout: {}\nstderr: {}",
            out.code, out.stdout, out.stderr
        ));
        return problems;
    }
    let printed = parse_diagnostics(&out.stderr);
    if printed.len() != expects.len() {
        problems.push(format!(
            "{file}: {} diagnostics printed, {} expected:\n{}",
            printed.len(),
            expects.len(),
            out.stderr
        ));
    }
    for e in expects {
        let found = printed.iter().find(|p| {
            p.file == file
                && p.line == e.line
                && p.col == e.col
                && p.message.contains(&e.message)
                && p.hint.as_deref().unwrap_or("").contains(&e.hint)
        });
        if found.is_none() {
            problems.push(format!(
                "{file}: expected `{file}:{}:{}: {} | {}`, got:\n{}",
                e.line, e.col, e.message, e.hint, out.stderr
            ));
        }
    }
    for p in &printed {
        problems.extend(shape_problems(file, p));
    }
    if !out
        .stderr
        .lines()
        .any(|l| l.ends_with("found; nothing was sent"))
    {
        problems.push(format!("{file}: no summary line:\n{}", out.stderr));
    }
    problems
}

/// What every diagnostic owes its reader: a position, a hint, and a caret under
/// the column it names.
fn shape_problems(file: &str, p: &Printed) -> Vec<String> {
    let mut problems = Vec::new();
    if p.file != file || p.line == 0 || p.col == 0 {
        problems.push(format!("{file}: diagnostic without a position: {p:?}"));
    }
    if p.hint.as_deref().is_none_or(|h| h.trim().is_empty()) {
        problems.push(format!("{file}: diagnostic without a hint: {p:?}"));
    }
    for word in [
        "struct ",
        "u32",
        "invalid type",
        "expected sequence start",
        "Doc",
    ] {
        if p.message.contains(word) {
            problems.push(format!("{file}: Rust wording `{word}` in {:?}", p.message));
        }
    }
    match (&p.source_line, p.caret_at) {
        (Some(src), Some((lead, carets))) => {
            // A long line is shown as a window starting with `…`; columns then shift.
            if !src.starts_with('…') && lead + 1 != p.col as usize {
                problems.push(format!(
                    "{file}: caret at character {} but the position says column {}: {p:?}",
                    lead + 1,
                    p.col
                ));
            }
            if carets == 0 {
                problems.push(format!("{file}: no caret: {p:?}"));
            }
        }
        (None, None) => {}
        _ => problems.push(format!("{file}: a source line without a caret: {p:?}")),
    }
    problems
}

#[test]
fn every_broken_file_in_the_corpus_gets_its_diagnostic() {
    let dir = corpus_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the corpus folder exists")
        .map(|e| e.expect("a folder entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 30, "only {} corpus files", files.len());
    let mut problems = Vec::new();
    for path in &files {
        let name = path.file_name().and_then(|n| n.to_str()).expect("a name");
        let expects = expectations_in(path);
        assert!(!expects.is_empty(), "{name} has no `# expect:` line");
        problems.extend(check_case(&dir, name, &expects));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// A scenario of `steps` ordinary steps, as YAML lines.
fn big_scenario_lines(steps: usize) -> Vec<String> {
    let mut lines = vec!["name: a big suite".to_string(), "steps:".to_string()];
    for i in 0..steps {
        lines.push(format!("  - name: step {i}"));
        lines.push("    request:".into());
        lines.push("      method: GET".into());
        lines.push(format!("      url: /v1/projects/prj_{i}"));
        lines.push("    expect:".into());
        lines.push("      status: 200".into());
        lines.push("      json: { $.id: { exists: true }, $.name: { type: string } }".into());
    }
    lines
}

#[test]
fn generated_hostile_files_get_clear_diagnostics() {
    let tmp = tempfile::tempdir().expect("a temporary folder");
    let dir = tmp.path();
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.join(name), bytes).expect("write a case");
    };
    let mut cases: Vec<(&str, Vec<Expect>)> = Vec::new();

    write("empty.yaml", b"");
    cases.push((
        "empty.yaml",
        vec![parse_expect(
            "1:1 the file is empty | needs at least `name` and `steps`",
        )],
    ));

    // Someone passes an image: the PNG signature is not UTF-8 from its first byte.
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let mut seed: u32 = 7;
    for _ in 0..4096 {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        png.push((seed >> 16) as u8);
    }
    write("binary-junk.yaml", &png);
    cases.push((
        "binary-junk.yaml",
        vec![parse_expect("1:1 not valid UTF-8 | save it as UTF-8")],
    ));

    // Valid UTF-8, but binary: a NUL byte on line 4.
    write(
        "nul-byte.yaml",
        b"name: nul\nsteps:\n  - request:\n      url: /v1/who\0ami\n",
    );
    cases.push((
        "nul-byte.yaml",
        vec![parse_expect("4:19 binary data (a NUL byte) | YAML text")],
    ));

    // Latin-1 text: `é` as the single byte 0xE9.
    write(
        "invalid-utf8.yaml",
        b"name: caf\xe9 check\nsteps:\n  - request:\n      url: /v1/whoami\n",
    );
    cases.push((
        "invalid-utf8.yaml",
        vec![parse_expect("1:10 not valid UTF-8 | save it as UTF-8")],
    ));

    // Windows line endings do not shift positions.
    write(
        "crlf.yaml",
        b"name: crlf\r\nsteps:\r\n  - request:\r\n      url: /v1/whoami\r\n    expect:\r\n      stauts: 200\r\n",
    );
    cases.push((
        "crlf.yaml",
        vec![parse_expect(
            "6:7 unknown key `stauts` in `expect` | did you mean `status`?",
        )],
    ));

    // Nesting beyond the limit: the top mapping and `vars` are levels 1 and 2, so
    // the 63rd `{a: ` of the value is level 65.
    let depth = 5000;
    let deep = format!(
        "name: deep\nvars:\n  x: {}1{}\nsteps:\n  - request:\n      url: /v1/whoami\n",
        "{a: ".repeat(depth),
        "}".repeat(depth)
    );
    write("deep-mappings.yaml", deep.as_bytes());
    let col = 6 + 62 * 4;
    cases.push((
        "deep-mappings.yaml",
        vec![parse_expect(&format!(
            "3:{col} nested more than 64 levels | flatten"
        ))],
    ));
    let deep = format!(
        "name: deep\nvars:\n  x: {}{}\nsteps:\n  - request:\n      url: /v1/whoami\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    write("deep-lists.yaml", deep.as_bytes());
    // Flow lists are refused by the YAML scanner, which reads ahead of the depth
    // count: at its own limit of 256 open brackets, column 5 + 256.
    cases.push((
        "deep-lists.yaml",
        vec![parse_expect("3:261 nested more than 64 levels | flatten")],
    ));

    // One long line: thousands of steps in flow style, a typo in the last one.
    let mut line = String::from("steps: [");
    for i in 0..5000 {
        line.push_str(&format!("{{request: {{url: /v1/projects/{i}}}}}, "));
    }
    let typo_col = line.chars().count() + "{request: {".len() + 1;
    line.push_str("{request: {ulr: /v1/whoami}}]");
    write(
        "long-line.yaml",
        format!("name: one long line\n{line}\n").as_bytes(),
    );
    cases.push((
        "long-line.yaml",
        vec![parse_expect(&format!(
            "2:{typo_col} unknown key `ulr` in `request` | did you mean `url`?"
        ))],
    ));

    // 4 MB of valid steps and one typo at the very end.
    let mut lines = Vec::new();
    let mut steps = 20_000;
    while lines.iter().map(|l: &String| l.len() + 1).sum::<usize>() < 4 * 1024 * 1024 {
        lines = big_scenario_lines(steps);
        steps += 5_000;
    }
    lines.push("  - name: the last step".into());
    lines.push("    request:".into());
    lines.push("      url: /v1/whoami".into());
    lines.push("    expect:".into());
    lines.push("      stauts: 200".into());
    let typo_line = lines.len();
    write("four-megabytes.yaml", (lines.join("\n") + "\n").as_bytes());
    cases.push((
        "four-megabytes.yaml",
        vec![parse_expect(&format!(
            "{typo_line}:7 unknown key `stauts` in `expect` | did you mean `status`?"
        ))],
    ));

    let mut problems = Vec::new();
    for (file, expects) in &cases {
        problems.extend(check_case(dir, file, expects));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn a_large_valid_file_validates() {
    let tmp = tempfile::tempdir().expect("a temporary folder");
    let lines = big_scenario_lines(5_000);
    std::fs::write(tmp.path().join("big.yaml"), lines.join("\n") + "\n").expect("write");
    let out = run_with_limit(tmp.path(), &["validate", "big.yaml"], &[], BIG_LIMIT);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.contains("ok: 1 scenario in 1 file"),
        "{}",
        out.stdout
    );
}

#[test]
fn all_files_are_checked_in_one_pass() {
    let dir = corpus_dir();
    let out = run_with_limit(
        &dir,
        &[
            "validate",
            "typo-status.yaml",
            "bad-regex.yaml",
            "undefined-capture.yaml",
        ],
        &[],
        LIMIT,
    );
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    let printed = parse_diagnostics(&out.stderr);
    let files: Vec<&str> = printed.iter().map(|p| p.file.as_str()).collect();
    for f in [
        "typo-status.yaml",
        "bad-regex.yaml",
        "undefined-capture.yaml",
    ] {
        assert!(files.contains(&f), "{f} missing from {files:?}");
    }
    assert!(
        out.stderr.contains("3 problems found; nothing was sent"),
        "{}",
        out.stderr
    );
}

/// A 127.0.0.1 listener that counts the connections made to it.
fn counting_listener() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("an address");
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            if conn.is_ok() {
                seen.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    (format!("http://{addr}"), count)
}

#[test]
fn run_performs_the_same_checks_before_sending_anything() {
    let dir = corpus_dir();
    let (base, count) = counting_listener();
    for file in [
        "typo-status.yaml",
        "undefined-capture.yaml",
        "bad-jsonpath.yaml",
        "unquoted-template.yaml",
    ] {
        let expects = expectations_in(&dir.join(file));
        let validate = run_with_limit(&dir, &["validate", file], &[], LIMIT);
        let run = run_with_limit(&dir, &["run", "--base-url", &base, file], &[], LIMIT);
        assert_eq!(run.code, Some(2), "{file}: {}", run.stderr);
        assert_eq!(
            run.stderr, validate.stderr,
            "{file}: run and validate disagree"
        );
        let printed = parse_diagnostics(&run.stderr);
        assert!(
            printed
                .iter()
                .any(|p| p.line == expects[0].line && p.col == expects[0].col),
            "{file}: {}",
            run.stderr
        );
        // `runner FILE` is `runner run FILE`.
        let short = run_with_limit(&dir, &[file, "--base-url", &base], &[], LIMIT);
        assert_eq!(short.code, Some(2), "{file}: {}", short.stderr);
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(count.load(Ordering::SeqCst), 0, "something was sent");
}
