//! Checking a JUnit report the way CI consumers read it.
//!
//! 1. Against `tests/data/junit-10-relaxed.xsd` with `xmllint`, when xmllint is
//!    installed (`.ci/run` installs it); otherwise a note says the schema check was skipped.
//! 2. Always, in Rust: the file is UTF-8 and well-formed XML 1.0 (no character XML
//!    forbids, raw or as a character reference; no `]]>` in text; tags balanced), and
//!    the `tests`/`failures`/`errors`/`skipped` attributes of every `<testsuite>` and of
//!    `<testsuites>` equal what the `<testcase>` children actually hold. A schema cannot
//!    check those counts, and CI summaries add them up.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};

/// The schema this project's reports must satisfy (a copy of the shared one, MIT).
pub const XSD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/junit-10-relaxed.xsd"
);

/// An XML element with its attributes, children and text (entities resolved).
#[derive(Debug, Clone, Default)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// An attribute that must be there.
    pub fn req(&self, name: &str) -> &str {
        self.attr(name)
            .unwrap_or_else(|| panic!("<{}> has no `{name}` attribute: {self:?}", self.name))
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn has_child(&self, name: &str) -> bool {
        self.child(name).is_some()
    }

    /// The number in an attribute (0 when absent).
    fn count(&self, name: &str) -> usize {
        self.attr(name).map_or(0, |v| {
            v.parse()
                .unwrap_or_else(|_| panic!("<{}> {name}=\"{v}\" is not a count", self.name))
        })
    }
}

/// A checked report.
#[derive(Debug)]
pub struct Junit {
    pub root: Element,
    /// The raw file text.
    pub text: String,
}

impl Junit {
    pub fn suites(&self) -> Vec<&Element> {
        self.root.children_named("testsuite").collect()
    }

    pub fn cases(&self) -> Vec<&Element> {
        self.suites()
            .into_iter()
            .flat_map(|s| s.children_named("testcase"))
            .collect()
    }

    /// The first testcase of the first suite (an empty element when that suite has
    /// none; a report without a suite fails the test).
    pub fn first_case(&self) -> Element {
        let suites = self.suites();
        let first = suites
            .first()
            .unwrap_or_else(|| panic!("no <testsuite> in\n{}", self.text));
        first
            .children_named("testcase")
            .next()
            .cloned()
            .unwrap_or_default()
    }

    /// The testcase named `name` (panics, listing the names, when absent).
    pub fn case(&self, name: &str) -> &Element {
        let cases = self.cases();
        cases
            .iter()
            .find(|c| c.attr("name") == Some(name))
            .copied()
            .unwrap_or_else(|| {
                let names: Vec<&str> = cases.iter().filter_map(|c| c.attr("name")).collect();
                panic!("no testcase named {name:?}; there are {names:?}")
            })
    }
}

/// Whether `xmllint` can be run here.
pub fn xmllint_available() -> bool {
    Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Validate `path` with xmllint against the schema, if xmllint is installed.
/// Returns whether the schema check ran.
pub fn schema_check(path: &Path) -> bool {
    if !xmllint_available() {
        eprintln!(
            "note: xmllint is not installed; the XSD check of {} was skipped (well-formedness and counts are still checked). Install libxml2-utils to run it.",
            path.display()
        );
        return false;
    }
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(XSD)
        .arg(path)
        .output()
        .expect("run xmllint");
    assert!(
        out.status.success(),
        "{} does not validate against {XSD} (xmllint exit {:?}):\n{}\n--- report:\n{}",
        path.display(),
        out.status.code(),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(path).unwrap_or_default()
    );
    true
}

/// Every check: schema (when xmllint is there), well-formedness, counts, times,
/// unique testcases. Panics with the report on the first problem.
pub fn check(path: &Path) -> Junit {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    schema_check(path);
    let junit = parse_report(&bytes);
    check_counts(&junit);
    check_times(&junit.root);
    check_unique_cases(&junit);
    junit
}

/// Parse and check well-formedness (without the schema or counts).
pub fn parse_report(bytes: &[u8]) -> Junit {
    let text = std::str::from_utf8(bytes)
        .unwrap_or_else(|e| panic!("the report is not UTF-8: {e}"))
        .to_string();
    for (i, c) in text.char_indices() {
        assert!(
            is_xml_char(c),
            "the report holds U+{:04X} at byte {i}, which XML 1.0 forbids:\n{}",
            c as u32,
            context(&text, i)
        );
    }
    let root = parse_tree(&text);
    assert_eq!(
        root.name, "testsuites",
        "the root element is <{}>",
        root.name
    );
    Junit { root, text }
}

fn context(text: &str, at: usize) -> String {
    let mut start = at.saturating_sub(120);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (at + 120).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    format!("{:?}", &text[start..end])
}

/// XML 1.0's Char production.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r')
        || ('\u{20}'..='\u{D7FF}').contains(&c)
        || ('\u{E000}'..='\u{FFFD}').contains(&c)
        || c >= '\u{10000}'
}

fn parse_tree(text: &str) -> Element {
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().trim_text(false);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let pos = reader.buffer_position();
        let event = reader.read_event().unwrap_or_else(|e| {
            panic!(
                "the report is not well-formed XML at byte {pos}: {e}\n{}",
                context(text, usize::try_from(pos).unwrap_or(0).min(text.len()))
            )
        });
        match event {
            Event::Start(e) => stack.push(element(&e)),
            Event::Empty(e) => {
                let el = element(&e);
                attach(&mut stack, &mut root, el);
            }
            Event::End(_) => {
                let el = stack.pop().expect("end tag without start");
                attach(&mut stack, &mut root, el);
            }
            Event::Text(t) => {
                let raw = t.decode().expect("text decodes");
                assert!(
                    !raw.contains("]]>"),
                    "`]]>` appears in text content, which XML forbids: {raw:?}"
                );
                let content = t.xml10_content().expect("text decodes");
                push_text(&mut stack, &content);
            }
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    let c = r
                        .resolve_char_ref()
                        .unwrap_or_else(|e| {
                            panic!(
                                "bad character reference &{}; ({e})",
                                r.decode().unwrap_or_default()
                            )
                        })
                        .expect("a character reference");
                    assert!(
                        is_xml_char(c),
                        "character reference to U+{:04X}, which XML 1.0 forbids",
                        c as u32
                    );
                    c.to_string()
                } else {
                    let name = r.decode().expect("entity name").into_owned();
                    match name.as_str() {
                        "amp" => "&".into(),
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "quot" => "\"".into(),
                        "apos" => "'".into(),
                        other => panic!("undefined entity &{other};"),
                    }
                };
                push_text(&mut stack, &resolved);
            }
            Event::CData(c) => {
                let content = c.decode().expect("CDATA decodes");
                push_text(&mut stack, &content);
            }
            Event::Eof => break,
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    assert!(
        stack.is_empty(),
        "unclosed elements at the end of the report"
    );
    root.expect("the report has no root element")
}

fn element(e: &BytesStart<'_>) -> Element {
    let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.unwrap_or_else(|err| panic!("bad attribute in <{name}>: {err}"));
        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .unwrap_or_else(|err| panic!("bad value of {name}/@{key}: {err}"))
            .into_owned();
        for c in value.chars() {
            assert!(
                is_xml_char(c),
                "{name}/@{key} holds U+{:04X}, which XML 1.0 forbids",
                c as u32
            );
        }
        attrs.push((key, value));
    }
    Element {
        name,
        attrs,
        ..Element::default()
    }
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, el: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => {
            assert!(root.is_none(), "more than one root element");
            *root = Some(el);
        }
    }
}

fn push_text(stack: &mut [Element], text: &str) {
    if let Some(top) = stack.last_mut() {
        top.text.push_str(text);
    } else {
        assert!(
            text.trim().is_empty(),
            "text outside the root element: {text:?}"
        );
    }
}

/// The declared counts of every suite and of the whole report equal the testcases'.
pub fn check_counts(junit: &Junit) {
    let mut total = [0usize; 4];
    for suite in junit.suites() {
        let mut actual = [0usize; 4];
        for case in suite.children_named("testcase") {
            let outcomes = ["failure", "error", "skipped"]
                .iter()
                .filter(|k| case.has_child(k))
                .count();
            assert!(
                outcomes <= 1,
                "testcase {:?} has more than one of failure/error/skipped",
                case.attr("name")
            );
            actual[0] += 1;
            actual[1] += usize::from(case.has_child("failure"));
            actual[2] += usize::from(case.has_child("error"));
            actual[3] += usize::from(case.has_child("skipped"));
        }
        let declared = [
            suite.count("tests"),
            suite.count("failures"),
            suite.count("errors"),
            suite.count("skipped"),
        ];
        assert_eq!(
            declared,
            actual,
            "suite {:?}: declared [tests, failures, errors, skipped] differ from its testcases\n{}",
            suite.attr("name"),
            junit.text
        );
        for (t, a) in total.iter_mut().zip(actual) {
            *t += a;
        }
    }
    let declared = [
        junit.root.count("tests"),
        junit.root.count("failures"),
        junit.root.count("errors"),
        junit.root.count("skipped"),
    ];
    assert_eq!(
        declared, total,
        "<testsuites> declared [tests, failures, errors, skipped] differ from the testcases\n{}",
        junit.text
    );
}

/// Every `time` is seconds with at most 3 decimals (the Surefire pattern CI parsers accept).
fn check_times(el: &Element) {
    if let Some(t) = el.attr("time") {
        let ok = match t.split_once('.') {
            Some((whole, frac)) => {
                !whole.is_empty()
                    && whole.bytes().all(|b| b.is_ascii_digit())
                    && (1..=3).contains(&frac.len())
                    && frac.bytes().all(|b| b.is_ascii_digit())
            }
            None => !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()),
        };
        assert!(
            ok,
            "<{}> time=\"{t}\" is not seconds with at most 3 decimals",
            el.name
        );
    }
    for c in &el.children {
        check_times(c);
    }
}

/// GitLab keeps one testcase per (classname, name); duplicates hide results.
fn check_unique_cases(junit: &Junit) {
    let mut seen = std::collections::HashSet::new();
    for c in junit.cases() {
        let key = (
            c.attr("classname").unwrap_or(""),
            c.attr("name").unwrap_or(""),
        );
        assert!(seen.insert(key), "duplicate testcase {key:?}");
    }
}
