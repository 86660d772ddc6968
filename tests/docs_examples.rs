//! Every runnable example in the docs runs, with the built binary, and ends as the
//! docs say.
//!
//! In `docs/*.md` and `README.md`, a fenced ```yaml block whose first line is
//! `# example: <unique-name>` is an example. Comment lines right below it may say:
//!
//! - `# expect-exit: N`: the exit code the example ends with (default 0);
//! - `# base-url: test-server`: run against the httpbin-like test server of
//!   `tests/support/language_server.rs` (default: the embedded Layers mock, or the
//!   file's own `base_url`);
//! - `# args: --tag smoke --var region=eu`: more command-line arguments;
//! - `# expect-output: TEXT`: the output (stdout and stderr) contains TEXT (repeatable);
//! - `# path: suite/orders.yaml`: where the example is written (default `<name>.yaml`).
//!
//! A block whose first line is `# file: <relative/path>` (or whose fence says
//! `file=<relative/path>`, for JSON and other formats without comments) is not run: it
//! is written, without that line, next to every example of the same document, for
//! includes, schemas and uploads to find.
//!
//! Every example runs with `LAYERS_API_KEY` set to the mock's demo key.

#[path = "support/language_server.rs"]
mod server;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use server::{LanguageServer, run_with_timeout};

#[derive(Debug, Clone)]
struct Block {
    doc: PathBuf,
    /// 1-based line of the opening fence.
    line: usize,
    lang: String,
    info: String,
    text: String,
}

#[derive(Debug, Clone)]
struct Example {
    name: String,
    doc: PathBuf,
    line: usize,
    text: String,
    expect_exit: i32,
    test_server: bool,
    args: Vec<String>,
    expect_output: Vec<String>,
    path: String,
}

#[derive(Debug, Clone)]
struct FileBlock {
    doc: PathBuf,
    line: usize,
    path: String,
    text: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every docs/*.md, sorted.
fn documents() -> Vec<PathBuf> {
    let mut docs = vec![root().join("README.md")];
    if let Ok(entries) = std::fs::read_dir(root().join("docs")) {
        let mut md: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
            .collect();
        md.sort();
        docs.extend(md);
    }
    docs.into_iter().filter(|p| p.is_file()).collect()
}

/// Fenced code blocks of a Markdown text (``` or ~~~, indented fences too).
fn blocks(doc: &Path, markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut lines = markdown.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim_start();
        let fence = if trimmed.starts_with("```") {
            "```"
        } else if trimmed.starts_with("~~~") {
            "~~~"
        } else {
            continue;
        };
        let info = trimmed.trim_start_matches(fence).trim().to_string();
        let lang = info.split_whitespace().next().unwrap_or("").to_string();
        let mut text = String::new();
        for (_, l) in lines.by_ref() {
            if l.trim_start().starts_with(fence) && l.trim().trim_start_matches(fence).is_empty() {
                break;
            }
            let cut = l.len() - l.trim_start().len();
            text.push_str(&l[cut.min(indent)..]);
            text.push('\n');
        }
        out.push(Block {
            doc: doc.to_path_buf(),
            line: i + 1,
            lang,
            info,
            text,
        });
    }
    out
}

/// `# key: value` lines at the top of a block.
fn directives(text: &str) -> Vec<(String, String)> {
    text.lines()
        .take_while(|l| l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let body = l.trim_start().trim_start_matches('#').trim();
            let (k, v) = body.split_once(':')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

fn without_first_line(text: &str) -> String {
    text.split_once('\n')
        .map(|(_, rest)| rest.to_string())
        .unwrap_or_default()
}

fn collect() -> (Vec<Example>, Vec<FileBlock>) {
    let mut examples = Vec::new();
    let mut files = Vec::new();
    for doc in documents() {
        let markdown = std::fs::read_to_string(&doc).unwrap();
        for b in blocks(&doc, &markdown) {
            let first = b.text.lines().next().unwrap_or("").trim().to_string();
            let info_file = b
                .info
                .split_whitespace()
                .find_map(|w| w.strip_prefix("file="))
                .map(str::to_string);
            if let Some(path) = first.strip_prefix("# file:") {
                files.push(FileBlock {
                    doc: b.doc.clone(),
                    line: b.line,
                    path: path.trim().to_string(),
                    text: without_first_line(&b.text),
                });
                continue;
            }
            if let Some(path) = info_file {
                files.push(FileBlock {
                    doc: b.doc.clone(),
                    line: b.line,
                    path,
                    text: b.text.clone(),
                });
                continue;
            }
            let Some(name) = first.strip_prefix("# example:") else {
                continue;
            };
            assert!(
                b.lang == "yaml" || b.lang == "yml",
                "{}:{}: an example must be a ```yaml block",
                b.doc.display(),
                b.line
            );
            let name = name.trim().to_string();
            let mut ex = Example {
                path: format!("{name}.yaml"),
                name,
                doc: b.doc.clone(),
                line: b.line,
                text: b.text.clone(),
                expect_exit: 0,
                test_server: false,
                args: Vec::new(),
                expect_output: Vec::new(),
            };
            for (k, v) in directives(&b.text).into_iter().skip(1) {
                match k.as_str() {
                    "expect-exit" => {
                        ex.expect_exit = v.parse().unwrap_or_else(|_| {
                            panic!("{}:{}: expect-exit `{v}`", b.doc.display(), b.line)
                        })
                    }
                    "base-url" => {
                        assert_eq!(
                            v,
                            "test-server",
                            "{}:{}: base-url takes `test-server`",
                            b.doc.display(),
                            b.line
                        );
                        ex.test_server = true;
                    }
                    "args" => ex.args.extend(v.split_whitespace().map(str::to_string)),
                    "expect-output" => ex.expect_output.push(v),
                    "path" => ex.path = v,
                    _ => {}
                }
            }
            examples.push(ex);
        }
    }
    (examples, files)
}

fn short(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

/// Run one example in a fresh folder; `Err` says what differed.
fn run(ex: &Example, files: &[FileBlock], base: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    for f in files.iter().filter(|f| f.doc == ex.doc) {
        let p = dir.path().join(&f.path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::write(&p, &f.text).map_err(|e| e.to_string())?;
    }
    let p = dir.path().join(&ex.path);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    std::fs::write(&p, &ex.text).map_err(|e| e.to_string())?;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_runner"));
    cmd.current_dir(dir.path())
        .arg(&ex.path)
        .env_remove("RUNNER_BASE_URL")
        .env("LAYERS_API_KEY", layers_mock::DEMO_KEY)
        .env("NO_COLOR", "1")
        .env("CI", "1");
    if ex.test_server {
        cmd.arg("--base-url").arg(base);
    }
    cmd.args(&ex.args);
    let out = run_with_timeout(cmd, Duration::from_secs(120));
    let code = out.status.code().unwrap_or(-1);
    let all = format!("{}\n{}", out.stdout, out.stderr);
    let mut problems = Vec::new();
    if code != ex.expect_exit {
        problems.push(format!("exit code {code}, the docs say {}", ex.expect_exit));
    }
    for want in &ex.expect_output {
        if !all.contains(want.as_str()) {
            problems.push(format!("the output lacks {want:?}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}:{}: example `{}`: {}\n--- output ---\n{all}",
            short(&ex.doc),
            ex.line,
            ex.name,
            problems.join("; ")
        ))
    }
}

#[test]
fn every_docs_example_runs_as_documented() {
    let (examples, files) = collect();
    assert!(!examples.is_empty(), "no `# example:` blocks in the docs");
    let mut names = HashSet::new();
    for ex in &examples {
        assert!(
            names.insert(ex.name.clone()),
            "{}:{}: the example name `{}` is used twice",
            short(&ex.doc),
            ex.line,
            ex.name
        );
    }
    let mut seen: BTreeMap<(PathBuf, String), usize> = BTreeMap::new();
    for f in &files {
        if let Some(first) = seen.insert((f.doc.clone(), f.path.clone()), f.line) {
            panic!(
                "{}: `# file: {}` appears at lines {first} and {}",
                short(&f.doc),
                f.path,
                f.line
            );
        }
    }
    let srv = LanguageServer::start();
    let failures: Vec<String> = std::thread::scope(|s| {
        let chunks: Vec<Vec<&Example>> = {
            let mut c: Vec<Vec<&Example>> = vec![Vec::new(); 3];
            for (i, ex) in examples.iter().enumerate() {
                c[i % 3].push(ex);
            }
            c
        };
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let files = &files;
                let base = srv.base_url.as_str();
                s.spawn(move || {
                    chunk
                        .into_iter()
                        .filter_map(|ex| run(ex, files, base).err())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} docs examples did not end as documented:\n\n{}",
        failures.len(),
        examples.len(),
        failures.join("\n\n")
    );
}

/// The language docs show every key, matcher, capture, filter and function in an
/// example that runs.
#[test]
fn every_feature_of_the_language_has_a_running_example() {
    let (examples, _) = collect();
    let text: String = examples
        .iter()
        .map(|e| format!("{}\n# args: {}\n", e.text, e.args.join(" ")))
        .collect();
    let key = |k: &str| {
        regex::Regex::new(&format!(r"(?m)(^|[\s{{,\-])(\$\.)?{}:", regex::escape(k)))
            .unwrap()
            .is_match(&text)
    };
    let mut missing = Vec::new();
    // Every key of the format, from the schema generated from the model: a key
    // added to the model needs a running example before this test passes.
    let mut keys: Vec<String> =
        runner::schema::object_keys(&runner::schema::scenario_schema(), "ScenarioDoc")
            .into_iter()
            .flat_map(|(_, keys)| keys)
            .chain(
                runner::scenario::expect::MATCHER_NAMES
                    .iter()
                    .map(|k| k.to_string()),
            )
            .collect();
    keys.sort();
    keys.dedup();
    assert!(keys.len() > 80, "only {} keys in the schema", keys.len());
    for k in &keys {
        if !key(k) {
            missing.push(format!("key `{k}:`"));
        }
    }
    for pattern in [
        r"\{\s*status:\s*true\s*\}",
        r"\{\s*body:\s*true\s*\}",
        r#"\{\s*json:\s*"?\$"#,
        r"\{\{\s*webhook\.url\s*\}\}",
        r"\{\{[^}]*env\.",
        r"\{\{[^}]*vars\.",
        r"status:\s*\[",
        r"status:\s*[1-5]xx",
    ] {
        if !regex::Regex::new(pattern).unwrap().is_match(&text) {
            missing.push(format!("pattern /{pattern}/"));
        }
    }
    let filters = runner::template::functions::FILTERS
        .iter()
        .map(|f| f.name)
        .chain(["urlencode", "default", "tojson"]);
    for f in filters {
        if !regex::Regex::new(&format!(r"\|\s*{f}\b"))
            .unwrap()
            .is_match(&text)
        {
            missing.push(format!("filter `| {f}`"));
        }
    }
    for f in runner::template::functions::FUNCTIONS
        .iter()
        .map(|f| f.name)
    {
        if !text.contains(&format!("{f}()")) {
            missing.push(format!("function `{f}()`"));
        }
    }
    for flag in [
        "--tag",
        "--skip-tag",
        "--filter",
        "--var",
        "--timeout",
        "--retries",
    ] {
        if !text.contains(&format!("# args: {flag}")) && !text.contains(&format!(" {flag} ")) {
            missing.push(format!("command-line flag {flag}"));
        }
    }
    assert!(
        missing.is_empty(),
        "no running docs example shows: {}",
        missing.join(", ")
    );
}

/// docs/templates.md's table of functions names exactly the functions templates
/// have, each with its call written `name()`.
#[test]
fn the_templates_doc_lists_exactly_the_functions() {
    let doc = std::fs::read_to_string(root().join("docs/templates.md")).unwrap();
    let section = doc
        .split("\n## Functions\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("docs/templates.md has a `## Functions` section");
    let mut documented: Vec<&str> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `")?.split_once("()`"))
        .map(|(name, _)| name)
        .collect();
    documented.sort_unstable();
    let mut table: Vec<&str> = runner::template::functions::FUNCTIONS
        .iter()
        .map(|f| f.name)
        .collect();
    table.sort_unstable();
    assert_eq!(documented, table);
}

/// docs/templates.md's table of this project's filters names exactly the filters
/// of `FILTERS`, each written `name` or `name(args)` as a call is.
#[test]
fn the_templates_doc_lists_exactly_the_filters() {
    let doc = std::fs::read_to_string(root().join("docs/templates.md")).unwrap();
    let section = doc
        .split("\n## Filters\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("docs/templates.md has a `## Filters` section");
    // The first table of the section is this project's; minijinja's follows.
    let ours = section
        .split("\nminijinja's")
        .next()
        .expect("split gives at least one piece");
    let mut documented: Vec<(&str, usize)> = ours
        .lines()
        .filter_map(|l| l.strip_prefix("| `")?.split_once('`'))
        .map(|(call, _)| match call.split_once('(') {
            Some((name, args)) => (name, args.trim_end_matches(')').split(',').count()),
            None => (call, 0),
        })
        .collect();
    documented.sort_unstable();
    let mut table: Vec<(&str, usize)> = runner::template::functions::FILTERS
        .iter()
        .map(|f| (f.name, f.max_args))
        .collect();
    table.sort_unstable();
    assert_eq!(documented, table);
}

#[test]
fn fenced_blocks_are_found_with_their_directives() {
    let md = "text\n\n```yaml\n# example: a\n# expect-exit: 1\n# args: --tag x\nname: a\n```\n\n  ```json file=s/x.json\n  {\"a\": 1}\n  ```\n";
    let found = blocks(Path::new("x.md"), md);
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].line, 3);
    assert_eq!(found[0].lang, "yaml");
    assert_eq!(
        directives(&found[0].text),
        vec![
            ("example".to_string(), "a".to_string()),
            ("expect-exit".to_string(), "1".to_string()),
            ("args".to_string(), "--tag x".to_string()),
        ]
    );
    assert_eq!(found[1].info, "json file=s/x.json");
    assert_eq!(found[1].text, "{\"a\": 1}\n");
}
