//! A self-contained HTML report of the run, for people: a summary, a filterable
//! list of scenarios, and per scenario a timeline of its steps with each request,
//! response and assertion.
//!
//! How the page stays safe and quick:
//!
//! - The summary and the list are written here, in Rust, with every string from a
//!   file or a server HTML-escaped. They read without any script (a CI viewer that
//!   blocks scripts still shows what failed and why).
//! - Each scenario's steps travel as JSON, one line per scenario, in one
//!   `<script type="application/json">` block (a data block: browsers never run
//!   it; `<`, `>` and `&` are written as `\u003c`... so no text can close it). One
//!   script, `html/report.js`, parses a scenario's line and draws its steps only
//!   when it is opened, building elements with `textContent` only: a body holding
//!   `<script>` shows as text. Drawing on demand is what keeps 10,000 scenarios
//!   quick to open: the browser lays out one line per scenario, not every header
//!   of every response, and parses no JSON up front.
//! - A Content-Security-Policy forbids everything but that one script and the one
//!   style sheet, each allowed by its SHA-256 hash: no inline script or event
//!   handler, no image, font, frame or connection, so even a mistake in the escaping
//!   could neither run code nor send a request.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use base64::Engine as _;
use serde::Serialize;
use sha2::Digest as _;

use super::Summary;
use super::pipeline::{Assembly, FileFormat, FileReporter};
use crate::events::{
    Assertion, DeliveryRecord, Outcome, Phase, RequestRecord, ResponseRecord, RunInfo,
    ScenarioReport, StepReport,
};
use crate::secrets::Redactor;

const SCRIPT: &str = include_str!("html/report.js");
const STYLE: &str = include_str!("html/report.css");

/// The policy of the page: only the report's own script and style sheet, by hash.
static CSP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; script-src '{}'; style-src '{}'; img-src 'none'; \
         base-uri 'none'; form-action 'none'",
        sha256_source(SCRIPT),
        sha256_source(STYLE)
    )
});

fn sha256_source(text: &str) -> String {
    let digest = sha2::Sha256::digest(text.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// Where `--report-html PATH` writes: PATH itself when it names an `.html`/`.htm`
/// file, else `PATH/index.html` (a folder, made if missing, as CI artifacts want);
/// `-` is standard output, like the other reports.
pub fn target_file(path: &Path) -> PathBuf {
    if super::is_stdout(path) {
        return super::report_path(path);
    }
    let is_page = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"));
    if is_page && !path.is_dir() {
        path.to_path_buf()
    } else {
        path.join("index.html")
    }
}

/// The page, rendered as scenarios finish like the JSON report: each scenario's
/// line of the list and its line of data are made then (kept on disk by the
/// pipeline, two streams); the page is put together, in scenario order, at the end.
pub struct Html {
    links: Links,
    /// The earliest scenario start (RFC 3339 strings of one clock sort by time).
    started: Option<String>,
}

impl Html {
    /// For a page written at `report_path`: links to scenario files are relative
    /// to it, so they work wherever the report and the files move together.
    pub fn new(report_path: &Path) -> Self {
        Html {
            links: Links::new(report_path),
            started: None,
        }
    }
}

/// The HTML report file.
pub type HtmlReporter = FileReporter<Html>;

impl FileReporter<Html> {
    /// `path` as given on the command line (a folder or an `.html` file).
    pub fn new(path: &Path, redactor: Redactor) -> Self {
        let path = target_file(path);
        FileReporter::with_format(path.clone(), Html::new(&path), redactor)
    }
}

/// The list (stream 0) and the data block (stream 1).
const ROWS: usize = 0;
const DATA: usize = 1;

impl FileFormat for Html {
    fn name(&self) -> &'static str {
        "HTML"
    }

    fn scenario(&mut self, s: &ScenarioReport) -> Result<Vec<Vec<u8>>, String> {
        let mut line = String::new();
        row(&mut line, s);
        let data = data_line(s, &mut self.links)?;
        if !s.started_at.is_empty()
            && self
                .started
                .as_deref()
                .is_none_or(|t| s.started_at.as_str() < t)
        {
            self.started = Some(s.started_at.clone());
        }
        Ok(vec![line.into_bytes(), data.into_bytes()])
    }

    fn assemble(
        &mut self,
        run: Option<&RunInfo>,
        summary: &Summary,
        file: &mut Assembly<'_>,
    ) -> Result<(), String> {
        file.write(head(run, self.started.as_deref(), summary).as_bytes())?;
        let n = file.scenarios();
        for i in 0..n {
            file.piece(ROWS, i)?;
        }
        file.write(DATA_OPEN.as_bytes())?;
        // One line per row, in the same order: the script finds a row's data by position.
        let mut any = false;
        for i in 0..n {
            if file.has(DATA, i) {
                if any {
                    file.write(b"\n")?;
                }
                file.piece(DATA, i)?;
                any = true;
            }
        }
        file.write(tail().as_bytes())
    }
}

/// What opens the data block, after the list.
const DATA_OPEN: &str = "</ol>\n<script type=\"application/json\" id=\"data\">";

fn tail() -> String {
    format!("</script>\n<script>{SCRIPT}</script>\n</body>\n</html>\n")
}

/// A scenario's line of the data block: its JSON, safe inside the block.
fn data_line(s: &ScenarioReport, links: &mut Links) -> Result<String, String> {
    let json = serde_json::to_string(&scenario_data(s, links))
        .map_err(|e| format!("cannot serialize the HTML report's data: {e}"))?;
    let mut out = String::with_capacity(json.len() + 64);
    push_script_safe_json(&mut out, &json);
    Ok(out)
}

/// The whole page at once (the reporter streams the same pieces). `report_path` is
/// where it will be written: links to scenario files are relative to it.
pub fn render<S: std::borrow::Borrow<ScenarioReport>>(
    run: Option<&RunInfo>,
    scenarios: &[S],
    summary: &Summary,
    report_path: &Path,
) -> Result<String, String> {
    let bytes = super::pipeline::render(&mut Html::new(report_path), run, scenarios, summary)?;
    String::from_utf8(bytes).map_err(|e| format!("the HTML report is not UTF-8: {e}"))
}

/// Everything before the list's lines.
fn head(run: Option<&RunInfo>, started: Option<&str>, summary: &Summary) -> String {
    let mut out = String::with_capacity(16 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(
        out,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
        esc(&CSP)
    );
    out.push_str("<meta name=\"referrer\" content=\"no-referrer\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<title>{}</title>", esc(&title(summary)));
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>");
    header(&mut out, run, started, summary);
    openapi_coverage(&mut out, &summary.openapi_coverage);
    out.push_str(
        "<p class=\"nojs\">This viewer did not run the report's script: the list below is \
         complete, but a scenario's steps, requests and responses, its timeline and the \
         filter need it. Open the file in a browser, or read the JSON report \
         (<code>--report-json</code>).</p>\n",
    );
    filters(&mut out, summary);
    out.push_str("<ol id=\"list\">\n");
    out
}

fn title(s: &Summary) -> String {
    let verdict = if s.all_passed() { "passed" } else { "FAILED" };
    format!(
        "runner: {verdict}: {} passed, {} failed, {} {}",
        s.passed,
        s.failed,
        s.errors,
        plural(s.errors, "error", "errors")
    )
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

fn header(out: &mut String, run: Option<&RunInfo>, started: Option<&str>, s: &Summary) {
    let (class, verdict) = match (s.all_passed(), s.interrupted) {
        (_, true) => ("o-error", "Interrupted"),
        (true, false) => ("o-passed", "Passed"),
        (false, false) => ("o-failed", "Failed"),
    };
    let _ = writeln!(
        out,
        "<header>\n<h1><span class=\"verdict {class}\" id=\"verdict\">{verdict}</span> runner report</h1>"
    );
    out.push_str("<ul class=\"tiles\" id=\"counts\">\n");
    let tiles = [
        ("total", "scenarios", s.total),
        ("passed", "passed", s.passed),
        ("failed", "failed", s.failed),
        ("error", plural(s.errors, "error", "errors"), s.errors),
        ("skipped", "skipped", s.skipped),
        ("flaky", "flaky", s.flaky),
    ];
    for (key, label, n) in tiles {
        let _ = writeln!(
            out,
            "<li class=\"tile o-{key}\"><b id=\"count-{key}\">{n}</b> {label}</li>"
        );
    }
    out.push_str("</ul>\n<dl class=\"facts\">\n");
    let _ = writeln!(
        out,
        "<dt>duration</dt><dd id=\"duration\">{}</dd>",
        esc(&fmt_ms(ms(s.duration)))
    );
    if let Some(first) = started {
        let _ = writeln!(out, "<dt>started</dt><dd>{}</dd>", esc(first));
    }
    if let Some(run) = run {
        let _ = writeln!(
            out,
            "<dt>target</dt><dd id=\"target\">{}</dd>",
            esc(&run.target)
        );
        let _ = writeln!(out, "<dt>jobs</dt><dd>{} at once</dd>", run.jobs);
    }
    if let Some(sp) = &s.spend {
        let mut parts = vec![
            format!("{} credits", sp.credits),
            format!("{} scraper calls", sp.scraper_calls),
            format!("{} agent runs", sp.agent_runs),
            format!("{} pull requests", sp.pull_requests),
            format!("{} posts", sp.posts),
        ];
        if sp.ad_spend > 0 {
            parts.push(format!("{} cents of ad spend", sp.ad_spend));
        }
        parts.push(format!(
            "jobs: {} started, {} cancelled, {} left running",
            sp.jobs_started, sp.jobs_canceled, sp.jobs_left_running
        ));
        let _ = writeln!(
            out,
            "<dt>spend</dt><dd id=\"spend\">{} <small>(the embedded mock's ledger: what the real API would have cost)</small></dd>",
            esc(&parts.join(", "))
        );
    }
    let _ = writeln!(
        out,
        "<dt>runner</dt><dd>{}</dd>\n</dl>\n</header>",
        env!("CARGO_PKG_VERSION")
    );
}

/// `--openapi-coverage`: for each document, every operation with the documented
/// responses the run exercised and those it did not. Plain markup, readable
/// without the script, like the list.
fn openapi_coverage(out: &mut String, coverage: &[crate::contract::Coverage]) {
    if coverage.is_empty() {
        return;
    }
    out.push_str("<section id=\"openapi-coverage\">\n<h2>OpenAPI coverage</h2>\n");
    for c in coverage {
        let _ = writeln!(
            out,
            "<h3 class=\"cov-spec\"><code>{}</code>: {}</h3>",
            esc(&c.spec),
            esc(&c.headline())
        );
        out.push_str(
            "<table class=\"cov\">\n<thead><tr><th>operation</th><th>exercised</th><th>not exercised</th></tr></thead>\n<tbody>\n",
        );
        for o in &c.operations {
            let class = if o.exercised.is_empty() {
                "cov-none"
            } else if o.missed.is_empty() {
                "cov-all"
            } else {
                "cov-some"
            };
            let _ = write!(
                out,
                "<tr class=\"{class}\"><td class=\"op\">{} {}",
                esc(&o.method),
                esc(&o.path)
            );
            if let Some(id) = &o.id {
                let _ = write!(out, " <small>{}</small>", esc(id));
            }
            out.push_str("</td><td class=\"hit\">");
            statuses(out, &o.exercised);
            out.push_str("</td><td class=\"miss\">");
            statuses(out, &o.missed);
            out.push_str("</td></tr>\n");
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</section>\n");
}

fn statuses(out: &mut String, keys: &[String]) {
    if keys.is_empty() {
        out.push_str("<span class=\"none\">none</span>");
    }
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "<span class=\"st\">{}</span>", esc(k));
    }
}

fn filters(out: &mut String, s: &Summary) {
    out.push_str(
        "<div id=\"filters\" class=\"jsonly\">\n<input id=\"q\" type=\"search\" \
         placeholder=\"filter by name, file, tag or message\" aria-label=\"filter scenarios\" autocomplete=\"off\">\n",
    );
    let boxes = [
        ("passed", "passed", s.passed),
        ("failed", "failed", s.failed),
        ("error", "errors", s.errors),
        ("skipped", "skipped", s.skipped),
    ];
    for (key, label, n) in boxes {
        let _ = writeln!(
            out,
            "<label class=\"o-{key}\"><input type=\"checkbox\" data-outcome=\"{key}\" checked> {label} ({n})</label>"
        );
    }
    out.push_str("<span id=\"shown\"></span>\n</div>\n");
}

/// One scenario's line: what a person scans for, without any script. Plain
/// elements, not `<details>`: each `<details>` costs the browser a shadow tree, and
/// 10,000 of them took seconds to lay out; the script opens a line on a click.
fn row(out: &mut String, s: &ScenarioReport) {
    let o = outcome_key(s.outcome);
    let _ = write!(
        out,
        "<li class=\"sc o-{o}\" id=\"s-{}\"><div class=\"rh\" tabindex=\"0\" role=\"button\" aria-expanded=\"false\"><span class=\"badge o-{o}\">{}</span> <span class=\"nm\">{}</span> <span class=\"fl\">{}</span> <span class=\"du\">{}</span>",
        s.index,
        badge(s.outcome),
        esc(&s.name),
        esc(&s.file),
        esc(&fmt_ms(ms(s.duration)))
    );
    if s.verdict().flaky {
        out.push_str(" <span class=\"tag flaky\">flaky</span>");
    }
    if s.interrupted {
        out.push_str(" <span class=\"tag\">interrupted</span>");
    }
    for t in &s.tags {
        let _ = write!(out, " <span class=\"tag\">{}</span>", esc(t));
    }
    if let Some(why) = reason(s) {
        let _ = write!(out, "<span class=\"why\">{}</span>", esc(&why));
    }
    out.push_str("</div></li>\n");
}

/// The first thing that went wrong, on one line (the row's text, readable without script).
fn reason(s: &ScenarioReport) -> Option<String> {
    if let Some(st) = s.first_problem() {
        let what = match (st.failures.first(), &st.message) {
            (Some(f), _) if st.failures.len() > 1 => {
                format!("{f} (and {} more)", st.failures.len() - 1)
            }
            (Some(f), _) => f.to_string(),
            (None, Some(m)) => m.clone(),
            (None, None) => "did not pass".into(),
        };
        let phase = if st.phase == Phase::Finally {
            "finally step"
        } else {
            "step"
        };
        return Some(format!(
            "{phase} {} \"{}\" ({}): {what}",
            st.number, st.name, st.location
        ));
    }
    match s.outcome {
        Outcome::Passed => None,
        _ => s.message.clone(),
    }
}

fn badge(o: Outcome) -> &'static str {
    match o {
        Outcome::Passed => "PASS",
        Outcome::Failed => "FAIL",
        Outcome::Error => "ERROR",
        Outcome::Skipped => "SKIP",
    }
}

fn outcome_key(o: Outcome) -> &'static str {
    match o {
        Outcome::Passed => "passed",
        Outcome::Failed => "failed",
        Outcome::Error => "error",
        Outcome::Skipped => "skipped",
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 100_000.0).round() / 100.0
}

fn fmt_ms(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{} ms", ms.round())
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

// ---- the data block ------------------------------------------------------------

#[derive(Serialize)]
struct ScenarioData<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    started_at: &'a str,
    ms: f64,
    steps: Vec<StepData<'a>>,
}

#[derive(Serialize)]
struct StepData<'a> {
    name: &'a str,
    phase: Phase,
    number: usize,
    location: &'a str,
    /// The step's file, relative to the report (None when it cannot be linked).
    #[serde(skip_serializing_if = "Option::is_none")]
    href: Option<String>,
    outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    ms: f64,
    attempts: u32,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    failed_attempts: &'a [String],
    assertions: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    failures: Vec<[&'a str; 3]>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    passed: Vec<[&'a str; 3]>,
    /// The exchanges of the step in the order they happened: redirect hops first
    /// (when the events carry them), the final request and response last.
    exchanges: Vec<ExchangeData<'a>>,
    /// For a step that failed or errored: a `curl` command sending its request again.
    #[serde(skip_serializing_if = "Option::is_none")]
    curl: Option<String>,
}

#[derive(Serialize)]
struct ExchangeData<'a> {
    /// A redirect hop rather than the final exchange.
    #[serde(skip_serializing_if = "is_false")]
    hop: bool,
    request: Option<RequestData<'a>>,
    response: Option<ResponseData<'a>>,
}

#[derive(Serialize)]
struct RequestData<'a> {
    method: &'a str,
    url: &'a str,
    headers: &'a [(String, String)],
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<Cow<'a, str>>,
}

#[derive(Serialize)]
struct ResponseData<'a> {
    /// A webhook delivery: its line, said as every reporter says it (it has no
    /// status or version).
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery: Option<String>,
    status: u16,
    version: &'a str,
    headers: &'a [(String, String)],
    body: Cow<'a, str>,
    /// The body was JSON and is shown re-indented.
    #[serde(skip_serializing_if = "is_false")]
    pretty: bool,
    body_bytes: usize,
    /// The runner stopped reading at `--max-body`.
    #[serde(skip_serializing_if = "is_false")]
    truncated: bool,
    /// The report keeps only the start of the body.
    #[serde(skip_serializing_if = "is_false")]
    cut: bool,
    ms: u64,
}

fn is_false(b: &bool) -> bool {
    !b
}

fn scenario_data<'a>(s: &'a ScenarioReport, links: &mut Links) -> ScenarioData<'a> {
    ScenarioData {
        message: s.message.as_deref(),
        started_at: &s.started_at,
        ms: ms(s.duration),
        steps: s.steps.iter().map(|st| step_data(st, links)).collect(),
    }
}

fn step_data<'a>(st: &'a StepReport, links: &mut Links) -> StepData<'a> {
    let triple = |a: &'a Assertion| [a.subject.as_str(), a.expected.as_str(), a.actual.as_str()];
    StepData {
        name: &st.name,
        phase: st.phase,
        number: st.number,
        location: &st.location,
        href: links.of_location(&st.location),
        outcome: st.outcome,
        message: st.message.as_deref(),
        ms: ms(st.duration),
        attempts: st.attempts,
        failed_attempts: &st.failed_attempts,
        assertions: st.assertions,
        failures: st.failures.iter().map(triple).collect(),
        passed: st.passed.iter().map(triple).collect(),
        exchanges: exchanges(st),
        curl: st
            .request
            .as_ref()
            .filter(|_| matches!(st.outcome, Outcome::Failed | Outcome::Error))
            .map(RequestRecord::reproducer),
    }
}

/// The exchanges a step's timeline shows: the redirect hops first, in order, with
/// `hop: true`, then the final request and response.
fn exchanges(st: &StepReport) -> Vec<ExchangeData<'_>> {
    let mut out: Vec<ExchangeData<'_>> = st
        .redirects
        .iter()
        .map(|x| exchange(Some(&x.request), Some(&x.response), true))
        .collect();
    if st.request.is_some() || st.response.is_some() {
        out.push(exchange(st.request.as_ref(), st.response.as_ref(), false));
    }
    if let Some(d) = &st.delivery {
        out.push(delivery(d));
    }
    out
}

fn delivery(d: &DeliveryRecord) -> ExchangeData<'_> {
    let pretty = pretty_json(&d.body);
    ExchangeData {
        hop: false,
        request: None,
        response: Some(ResponseData {
            delivery: Some(d.summary()),
            status: 0,
            version: "",
            headers: &d.headers,
            pretty: pretty.is_some(),
            body: pretty.map_or(Cow::Borrowed(d.body.as_str()), Cow::Owned),
            body_bytes: d.body_bytes,
            truncated: d.truncated,
            cut: is_excerpt(&d.body),
            ms: d.after_ms,
        }),
    }
}

fn exchange<'a>(
    req: Option<&'a RequestRecord>,
    resp: Option<&'a ResponseRecord>,
    hop: bool,
) -> ExchangeData<'a> {
    ExchangeData {
        hop,
        request: req.map(|q| RequestData {
            method: &q.method,
            url: &q.url,
            headers: &q.headers,
            body: q
                .body
                .as_deref()
                .map(|b| pretty_json(b).map_or(Cow::Borrowed(b), Cow::Owned)),
        }),
        response: resp.map(|r| {
            let pretty = pretty_json(&r.body);
            ResponseData {
                delivery: None,
                status: r.status,
                version: &r.version,
                headers: &r.headers,
                pretty: pretty.is_some(),
                body: pretty.map_or(Cow::Borrowed(r.body.as_str()), Cow::Owned),
                body_bytes: r.body_bytes,
                truncated: r.truncated,
                cut: is_excerpt(&r.body),
                ms: r.time_ms,
            }
        }),
    }
}

/// Whether `events::excerpt` cut this text (it ends `… (N bytes in all)`).
fn is_excerpt(text: &str) -> bool {
    text.strip_suffix(" bytes in all)")
        .and_then(|t| t.rsplit_once("… ("))
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A JSON object or array re-indented, its tokens kept exactly as sent.
///
/// Hand-written rather than serde_json's pretty printer because that one rewrites
/// what it prints: `1.0e2` becomes `100.0`, an integer beyond 64 bits loses digits,
/// and a report must show what the server sent. serde_json still decides whether
/// the text is JSON at all, so only valid JSON (nesting bounded by its recursion
/// limit) gets here.
fn pretty_json(text: &str) -> Option<String> {
    let t = text.trim();
    if !(t.starts_with('{') || t.starts_with('[')) {
        return None;
    }
    serde_json::from_str::<serde::de::IgnoredAny>(t).ok()?;
    let mut out = String::with_capacity(t.len() + t.len() / 2);
    let mut depth = 0usize;
    let mut chars = t.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push('"');
                let mut escaped = false;
                for c in chars.by_ref() {
                    out.push(c);
                    match c {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '{' | '[' => {
                out.push(c);
                while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('}' | ']')) {
                    if let Some(close) = chars.next() {
                        out.push(close);
                    }
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
    }
    Some(out)
}

/// Links from the report to the scenario files, relative to the report's folder.
struct Links {
    base: Option<url::Url>,
    cache: HashMap<String, Option<String>>,
}

impl Links {
    fn new(report_path: &Path) -> Self {
        let base = std::path::absolute(report_path)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .and_then(|dir| url::Url::from_directory_path(dir).ok());
        Links {
            base,
            cache: HashMap::new(),
        }
    }

    /// The link for a `file:line` location.
    fn of_location(&mut self, location: &str) -> Option<String> {
        let file = match location.rsplit_once(':') {
            Some((file, line)) if line.bytes().all(|b| b.is_ascii_digit()) => file,
            _ => location,
        };
        if let Some(hit) = self.cache.get(file) {
            return hit.clone();
        }
        let href = self.compute(file);
        self.cache.insert(file.to_string(), href.clone());
        href
    }

    fn compute(&self, file: &str) -> Option<String> {
        let base = self.base.as_ref()?;
        let abs = std::path::absolute(file).ok()?;
        let target = url::Url::from_file_path(abs).ok()?;
        let rel = base.make_relative(&target)?;
        // A first segment holding `:` would read as a scheme (`javascript:`).
        let first = rel.split('/').next().unwrap_or("");
        if first.contains(':') || rel.is_empty() {
            Some(format!("./{rel}"))
        } else {
            Some(rel)
        }
    }
}

// ---- escaping --------------------------------------------------------------------

/// `text` as HTML text or attribute value: markup characters as entities, control
/// characters as their visible pictures (␛ for ESC) so that they cannot garble the page.
fn esc(text: &str) -> Cow<'_, str> {
    let needs = text
        .chars()
        .any(|c| matches!(c, '&' | '<' | '>' | '"' | '\'') || is_control(c));
    if !needs {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if is_control(c) => out.push(control_picture(c)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn is_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

fn control_picture(c: char) -> char {
    match c as u32 {
        n @ 0..=0x1f => char::from_u32(0x2400 + n).unwrap_or('\u{FFFD}'),
        0x7f => '\u{2421}',
        _ => '\u{FFFD}',
    }
}

/// JSON inside `<script type="application/json">`: the HTML parser ends that
/// element at `</script` and treats `<!--` specially, so no `<` may appear in it;
/// `>` and `&` go too, for any reader that would look for them.
fn push_script_safe_json(out: &mut String, json: &str) {
    let mut rest = json;
    while let Some(i) = rest.find(['<', '>', '&']) {
        out.push_str(&rest[..i]);
        out.push_str(match rest.as_bytes()[i] {
            b'<' => "\\u003c",
            b'>' => "\\u003e",
            _ => "\\u0026",
        });
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Event;
    use crate::report::Reporter as _;

    #[test]
    fn pretty_json_keeps_every_token_as_sent() {
        let cases = [
            (r#"{"a":1}"#, "{\n  \"a\": 1\n}"),
            (r#" [ ] "#, "[]"),
            (
                r#"{"n":1.0e2,"big":123456789012345678901234567890}"#,
                "{\n  \"n\": 1.0e2,\n  \"big\": 123456789012345678901234567890\n}",
            ),
            (
                r#"{"s":"a,b:{[\"]}","e":{},"l":[1,[2]]}"#,
                "{\n  \"s\": \"a,b:{[\\\"]}\",\n  \"e\": {},\n  \"l\": [\n    1,\n    [\n      2\n    ]\n  ]\n}",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(pretty_json(input).as_deref(), Some(want), "{input}");
        }
        for not_json in [
            "",
            "42",
            "\"s\"",
            "{",
            "{\"a\":1} trailing",
            "<html>",
            "{\"a\":1}… (9 bytes in all)",
        ] {
            assert_eq!(pretty_json(not_json), None, "{not_json}");
        }
    }

    #[test]
    fn escaping_leaves_no_markup() {
        let cases = [
            ("plain", "plain"),
            (
                "<script>alert(1)</script>",
                "&lt;script&gt;alert(1)&lt;/script&gt;",
            ),
            ("\" onerror='x' &", "&quot; onerror=&#39;x&#39; &amp;"),
            (
                "bell\u{7}esc\u{1b}[0m del\u{7f} c1\u{85}",
                "bell\u{2407}esc\u{241b}[0m del\u{2421} c1\u{FFFD}",
            ),
            ("tab\tnew\nline", "tab\tnew\nline"),
        ];
        for (input, want) in cases {
            assert_eq!(esc(input), want, "{input:?}");
        }
        let mut out = String::new();
        push_script_safe_json(&mut out, r#"["</script><!-- & -->"]"#);
        assert_eq!(out, r#"["\u003c/script\u003e\u003c!-- \u0026 --\u003e"]"#);
        let back: Vec<String> = serde_json::from_str(&out).unwrap();
        assert_eq!(back, ["</script><!-- & -->"]);
    }

    #[test]
    fn the_page_assets_cannot_close_their_elements() {
        assert!(!SCRIPT.to_ascii_lowercase().contains("</script"));
        assert!(!STYLE.to_ascii_lowercase().contains("</style"));
        assert!(!SCRIPT.contains("innerHTML") && !SCRIPT.contains("outerHTML"));
        assert!(!SCRIPT.contains("insertAdjacentHTML") && !SCRIPT.contains("document.write"));
        assert!(!SCRIPT.contains("eval(") && !SCRIPT.contains("Function("));
    }

    /// The browser runs the script and applies the style sheet only if the policy
    /// names their exact text (tests/report_html.rs checks it in Chromium too).
    #[test]
    fn the_policy_names_the_page_script_and_style_by_hash() {
        let page =
            render::<ScenarioReport>(None, &[], &Summary::default(), Path::new("r.html")).unwrap();
        let inner = |open: &str, close: &str| -> String {
            let start = page.rfind(open).unwrap() + open.len();
            page[start..start + page[start..].find(close).unwrap()].to_string()
        };
        // After the data block; the script itself mentions `<script>` in a comment.
        let from = page.find("</script>\n<script>").unwrap() + "</script>\n<script>".len();
        let script = &page[from..page.rfind("</script>").unwrap()];
        let style = inner("<style>", "</style>");
        assert_eq!(script, SCRIPT);
        let policy = inner("Content-Security-Policy\" content=\"", "\"").replace("&#39;", "'");
        assert_eq!(
            policy,
            format!(
                "default-src 'none'; script-src '{}'; style-src '{}'; img-src 'none'; base-uri 'none'; form-action 'none'",
                sha256_source(script),
                sha256_source(&style)
            )
        );
        assert_eq!(
            page.matches("</script>").count(),
            2,
            "the data block and the script"
        );
    }

    /// A secret learnt after a scenario's lines were spooled is masked when the page
    /// is put together, in the list and in the data alike.
    #[test]
    fn a_secret_learnt_late_is_masked_in_the_streamed_page() {
        let r = Redactor::new();
        let dir = tempfile::tempdir().unwrap();
        let mut reporter = HtmlReporter::new(&dir.path().join("out"), r.clone());
        let mut s = ScenarioReport {
            message: Some("the server said tok<en>-77d0-4a1f-9c2e".into()),
            ..ScenarioReport::new(0, "uses tok<en>-77d0-4a1f-9c2e", "a.yaml", Outcome::Failed)
        };
        crate::secrets::mask_scenario(&mut s, &r);
        reporter.event(&Event::ScenarioFinished(std::sync::Arc::new(s)));
        r.add("tok<en>-77d0-4a1f-9c2e");
        reporter.finish(&Summary::default()).unwrap();
        let page = std::fs::read_to_string(dir.path().join("out/index.html")).unwrap();
        assert!(r.find_leak(page.as_bytes()).is_none());
        assert!(
            page.contains("<span class=\"nm\">uses ***</span>"),
            "{page}"
        );
        assert!(
            page.contains("{\"message\":\"the server said ***\""),
            "{page}"
        );
    }

    #[test]
    fn an_excerpt_is_told_from_a_whole_body() {
        let cut = crate::events::excerpt(&"x".repeat(100), 10);
        assert!(is_excerpt(&cut), "{cut}");
        for whole in ["", "x", "… ( bytes in all)", "text (3 bytes in all)"] {
            assert!(!is_excerpt(whole), "{whole}");
        }
    }

    #[test]
    fn the_report_goes_to_a_file_or_into_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let existing = dir.path().join("out.html");
        std::fs::create_dir(&existing).unwrap();
        let cases = [
            (PathBuf::from("report.html"), PathBuf::from("report.html")),
            (PathBuf::from("r/REPORT.HTM"), PathBuf::from("r/REPORT.HTM")),
            (PathBuf::from("report"), PathBuf::from("report/index.html")),
            (
                PathBuf::from("reports/"),
                PathBuf::from("reports/index.html"),
            ),
            (PathBuf::from("-"), PathBuf::from("/dev/stdout")),
            (existing.clone(), existing.join("index.html")),
        ];
        for (given, want) in cases {
            assert_eq!(target_file(&given), want, "{}", given.display());
        }
    }

    #[test]
    fn links_are_relative_to_the_report_and_never_a_scheme() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let report = root.join("out/report/index.html");
        let mut links = Links::new(&report);
        let file = root.join("suite/a b.yaml");
        let loc = format!("{}:12", file.display());
        assert_eq!(
            links.of_location(&loc).as_deref(),
            Some("../../suite/a%20b.yaml")
        );
        let odd = root.join("out/report/javascript:alert(1).yaml");
        let got = links.of_location(&format!("{}:3", odd.display())).unwrap();
        assert!(got.starts_with("./"), "{got}");
    }
}
