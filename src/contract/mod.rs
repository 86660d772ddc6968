//! `expect.openapi` and `--openapi SPEC`: a response must match the OpenAPI
//! operation its request calls (status documented, required headers present and
//! every documented header's value valid against its schema, body valid against
//! the response schema), and which operations and statuses a run
//! exercised (`--openapi-coverage`).
//!
//! The document is read as JSON rather than through a typed OpenAPI crate: the
//! schemas must reach the JSON Schema validator as JSON anyway, and one reading
//! serves 3.0 (`nullable`, boolean `exclusiveMinimum`: validated as draft 4),
//! 3.1 (JSON Schema 2020-12 as it is) and Swagger 2.0 alike, where each typed
//! crate reads one version.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use serde_json::Value as J;

use crate::events::Assertion;
use crate::http::Response;
use crate::scenario::read::Noted;

/// The largest OpenAPI document read.
const MAX_SPEC_BYTES: u64 = 32 * 1024 * 1024;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// A loaded OpenAPI document.
pub struct Spec {
    /// As given (for messages).
    pub name: String,
    /// The document with 3.0's `nullable` turned into JSON Schema.
    doc: Arc<J>,
    draft: jsonschema::Draft,
    /// The servers' path (`/v1`), cut from request paths before matching.
    base_paths: Vec<String>,
    pub operations: Vec<Operation>,
    /// (operation index, documented response key) seen by the run.
    seen: Mutex<BTreeSet<(usize, String)>>,
}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Spec({})", self.name)
    }
}

pub struct Operation {
    pub method: String,
    pub path: String,
    pub id: Option<String>,
    segments: Vec<Seg>,
    /// Response key (`200`, `2XX`, `default`) -> what it documents.
    pub responses: Vec<(String, ResponseDoc)>,
}

enum Seg {
    Lit(String),
    Pattern(regex::Regex),
}

/// A response schema's validator, built the first time a response needs it.
type LazyValidator = OnceLock<Result<jsonschema::Validator, String>>;

pub struct ResponseDoc {
    /// Media type -> JSON pointer of its schema in the document (None: no schema).
    content: Vec<(String, Option<String>)>,
    /// The headers the response documents.
    headers: Vec<HeaderDoc>,
    validators: Mutex<HashMap<String, Arc<LazyValidator>>>,
}

/// A documented response header.
struct HeaderDoc {
    name: String,
    required: bool,
    /// JSON pointer of its schema (3.x: its `schema`; Swagger 2.0: the header itself).
    schema: Option<String>,
    validator: LazyValidator,
}

/// Each document loaded, with what reading it noted
/// ([`crate::scenario::read::fingerprinted`]).
static CACHE: LazyLock<Mutex<BTreeMap<PathBuf, Noted<Arc<Spec>>>>> =
    LazyLock::new(|| Mutex::new(BTreeMap::new()));

/// Load a document once per run: the same file named by several steps (and by
/// `--openapi`) is one spec, with one coverage.
pub fn load_cached(path: &Path) -> Result<Arc<Spec>, String> {
    let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(spec) = cache.get(&key) {
        return Ok(spec.replay().clone());
    }
    let loaded = Noted::try_record(|| load(path).map(Arc::new))?;
    let spec = loaded.replay().clone();
    cache.insert(key, loaded);
    Ok(spec)
}

/// Every spec loaded so far, for the coverage summary.
pub fn loaded() -> Vec<Arc<Spec>> {
    CACHE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .map(|spec| spec.unnoted().clone())
        .collect()
}

pub fn load(path: &Path) -> Result<Spec, String> {
    let bytes = crate::scenario::read::read_capped(path, MAX_SPEC_BYTES)
        .map_err(|why| format!("cannot read OpenAPI document `{}`: {why}", path.display()))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("OpenAPI document `{}` is not UTF-8 text", path.display()))?;
    let doc = crate::jsonyaml::parse_json_or_yaml(
        &text,
        &format!("OpenAPI document `{}`", path.display()),
    )?;
    Spec::from_doc(&path.display().to_string(), doc)
}

impl Spec {
    pub fn from_doc(name: &str, mut doc: J) -> Result<Spec, String> {
        let version = doc
            .get("openapi")
            .or(doc.get("swagger"))
            .and_then(J::as_str)
            .unwrap_or("")
            .to_string();
        let draft = if version.starts_with("3.1") {
            jsonschema::Draft::Draft202012
        } else if version.starts_with("3.0") || version == "2.0" {
            nullable_to_schema(&mut doc);
            jsonschema::Draft::Draft4
        } else {
            return Err(format!(
                "`{name}` is not an OpenAPI 3.0 / 3.1 or Swagger 2.0 document (no `openapi: 3.x` or `swagger: \"2.0\"`)"
            ));
        };
        let swagger = version == "2.0";
        let mut base_paths = Vec::new();
        if swagger {
            if let Some(b) = doc.get("basePath").and_then(J::as_str) {
                base_paths.push(b.trim_end_matches('/').to_string());
            }
        } else {
            for s in doc
                .get("servers")
                .and_then(J::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(u) = s.get("url").and_then(J::as_str) {
                    let path = match url::Url::parse(u) {
                        Ok(p) => p.path().to_string(),
                        Err(_) => u.to_string(),
                    };
                    let p = path.trim_end_matches('/').to_string();
                    if !p.is_empty() && !p.contains('{') {
                        base_paths.push(p);
                    }
                }
            }
        }
        let Some(paths) = doc.get("paths").and_then(J::as_object) else {
            return Err(format!("`{name}` has no `paths`"));
        };
        let mut operations = Vec::new();
        for (path, item) in paths {
            for m in METHODS {
                let Some(op) = item.get(m) else { continue };
                let ptr = format!("/paths/{}/{m}", escape(path));
                let mut responses = Vec::new();
                for (code, resp) in op
                    .get("responses")
                    .and_then(J::as_object)
                    .into_iter()
                    .flatten()
                {
                    let (resp, resp_ptr) =
                        resolve(&doc, resp, format!("{ptr}/responses/{}", escape(code)));
                    let mut content = Vec::new();
                    if swagger {
                        if resp.get("schema").is_some() {
                            content.push((
                                "application/json".to_string(),
                                Some(format!("{resp_ptr}/schema")),
                            ));
                        }
                    } else {
                        for (media, m) in resp
                            .get("content")
                            .and_then(J::as_object)
                            .into_iter()
                            .flatten()
                        {
                            let schema = m
                                .get("schema")
                                .map(|_| format!("{resp_ptr}/content/{}/schema", escape(media)));
                            content.push((media.clone(), schema));
                        }
                    }
                    let headers = resp
                        .get("headers")
                        .and_then(J::as_object)
                        .into_iter()
                        .flatten()
                        // OpenAPI says a documented Content-Type header is ignored:
                        // the media types of `content` rule it.
                        .filter(|(n, _)| !n.eq_ignore_ascii_case("content-type"))
                        .map(|(n, h)| {
                            let (h, h_ptr) =
                                resolve(&doc, h, format!("{resp_ptr}/headers/{}", escape(n)));
                            let schema = if swagger {
                                h.get("type").map(|_| h_ptr.clone())
                            } else {
                                h.get("schema").map(|_| format!("{h_ptr}/schema"))
                            };
                            HeaderDoc {
                                name: n.clone(),
                                required: h.get("required").and_then(J::as_bool) == Some(true),
                                schema,
                                validator: OnceLock::new(),
                            }
                        })
                        .collect();
                    responses.push((
                        code.clone(),
                        ResponseDoc {
                            content,
                            headers,
                            validators: Mutex::new(HashMap::new()),
                        },
                    ));
                }
                operations.push(Operation {
                    method: m.to_ascii_uppercase(),
                    path: path.clone(),
                    id: op
                        .get("operationId")
                        .and_then(J::as_str)
                        .map(str::to_string),
                    segments: segments(path),
                    responses,
                });
            }
        }
        Ok(Spec {
            name: name.to_string(),
            doc: Arc::new(doc),
            draft,
            base_paths,
            operations,
            seen: Mutex::new(BTreeSet::new()),
        })
    }

    /// The operation a request calls: the method and the path, whose literal
    /// segments win over templated ones.
    fn find(&self, method: &str, path: &str) -> Result<usize, String> {
        let mut candidates = vec![path.to_string()];
        for b in &self.base_paths {
            if let Some(rest) = path.strip_prefix(b.as_str())
                && (rest.is_empty() || rest.starts_with('/'))
            {
                candidates.insert(
                    0,
                    if rest.is_empty() {
                        "/".into()
                    } else {
                        rest.to_string()
                    },
                );
            }
        }
        let mut path_known = None;
        for p in &candidates {
            let segs: Vec<String> = p
                .split('/')
                .filter(|s| !s.is_empty())
                .map(|s| {
                    percent_encoding::percent_decode_str(s)
                        .decode_utf8_lossy()
                        .into_owned()
                })
                .collect();
            let mut best: Option<(usize, usize)> = None;
            for (i, op) in self.operations.iter().enumerate() {
                let Some(score) = matches(&op.segments, &segs) else {
                    continue;
                };
                path_known.get_or_insert_with(|| op.path.clone());
                if !op.method.eq_ignore_ascii_case(method) {
                    continue;
                }
                if best.is_none_or(|(_, s)| score > s) {
                    best = Some((i, score));
                }
            }
            if let Some((i, _)) = best {
                return Ok(i);
            }
        }
        match path_known {
            Some(p) => {
                let methods: Vec<&str> = self
                    .operations
                    .iter()
                    .filter(|o| o.path == p)
                    .map(|o| o.method.as_str())
                    .collect();
                Err(format!(
                    "{method} is not documented for {p} in {} (it documents {})",
                    self.name,
                    methods.join(", ")
                ))
            }
            None => Err(format!("the path {path} is not in {}", self.name)),
        }
    }

    /// Check one exchange; every broken rule is one failure.
    pub fn check(
        &self,
        method: &str,
        url: &str,
        resp: &Response,
        json: &Result<J, String>,
    ) -> (usize, Vec<Assertion>) {
        let path = match url::Url::parse(url) {
            Ok(u) => u.path().to_string(),
            Err(_) => url.split(['?', '#']).next().unwrap_or("").to_string(),
        };
        let fail = |subject: String, expected: String, actual: String| Assertion {
            subject,
            expected,
            actual,
        };
        let op_index = match self.find(method, &path) {
            Ok(i) => i,
            Err(why) => {
                return (
                    1,
                    vec![fail(
                        "openapi".into(),
                        format!("{method} {path} to be an operation of {}", self.name),
                        why,
                    )],
                );
            }
        };
        let op = &self.operations[op_index];
        let label = format!("openapi {} {}", op.method, op.path);
        let code = resp.status.to_string();
        let class = format!("{}XX", resp.status / 100);
        let found = op
            .responses
            .iter()
            .find(|(k, _)| *k == code)
            .or_else(|| {
                op.responses
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(&class))
            })
            .or_else(|| op.responses.iter().find(|(k, _)| k == "default"));
        let Some((key, doc)) = found else {
            let documented: Vec<&str> = op.responses.iter().map(|(k, _)| k.as_str()).collect();
            return (
                1,
                vec![fail(
                    format!("{label}: status"),
                    format!("a documented status ({})", documented.join(", ")),
                    code,
                )],
            );
        };
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((op_index, key.clone()));
        let mut failures = Vec::new();
        let mut count = 1;
        for h in &doc.headers {
            let values: Vec<&str> = resp
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(&h.name))
                .map(|(_, v)| v.as_str())
                .collect();
            if values.is_empty() {
                if h.required {
                    count += 1;
                    failures.push(fail(
                        format!("{label} {key}: header {}", h.name),
                        "present (the document says it is required)".into(),
                        "absent".into(),
                    ));
                }
                continue;
            }
            let Some(pointer) = &h.schema else { continue };
            count += 1;
            match h.validator.get_or_init(|| self.validator(pointer)) {
                Ok(v) => {
                    let schema = self
                        .doc
                        .pointer(pointer)
                        .map(|s| resolve(&self.doc, s, String::new()).0);
                    // Each line of a repeated header on its own: every one must satisfy it.
                    for (i, raw) in values.iter().enumerate() {
                        let value = header_value(&self.doc, schema, raw);
                        let line = if values.len() > 1 {
                            format!(" (line {} of {})", i + 1, values.len())
                        } else {
                            String::new()
                        };
                        let (listed, more) = crate::text::first_listed(v.iter_errors(&value));
                        if more > 0 {
                            failures.push(fail(
                                format!("{label} {key}: header {}{line}", h.name),
                                "to satisfy the header schema".into(),
                                format!(
                                    "{more} more places do not (only the first {} are listed)",
                                    crate::text::MAX_LISTED
                                ),
                            ));
                        }
                        for err in listed {
                            let at = err.instance_path().to_string();
                            failures.push(fail(
                                format!("{label} {key}: header {}{at}{line}", h.name),
                                format!(
                                    "to satisfy `{}` of the header schema",
                                    err.kind().keyword()
                                ),
                                crate::events::excerpt(&err.to_string(), 300),
                            ));
                        }
                    }
                }
                Err(why) => failures.push(fail(
                    format!("{label} {key}: header {}", h.name),
                    "a usable header schema".into(),
                    why.clone(),
                )),
            }
        }
        if doc.content.is_empty() {
            return (count, failures);
        }
        count += 1;
        let ct = resp
            .header("content-type")
            .map(|c| {
                c.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        if resp.body.is_empty() && ct.is_empty() {
            failures.push(fail(
                format!("{label} {key}: body"),
                format!(
                    "a body ({})",
                    doc.content
                        .iter()
                        .map(|(m, _)| m.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "no body".into(),
            ));
            return (count, failures);
        }
        let media = doc
            .content
            .iter()
            .find(|(m, _)| m.eq_ignore_ascii_case(&ct))
            .or_else(|| {
                doc.content.iter().find(|(m, _)| {
                    m.strip_suffix("/*").is_some_and(|major| {
                        ct.starts_with(&format!("{}/", major.to_ascii_lowercase()))
                    }) || m == "*/*"
                })
            });
        let Some((media, schema)) = media else {
            failures.push(fail(
                format!("{label} {key}: Content-Type"),
                format!(
                    "one of {}",
                    doc.content
                        .iter()
                        .map(|(m, _)| m.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                if ct.is_empty() { "none".into() } else { ct },
            ));
            return (count, failures);
        };
        let Some(pointer) = schema else {
            return (count, failures);
        };
        let is_json = media.contains("json") || media == "*/*" && ct.contains("json");
        if !is_json {
            return (count, failures);
        }
        let body = match json {
            Ok(j) => j,
            Err(why) => {
                failures.push(fail(
                    format!("{label} {key}: body"),
                    "JSON".into(),
                    why.clone(),
                ));
                return (count, failures);
            }
        };
        let cell = doc
            .validators
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(media.clone())
            .or_default()
            .clone();
        let validator = cell.get_or_init(|| self.validator(pointer));
        match validator {
            Ok(v) => {
                let (listed, more) = crate::text::first_listed(v.iter_errors(body));
                if more > 0 {
                    failures.push(fail(
                        format!("{label} {key}: body"),
                        "to satisfy the response schema".into(),
                        format!(
                            "{more} more places do not (only the first {} are listed)",
                            crate::text::MAX_LISTED
                        ),
                    ));
                }
                for err in listed {
                    let at = err.instance_path().to_string();
                    failures.push(fail(
                        format!(
                            "{label} {key}: body at {}",
                            if at.is_empty() { "/" } else { &at }
                        ),
                        format!(
                            "to satisfy `{}` of the response schema",
                            err.kind().keyword()
                        ),
                        crate::events::excerpt(&err.to_string(), 300),
                    ));
                }
            }
            Err(why) => failures.push(fail(
                format!("{label} {key}: schema"),
                "a usable response schema".into(),
                why.clone(),
            )),
        }
        (count, failures)
    }

    /// A validator for the schema at `pointer`, its `$ref`s resolved in the document.
    fn validator(&self, pointer: &str) -> Result<jsonschema::Validator, String> {
        let mut root = (*self.doc).clone();
        if let Some(o) = root.as_object_mut() {
            // A URI fragment: `{petId}` and the like percent-encoded.
            const FRAGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
                .add(b' ')
                .add(b'"')
                .add(b'<')
                .add(b'>')
                .add(b'`')
                .add(b'{')
                .add(b'}')
                .add(b'|')
                .add(b'\\')
                .add(b'^')
                .add(b'%')
                .add(b'#')
                .add(b'[')
                .add(b']');
            let fragment = percent_encoding::utf8_percent_encode(pointer, FRAGMENT);
            o.insert("$ref".into(), J::String(format!("#{fragment}")));
            if self.draft == jsonschema::Draft::Draft202012 {
                o.entry("$schema").or_insert(J::String(
                    "https://json-schema.org/draft/2020-12/schema".into(),
                ));
            }
        }
        let mut options = jsonschema::options()
            .with_draft(self.draft)
            .should_validate_formats(true);
        if self.draft == jsonschema::Draft::Draft4 {
            // Draft 4 has no `uuid`; OpenAPI 3.0 and Swagger documents use it,
            // and an unknown format would let any text pass.
            options = options.with_format("uuid", |s: &str| {
                s.len() == 36 && uuid::Uuid::try_parse(s).is_ok()
            });
        }
        options
            .build(&root)
            .map_err(|e| format!("the schema at {pointer} cannot be used: {e}"))
    }

    /// Which operations and documented responses the run exercised.
    pub fn coverage(&self) -> Coverage {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let ops = self
            .operations
            .iter()
            .enumerate()
            .map(|(i, o)| OperationCoverage {
                method: o.method.clone(),
                path: o.path.clone(),
                id: o.id.clone(),
                exercised: o
                    .responses
                    .iter()
                    .filter(|(k, _)| seen.contains(&(i, k.clone())))
                    .map(|(k, _)| k.clone())
                    .collect(),
                missed: o
                    .responses
                    .iter()
                    .filter(|(k, _)| !seen.contains(&(i, k.clone())))
                    .map(|(k, _)| k.clone())
                    .collect(),
            })
            .collect();
        Coverage {
            spec: self.name.clone(),
            operations: ops,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Coverage {
    pub spec: String,
    pub operations: Vec<OperationCoverage>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct OperationCoverage {
    pub method: String,
    pub path: String,
    pub id: Option<String>,
    pub exercised: Vec<String>,
    pub missed: Vec<String>,
}

impl Coverage {
    /// `2 of 3 operations, 4 of 9 documented responses`: the line every report shows.
    pub fn headline(&self) -> String {
        let ops_hit = self
            .operations
            .iter()
            .filter(|o| !o.exercised.is_empty())
            .count();
        let resp_all: usize = self
            .operations
            .iter()
            .map(|o| o.exercised.len() + o.missed.len())
            .sum();
        let resp_hit: usize = self.operations.iter().map(|o| o.exercised.len()).sum();
        format!(
            "{ops_hit} of {} operations, {resp_hit} of {resp_all} documented responses",
            self.operations.len()
        )
    }

    /// The console summary.
    pub fn render(&self) -> String {
        let mut out = format!("openapi coverage of {}: {}\n", self.spec, self.headline());
        let w = self
            .operations
            .iter()
            .map(|o| o.method.len() + o.path.len() + 1)
            .max()
            .unwrap_or(0);
        for o in &self.operations {
            let what = format!("{} {}", o.method, o.path);
            let hit = if o.exercised.is_empty() {
                "-".to_string()
            } else {
                o.exercised.join(", ")
            };
            let missed = if o.missed.is_empty() {
                String::new()
            } else {
                format!("  not exercised: {}", o.missed.join(", "))
            };
            out.push_str(&format!("  {what:w$}  exercised: {hit}{missed}\n"));
        }
        out
    }
}

/// The contract check of a step: its own `expect.openapi`, else the run's
/// `--openapi`; `openapi: false` turns both off.
pub fn check_step(
    expect: &crate::scenario::expect::Expect,
    run: Option<&Arc<Spec>>,
    method: &str,
    url: &str,
    resp: &Response,
    json: &Result<J, String>,
) -> (usize, Vec<Assertion>) {
    use crate::scenario::expect::OpenApiSource;
    let spec = match &expect.openapi {
        Some(o) if o.source == OpenApiSource::Off => None,
        Some(o) if o.spec.is_some() => o.spec.as_ref(),
        Some(o) if o.source == OpenApiSource::Run && run.is_none() => {
            return (
                1,
                vec![Assertion {
                    subject: "openapi".into(),
                    expected: "a document to check against".into(),
                    actual: "`openapi: true` and no --openapi SPEC on the command line".into(),
                }],
            );
        }
        _ => run,
    };
    match spec {
        Some(s) => s.check(method, url, resp, json),
        None => (0, Vec::new()),
    }
}

/// A header's text as the JSON value its schema describes (OpenAPI's `simple`
/// style, the one headers use): a number or a boolean when the text is one and the
/// schema's type says so, comma-separated items for an array, else the text. Text
/// that is not what the type says stays a string, so the validator reports the
/// type it breaks rather than the check passing on a guess.
fn header_value(doc: &J, schema: Option<&J>, raw: &str) -> J {
    let text = raw.trim();
    let types = |s: Option<&J>| -> Vec<String> {
        match s.and_then(|s| s.get("type")) {
            Some(J::String(t)) => vec![t.clone()],
            Some(J::Array(ts)) => ts
                .iter()
                .filter_map(J::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    };
    let scalar = |types: &[String], text: &str| -> J {
        let has = |t: &str| types.iter().any(|x| x == t);
        if (has("integer") || has("number"))
            && let Ok(n @ J::Number(_)) = serde_json::from_str::<J>(text)
        {
            return n;
        }
        if has("boolean") && (text == "true" || text == "false") {
            return J::Bool(text == "true");
        }
        J::String(text.to_string())
    };
    let own = types(schema);
    if own.iter().any(|t| t == "array") {
        let items = schema
            .and_then(|s| s.get("items"))
            .map(|i| resolve(doc, i, String::new()).0);
        let item_types = types(items);
        return J::Array(
            text.split(',')
                .map(|item| scalar(&item_types, item.trim()))
                .collect(),
        );
    }
    scalar(&own, text)
}

/// JSON pointer escaping of one reference token.
fn escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Follow a local `$ref` (responses, headers), at most a few levels.
fn resolve<'a>(doc: &'a J, v: &'a J, mut ptr: String) -> (&'a J, String) {
    let mut cur = v;
    for _ in 0..8 {
        match cur
            .get("$ref")
            .and_then(J::as_str)
            .and_then(|r| r.strip_prefix('#'))
        {
            Some(p) => match doc.pointer(p) {
                Some(next) => {
                    cur = next;
                    ptr = p.to_string();
                }
                None => break,
            },
            None => break,
        }
    }
    (cur, ptr)
}

fn segments(path: &str) -> Vec<Seg> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            if !s.contains('{') {
                return Seg::Lit(s.to_string());
            }
            let mut re = String::from("^");
            let mut rest = s;
            while let Some(open) = rest.find('{') {
                re.push_str(&regex::escape(&rest[..open]));
                match rest[open..].find('}') {
                    Some(close) => {
                        re.push_str("[^/]+");
                        rest = &rest[open + close + 1..];
                    }
                    None => {
                        re.push_str(&regex::escape(&rest[open..]));
                        rest = "";
                    }
                }
            }
            re.push_str(&regex::escape(rest));
            re.push('$');
            match regex::Regex::new(&re) {
                Ok(r) => Seg::Pattern(r),
                Err(_) => Seg::Lit(s.to_string()),
            }
        })
        .collect()
}

/// How well a template matches (literal segments count), or no match.
fn matches(template: &[Seg], segs: &[String]) -> Option<usize> {
    if template.len() != segs.len() {
        return None;
    }
    let mut score = 0;
    for (t, s) in template.iter().zip(segs) {
        match t {
            Seg::Lit(l) if l == s => score += 1,
            Seg::Lit(_) => return None,
            Seg::Pattern(r) if r.is_match(s) => {}
            Seg::Pattern(_) => return None,
        }
    }
    Some(score)
}

/// OpenAPI 3.0's `nullable: true` (and Swagger's `x-nullable`) as JSON Schema.
fn nullable_to_schema(v: &mut J) {
    match v {
        J::Array(items) => items.iter_mut().for_each(nullable_to_schema),
        J::Object(o) => {
            for (_, child) in o.iter_mut() {
                nullable_to_schema(child);
            }
            let nullable = o.get("nullable").and_then(J::as_bool) == Some(true)
                || o.get("x-nullable").and_then(J::as_bool) == Some(true);
            if !nullable {
                return;
            }
            o.remove("nullable");
            o.remove("x-nullable");
            if let Some(J::Array(e)) = o.get_mut("enum")
                && !e.contains(&J::Null)
            {
                e.push(J::Null);
            }
            match o.get("type").cloned() {
                Some(J::String(t)) => {
                    o.insert("type".into(), serde_json::json!([t, "null"]));
                }
                _ => {
                    // `$ref` (which draft 4 reads alone) or composition: wrap it.
                    let inner = J::Object(std::mem::take(o));
                    o.insert("anyOf".into(), serde_json::json!([inner, {"type": "null"}]));
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> Spec {
        Spec::from_doc(
            "t.yaml",
            json!({
                "openapi": "3.0.3",
                "servers": [{"url": "https://api.example.com/v1"}],
                "paths": {
                    "/pets/{petId}": {"get": {"operationId": "showPet", "responses": {
                        "200": {"description": "ok", "headers": {"X-Rate": {"required": true, "schema": {"type": "integer"}}},
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}},
                        "404": {"description": "missing"}
                    }}},
                    "/pets/mine": {"get": {"responses": {"2XX": {"description": "ok"}}}}
                },
                "components": {"schemas": {"Pet": {"type": "object", "required": ["id", "name"], "properties": {
                    "id": {"type": "integer"}, "name": {"type": "string"}, "tag": {"type": "string", "nullable": true},
                    "owner": {"allOf": [{"$ref": "#/components/schemas/Owner"}], "nullable": true}
                }}, "Owner": {"type": "object", "required": ["email"], "properties": {"email": {"type": "string", "format": "email"}}}}}
            }),
        )
        .unwrap()
    }

    fn resp(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response {
            status,
            version: "HTTP/1.1".into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: bytes::Bytes::from(body.to_string()),
            truncated: false,
            elapsed: std::time::Duration::ZERO,
            body_problem: None,
            wire_bytes: body.len(),
        }
    }

    fn check(method: &str, url: &str, r: &Response) -> Vec<String> {
        let json = serde_json::from_slice(&r.body).map_err(|e| e.to_string());
        spec()
            .check(method, url, r, &json)
            .1
            .iter()
            .map(|a| format!("{} | {} | {}", a.subject, a.expected, a.actual))
            .collect()
    }

    #[test]
    fn responses_are_checked_against_the_operation() {
        let ok = [("content-type", "application/json"), ("x-rate", "1")];
        let cases: Vec<(&str, &str, Response, Vec<&str>)> = vec![
            (
                "GET",
                "https://h/v1/pets/1",
                resp(200, &ok, r#"{"id":1,"name":"Rex","tag":null,"owner":null}"#),
                vec![],
            ),
            (
                "GET",
                "https://h/v1/pets/1",
                resp(200, &ok, r#"{"id":"1","name":"Rex"}"#),
                vec!["body at /id"],
            ),
            (
                "GET",
                "https://h/v1/pets/1",
                resp(200, &ok, r#"{"id":1}"#),
                vec!["to satisfy `required`"],
            ),
            (
                "GET",
                "https://h/v1/pets/1",
                resp(200, &ok, r#"{"id":1,"name":"R","owner":{"email":"nope"}}"#),
                vec!["body at /owner"],
            ),
            (
                "GET",
                "https://h/v1/pets/1",
                resp(
                    200,
                    &[("content-type", "application/json")],
                    r#"{"id":1,"name":"R"}"#,
                ),
                vec!["header X-Rate"],
            ),
            (
                "GET",
                "https://h/v1/pets/1",
                resp(418, &ok, "{}"),
                vec!["a documented status (200, 404)"],
            ),
            ("GET", "https://h/v1/pets/1", resp(404, &[], ""), vec![]),
            (
                "GET",
                "https://h/v1/pets/1",
                resp(
                    200,
                    &[("content-type", "text/html"), ("x-rate", "1")],
                    "<html>",
                ),
                vec!["Content-Type"],
            ),
            ("GET", "https://h/v1/pets/mine", resp(204, &[], ""), vec![]),
            (
                "DELETE",
                "https://h/v1/pets/1",
                resp(200, &ok, "{}"),
                vec!["DELETE is not documented for /pets/{petId}"],
            ),
            (
                "GET",
                "https://h/v1/owners",
                resp(200, &ok, "{}"),
                vec!["the path /v1/owners is not in t.yaml"],
            ),
        ];
        for (method, url, r, want) in cases {
            let got = check(method, url, &r);
            assert_eq!(
                got.len(),
                want.len(),
                "{method} {url} {}: {got:?}",
                r.status
            );
            for (g, w) in got.iter().zip(&want) {
                assert!(g.contains(w), "{method} {url}: `{g}` lacks `{w}`");
            }
        }
    }

    #[test]
    fn coverage_counts_documented_responses() {
        let s = spec();
        let r = resp(404, &[], "");
        let _ = s.check("GET", "http://h/v1/pets/2", &r, &Err("empty".into()));
        let c = s.coverage();
        let text = c.render();
        assert!(
            text.contains("1 of 2 operations, 1 of 3 documented responses"),
            "{text}"
        );
        assert!(
            text.contains("exercised: 404  not exercised: 200"),
            "{text}"
        );
    }

    #[test]
    fn not_an_openapi_document() {
        let err = Spec::from_doc("x", json!({"hello": 1})).unwrap_err();
        assert!(err.contains("not an OpenAPI"), "{err}");
    }
}

#[cfg(test)]
mod swagger_tests {
    use super::*;
    use serde_json::json;

    /// Swagger 2.0: `basePath`, a response's `schema` directly, `definitions`, `x-nullable`.
    #[test]
    fn swagger_2_documents_are_checked_too() {
        let spec = Spec::from_doc(
            "s.json",
            json!({
                "swagger": "2.0",
                "basePath": "/api",
                "paths": {"/users/{id}": {"get": {"responses": {"200": {"description": "ok",
                    "schema": {"$ref": "#/definitions/User"}}}}}},
                "definitions": {"User": {"type": "object", "required": ["id"], "properties": {
                    "id": {"type": "integer"}, "nick": {"type": "string", "x-nullable": true}}}}
            }),
        )
        .unwrap();
        let r = |body: &str| Response {
            status: 200,
            version: "HTTP/1.1".into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: bytes::Bytes::from(body.to_string()),
            truncated: false,
            elapsed: std::time::Duration::ZERO,
            body_problem: None,
            wire_bytes: body.len(),
        };
        for (body, failures) in [(r#"{"id": 1, "nick": null}"#, 0), (r#"{"nick": 3}"#, 2)] {
            let resp = r(body);
            let json = serde_json::from_str(body).map_err(|e: serde_json::Error| e.to_string());
            let (_, f) = spec.check("GET", "http://h/api/users/1", &resp, &json);
            assert_eq!(f.len(), failures, "{body}: {f:?}");
        }
    }
}

#[cfg(test)]
mod header_tests {
    use super::*;
    use serde_json::json;

    fn spec(version: &str, headers: J) -> Spec {
        let mut doc = json!({
            "paths": {"/r": {"get": {"responses": {"200": {"description": "ok", "headers": headers}}}}},
            "components": {"headers": {"Limit": {"required": true, "schema": {"type": "integer", "minimum": 1}}}}
        });
        if version == "2.0" {
            doc["swagger"] = json!("2.0");
        } else {
            doc["openapi"] = json!(version);
        }
        Spec::from_doc("h.yaml", doc).unwrap()
    }

    fn failures(spec: &Spec, headers: &[(&str, &str)]) -> Vec<String> {
        let r = Response {
            status: 200,
            version: "HTTP/1.1".into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: bytes::Bytes::new(),
            truncated: false,
            elapsed: std::time::Duration::ZERO,
            body_problem: None,
            wire_bytes: 0,
        };
        spec.check("GET", "http://h/r", &r, &Err("empty".into()))
            .1
            .iter()
            .map(|a| format!("{} | {} | {}", a.subject, a.expected, a.actual))
            .collect()
    }

    #[test]
    fn header_values_are_checked_against_their_schema() {
        let oas3 = spec(
            "3.0.3",
            json!({
                "X-Rate-Limit": {"schema": {"type": "integer"}},
                "X-Mode": {"schema": {"type": "string", "enum": ["fast", "slow"]}},
                "X-At": {"schema": {"type": "string", "format": "date-time"}},
                "X-Code": {"schema": {"type": "string", "pattern": "^[A-Z]{3}$"}},
                "X-Flags": {"schema": {"type": "array", "items": {"type": "integer"}}},
                "X-On": {"schema": {"type": "boolean", "nullable": true}},
                "X-Limit": {"$ref": "#/components/headers/Limit"},
                "Content-Type": {"required": true, "schema": {"type": "integer"}}
            }),
        );
        let swagger = spec(
            "2.0",
            json!({"X-Rate-Limit": {"type": "integer"}, "X-Mode": {"type": "string", "enum": ["fast"]}}),
        );
        // (the document, the headers the server sends, what the failures say)
        type Case<'a> = (&'a Spec, Vec<(&'a str, &'a str)>, Vec<&'a str>);
        let cases: Vec<Case> = vec![
            // All valid; names in any case; the Content-Type entry is ignored.
            (
                &oas3,
                vec![
                    ("x-rate-limit", "100"),
                    ("X-MODE", "fast"),
                    ("x-at", "2026-11-29T23:00:00Z"),
                    ("x-code", "ABC"),
                    ("x-flags", "1, 2,3"),
                    ("x-on", "true"),
                    ("x-limit", "5"),
                ],
                vec![],
            ),
            // Only X-Limit is required.
            (&oas3, vec![], vec!["header X-Limit | present"]),
            (
                &oas3,
                vec![("x-limit", "5"), ("x-rate-limit", "lots")],
                vec![
                    "header X-Rate-Limit | to satisfy `type` of the header schema | \"lots\" is not of type \"integer\"",
                ],
            ),
            (
                &oas3,
                vec![("x-limit", "5"), ("x-rate-limit", "1.5")],
                vec!["header X-Rate-Limit | to satisfy `type`"],
            ),
            (
                &oas3,
                vec![("x-limit", "5"), ("x-mode", "medium")],
                vec!["header X-Mode | to satisfy `enum`"],
            ),
            (
                &oas3,
                vec![("x-limit", "5"), ("x-at", "yesterday")],
                vec!["header X-At | to satisfy `format`"],
            ),
            (
                &oas3,
                vec![("x-limit", "5"), ("x-code", "abcd")],
                vec!["header X-Code | to satisfy `pattern`"],
            ),
            (
                &oas3,
                vec![("x-limit", "5"), ("x-flags", "1,two")],
                vec!["header X-Flags/1 | to satisfy `type`"],
            ),
            (
                &oas3,
                vec![("x-limit", "5"), ("x-on", "yes")],
                vec!["header X-On | to satisfy `type`"],
            ),
            // A `$ref`'d header: its schema's `minimum`.
            (
                &oas3,
                vec![("x-limit", "0")],
                vec!["header X-Limit | to satisfy `minimum`"],
            ),
            // Repeated lines: each must satisfy the schema on its own.
            (&oas3, vec![("x-limit", "5"), ("x-limit", "6")], vec![]),
            (
                &oas3,
                vec![("x-limit", "5"), ("X-Limit", "none")],
                vec!["header X-Limit (line 2 of 2) | to satisfy `type`"],
            ),
            // Swagger 2.0: the header object is the schema.
            (
                &swagger,
                vec![("x-rate-limit", "7"), ("x-mode", "fast")],
                vec![],
            ),
            (
                &swagger,
                vec![("x-rate-limit", "seven"), ("x-mode", "slow")],
                vec![
                    "header X-Mode | to satisfy `enum`",
                    "header X-Rate-Limit | to satisfy `type`",
                ],
            ),
        ];
        for (spec, headers, want) in cases {
            let got = failures(spec, &headers);
            assert_eq!(got.len(), want.len(), "{headers:?}: {got:?}");
            for (g, w) in got.iter().zip(&want) {
                assert!(g.contains(w), "{headers:?}: `{g}` lacks `{w}`");
            }
        }
    }

    #[test]
    fn a_header_that_breaks_its_schema_everywhere_lists_the_first_places_only() {
        let doc = spec(
            "3.0.3",
            json!({"X-Flags": {"schema": {"type": "array", "items": {"type": "integer"}}}}),
        );
        let value = vec!["x"; 1000].join(",");
        let got = failures(&doc, &[("x-flags", &value)]);
        assert_eq!(got.len(), crate::text::MAX_LISTED + 1, "{:?}", &got[..3]);
        assert!(got.iter().any(|g| g.contains("980 more places")), "{got:?}");
    }
}

#[cfg(test)]
mod format_tests {
    use super::*;
    use serde_json::json;

    /// OpenAPI 3.0 is validated as draft 4, which knows neither `date` nor `uuid`;
    /// a bad value there must fail like in 3.1, not pass unread.
    #[test]
    fn openapi_formats_are_checked_in_every_version() {
        for version in ["3.0.3", "3.1.0", "2.0"] {
            let schema = json!({"type": "object", "properties": {
                "day": {"type": "string", "format": "date"},
                "id": {"type": "string", "format": "uuid"},
                "at": {"type": "string", "format": "date-time"},
                "mail": {"type": "string", "format": "email"}
            }});
            let mut doc = if version == "2.0" {
                json!({"swagger": "2.0", "paths": {"/x": {"get": {"responses": {"200": {"description": "ok", "schema": schema}}}}}})
            } else {
                json!({"openapi": version, "paths": {"/x": {"get": {"responses": {"200": {"description": "ok",
                    "content": {"application/json": {"schema": schema}}}}}}}})
            };
            doc["info"] = json!({"title": "t", "version": "1"});
            let spec = Spec::from_doc("f.yaml", doc).unwrap();
            let cases = [
                (
                    json!({"day": "2026-11-29", "id": "0b6c3a52-3f0e-4c1a-9b1e-6f7d2a8c9e10", "at": "2026-11-29T23:00:00Z", "mail": "a@b.example"}),
                    vec![],
                ),
                (json!({"day": "29/11/2026"}), vec!["/day"]),
                (json!({"day": "2026-02-30"}), vec!["/day"]),
                (json!({"id": "not-a-uuid"}), vec!["/id"]),
                (json!({"at": "yesterday"}), vec!["/at"]),
                (json!({"mail": "nobody"}), vec!["/mail"]),
            ];
            for (body, want) in cases {
                let text = body.to_string();
                let r = Response {
                    status: 200,
                    version: "HTTP/1.1".into(),
                    headers: vec![("content-type".into(), "application/json".into())],
                    body: bytes::Bytes::from(text.clone()),
                    truncated: false,
                    elapsed: std::time::Duration::ZERO,
                    body_problem: None,
                    wire_bytes: text.len(),
                };
                let (_, f) = spec.check("GET", "http://h/x", &r, &Ok(body));
                let got: Vec<String> = f.iter().map(|a| a.subject.clone()).collect();
                assert_eq!(got.len(), want.len(), "{version} {text}: {got:?}");
                for (g, w) in got.iter().zip(&want) {
                    assert!(
                        g.ends_with(&format!("body at {w}")),
                        "{version} {text}: {g}"
                    );
                }
            }
        }
    }
}
