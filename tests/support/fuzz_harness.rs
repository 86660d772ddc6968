//! What the fuzz targets (fuzz/fuzz_targets/*.rs) feed arbitrary bytes to, and
//! what tests/fuzz_regressions.rs replays every kept crash input through. Each
//! function must return, whatever the bytes: no panic, no hang.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use runner::diagnostic::Loc;
use runner::engine::assert::{Observed, evaluate};
use runner::http::Response;
use runner::scenario::expect::Expect;
use runner::scenario::values::{JsonPathSpec, TValue, Tpl};
use runner::template::Templates;

/// A folder of this process's own for the scenario file under test.
fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("runner-fuzz-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&d);
        d
    })
}

/// Bytes as a scenario file: discover, parse, include, expand, check; and, when
/// that fails, the diagnostics rendered with their snippets.
pub fn load(data: &[u8]) {
    let path = scratch().join("scenario.yaml");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    match runner::scenario::load::load_suite(std::slice::from_ref(&path), &["cli_var".to_string()])
    {
        Ok((scenarios, templates)) => {
            // Whatever loaded must be usable: every step's templates render or
            // fail with an error value.
            let scope = runner::template::to_value(serde_json::json!({}));
            for s in &scenarios {
                for st in s.all_steps() {
                    if let runner::scenario::Action::Request(r) = &st.action {
                        let _ = templates.render_str(&r.url, &scope);
                    }
                }
            }
        }
        Err(d) => {
            let _ = d.render();
        }
    }
}

/// The first line is a template; the rest, when it is JSON, is the scope.
fn split(data: &[u8]) -> (String, &[u8]) {
    let cut = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let head = String::from_utf8_lossy(&data[..cut]).into_owned();
    let rest = data.get(cut + 1..).unwrap_or(&[]);
    (head, rest)
}

fn scope_of(rest: &[u8]) -> minijinja::Value {
    let json = serde_json::from_slice::<serde_json::Value>(rest)
        .ok()
        .filter(|v| v.is_object())
        .unwrap_or_else(|| {
            serde_json::json!({
                "id": "prj_1", "n": 42, "f": 1.5, "list": [1, "a", null],
                "obj": {"k": "v", "nested": {"x": [true]}}, "empty": ""
            })
        });
    runner::template::to_value(json)
}

/// A template compiled both ways (text and typed), then rendered in a scope.
pub fn template(data: &[u8]) {
    let (src, rest) = split(data);
    let mut t = Templates::new();
    let mut text = Tpl::new(src.clone(), Loc::new(1, 1));
    let mut typed = Tpl::new(src, Loc::new(1, 1));
    let scope = scope_of(rest);
    if t.compile("fuzz", &mut text, false).is_ok() {
        let _ = t.names_used(&text);
        let _ = t.nested_names_used(&text);
        let _ = t.render_str(&text, &scope);
    }
    if t.compile("fuzz-typed", &mut typed, true).is_ok() {
        let _ = t.render_json(&TValue::Str(typed), &scope);
    }
}

/// The first line is a JSONPath queried on the rest as a body; the rest is also
/// read as an `expect:` block (YAML) evaluated against a response whose body is
/// the first line.
pub fn jsonpath_assert(data: &[u8]) {
    let (first, rest) = split(data);
    let path = JsonPathSpec::parse(first.clone(), Loc::new(1, 1));
    runner::scenario::sink::drain();
    if let (Some(p), Ok(body)) = (
        &path.path,
        serde_json::from_slice::<serde_json::Value>(rest),
    ) {
        let _ = p.query(&body).all();
    }
    let Ok(yaml) = std::str::from_utf8(rest) else {
        return;
    };
    let parsed = serde_saphyr::from_str::<Expect>(yaml);
    runner::scenario::sink::drain();
    let Ok(expect) = parsed else { return };
    let response = Response {
        status: 200,
        version: "HTTP/1.1".into(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: bytes::Bytes::from(first.into_bytes()),
        truncated: false,
        elapsed: Duration::from_millis(3),
        body_problem: None,
        wire_bytes: 0,
    };
    let templates = Templates::new();
    let scope = scope_of(b"");
    let obs = Observed::new(&response);
    let _ = evaluate(&expect, &obs, &templates, &scope, true);
}
