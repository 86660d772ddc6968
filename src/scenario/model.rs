//! The file format: what a scenario file may say, as typed Rust values.
//!
//! These types are the single definition of the format; the loader fills them
//! from YAML (with positions) and the JSON Schema is generated from them.

use std::borrow::Cow;

use indexmap::IndexMap;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::expect::{Capture, Expect};
use super::sink;
use super::values::{DurationSpec, TEntry, TValue, Tpl, written_text};
use crate::diagnostic::did_you_mean;

/// A scenario file. It holds one scenario (`name`, `steps`, ...) or several under
/// `scenarios:`, which share the file's `vars`, `headers`, `secrets` and `base_url`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "runner scenario file")]
pub struct ScenarioDoc {
    /// The scenario's name: the JUnit testcase name. May use `{{ }}` with matrix values.
    #[schemars(with = "Option<String>", example = &"create a project and read it back")]
    pub name: Option<Spanned<String>>,
    /// What the scenario checks, in a sentence.
    #[schemars(example = &"A project is created, read back and deleted; spends nothing.")]
    pub description: Option<String>,
    /// The server to talk to, when neither `--base-url` nor `RUNNER_BASE_URL` is given.
    #[schemars(example = &"https://api.example.com")]
    pub base_url: Option<Tpl>,
    /// Variables in scope of every template of the scenario.
    #[serde(default)]
    #[schemars(example = serde_json::json!({"project_name": "smoke-{{ timestamp() }}", "limit": 10}))]
    pub vars: IndexMap<String, TValue>,
    /// Headers sent with every step; a step's own headers win.
    #[serde(default)]
    #[schemars(example = serde_json::json!({"X-Api-Key": "{{ env.LAYERS_API_KEY }}"}))]
    pub headers: IndexMap<String, HeaderValues>,
    /// Names of variables whose values are secret: masked in every output.
    #[serde(default)]
    #[schemars(example = ["api_key", "webhook_secret"])]
    pub secrets: Vec<String>,
    /// Labels for `--tag` / `--skip-tag`.
    #[serde(default)]
    #[schemars(example = ["smoke", "projects"])]
    pub tags: Vec<String>,
    /// What this scenario may cost on a real server: `credits`, `scrape`, `agent`,
    /// `pull_request`, `post`, `ad_spend`, `api_keys` (or a kind of a `--cost-catalog`). Without
    /// it, a step calling a costly endpoint is refused unless the target is the
    /// embedded mock. See docs/safety.md.
    #[serde(default)]
    #[schemars(with = "Vec<String>", example = ["scrape"])]
    pub allow_cost: Vec<Spanned<String>>,
    /// Named locks: two scenarios that share a lock never run at the same time
    /// (whatever `--jobs` says); the others run alongside them. For tests that change
    /// shared state (an account's settings, a global counter). See docs/parallel.md.
    #[serde(default)]
    #[schemars(example = ["account-settings"])]
    pub locks: Vec<String>,
    /// Skip the scenario, saying why.
    #[schemars(example = &"the export endpoint is not deployed yet")]
    pub skip: Option<String>,
    /// Time limit for the whole scenario.
    #[schemars(example = &"2m")]
    pub timeout: Option<DurationSpec>,
    /// Default time limit of each step of the scenario.
    #[schemars(example = &"10s")]
    pub step_timeout: Option<DurationSpec>,
    /// Transport retries (connection errors, 5xx, 429) for the scenario's steps.
    #[schemars(example = 2)]
    pub retries: Option<u32>,
    /// Run the whole scenario again (from its first step, its `finally` steps each
    /// time) up to this many times when it fails; one that passes on a later attempt
    /// is reported flaky. Overrides `--scenario-retries`.
    #[schemars(example = 2)]
    pub scenario_retries: Option<u32>,
    /// Follow redirects (3xx with `Location`) in every step of the scenario, each hop
    /// reported and checked on its own. Default: not followed (`--follow-redirects`
    /// changes the default of a run); a step's `request.follow_redirects` wins.
    #[schemars(example = true)]
    pub follow_redirects: Option<bool>,
    /// Expand into one scenario per combination of these values.
    #[schemars(example = serde_json::json!({"language": ["en", "fr"], "plan": ["free", "pro"]}))]
    pub matrix: Option<IndexMap<String, Vec<TValue>>>,
    /// Check every response of the scenario against this OpenAPI document (relative to
    /// the scenario file); a step's own `expect.openapi` wins.
    #[schemars(example = &"openapi/petstore.yaml")]
    pub openapi: Option<super::expect::OpenApiExpect>,
    /// Run the scenario once per row of this CSV (header row, then one row per case)
    /// or JSON (a list of objects) file, relative to the scenario file; each column is
    /// a variable.
    #[schemars(with = "Option<String>", example = &"data/users.csv")]
    pub data: Option<Spanned<String>>,
    /// The steps, in order.
    #[serde(default)]
    #[schemars(with = "Vec<StepDoc>", example = serde_json::json!([{"name": "whoami", "request": {"url": "/v1/whoami"}, "expect": {"status": 200}}]))]
    pub steps: Vec<Spanned<StepDoc>>,
    /// Steps that run after `steps` whatever happened: cancel what was started.
    #[serde(default)]
    #[schemars(with = "Vec<StepDoc>", example = serde_json::json!([{"request": {"method": "DELETE", "url": "/v1/projects/{{ project_id }}"}}]))]
    pub finally: Vec<Spanned<StepDoc>>,
    /// Several scenarios in one file (top level only).
    #[serde(default)]
    #[schemars(with = "Vec<ScenarioDoc>", example = serde_json::json!([{"name": "whoami", "steps": [{"request": {"url": "/v1/whoami"}}]}]))]
    pub scenarios: Vec<Spanned<ScenarioDoc>>,
}

/// One step: a request, an `include` of shared steps, or a wait for a webhook.
#[derive(Debug, Deserialize, Clone, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepDoc {
    /// Shown in reports; defaults to `METHOD url`.
    #[schemars(with = "Option<String>", example = &"create a project")]
    pub name: Option<Spanned<String>>,
    /// The HTTP request to send.
    #[schemars(example = serde_json::json!({"method": "POST", "url": "/v1/projects", "json": {"name": "smoke"}}))]
    pub request: Option<RequestDoc>,
    /// Steps from another file (relative to this one), with `with:` parameters.
    #[schemars(with = "Option<String>", example = &"shared/login.yaml")]
    pub include: Option<Spanned<String>>,
    /// Parameters for an `include`d file, in scope of its templates.
    #[serde(default)]
    #[schemars(example = serde_json::json!({"project_name": "smoke"}))]
    pub with: IndexMap<String, TValue>,
    /// Wait for a webhook delivery to the run's receiver.
    #[schemars(example = serde_json::json!({"event": "job.completed", "within": "30s"}))]
    pub wait_webhook: Option<WaitWebhook>,
    /// What the response must look like.
    #[schemars(example = serde_json::json!({"status": 201, "json": {"$.id": {"exists": true}}}))]
    pub expect: Option<Expect>,
    /// Values to keep from the response for later steps.
    #[serde(default)]
    #[schemars(example = serde_json::json!({"project_id": "$.id", "location": {"header": "Location"}}))]
    pub capture: IndexMap<String, Capture>,
    /// Poll: repeat the request until `until` holds.
    #[schemars(example = serde_json::json!({"until": {"json": {"$.status": "completed"}}, "attempts": 30, "interval": "2s"}))]
    pub retry: Option<Retry>,
    /// Transport retries for this step (0 turns them off).
    #[schemars(example = 0)]
    pub retries: Option<u32>,
    /// Time limit for this step.
    #[schemars(example = &"30s")]
    pub timeout: Option<DurationSpec>,
    /// Wait this long before sending.
    #[schemars(example = &"500ms")]
    pub delay: Option<DurationSpec>,
    /// Skip the step, saying why.
    #[schemars(example = &"flaky upstream, see TICKET-123")]
    pub skip: Option<String>,
}

/// An HTTP request.
#[derive(Debug, Deserialize, Clone, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestDoc {
    /// GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS (default GET).
    #[schemars(with = "Option<Method>", example = &"POST")]
    pub method: Option<Spanned<String>>,
    /// Relative to the base URL, or absolute.
    #[schemars(example = &"/v1/projects/{{ project_id }}")]
    pub url: Tpl,
    /// Headers of this request; they win over the scenario's `headers`.
    #[serde(default)]
    #[schemars(example = serde_json::json!({"Idempotency-Key": "{{ uuid() }}", "X-Tag": ["blue", "green"]}))]
    pub headers: IndexMap<String, HeaderValues>,
    /// Query parameters, appended to the URL (URL-encoded).
    #[serde(default)]
    #[schemars(example = serde_json::json!({"limit": 10, "cursor": "{{ next_cursor }}"}))]
    pub query: IndexMap<String, TValue>,
    /// A JSON body (any YAML value); sets `Content-Type: application/json`.
    #[schemars(example = serde_json::json!({"name": "smoke", "timezone": "UTC"}))]
    pub json: Option<TValue>,
    /// A raw body.
    #[schemars(example = &"plain text body")]
    pub body: Option<Tpl>,
    /// A URL-encoded form body.
    #[schemars(example = serde_json::json!({"grant_type": "client_credentials"}))]
    pub form: Option<IndexMap<String, Tpl>>,
    /// A multipart/form-data body: text fields, or `{file: path}` parts.
    #[schemars(example = serde_json::json!({"title": "logo", "file": {"file": "data/logo.png", "content_type": "image/png"}}))]
    pub multipart: Option<IndexMap<String, MultipartPart>>,
    /// A body read from a file (relative to the scenario file).
    #[schemars(example = &"data/payload.json")]
    pub body_file: Option<Tpl>,
    /// Cookies sent on top of those the scenario's cookie jar holds for this URL (a
    /// cookie of the same name here wins). A `Cookie` header instead replaces the jar's.
    #[serde(default)]
    #[schemars(example = serde_json::json!({"session": "{{ session_id }}"}))]
    pub cookies: IndexMap<String, Tpl>,
    /// Follow redirects: each hop is sent by the runner, reported, and checked by
    /// the cost guard; `Set-Cookie` of every hop goes into the jar; a hop to another
    /// origin carries no credential header. Default: the scenario's, else not followed.
    #[schemars(example = true)]
    pub follow_redirects: Option<bool>,
    /// A binary body written in base64 (sent as the bytes it decodes to).
    #[schemars(example = &"iVBORw0KGgo=")]
    pub body_base64: Option<Tpl>,
    /// A binary body written in hex (sent as the bytes it decodes to).
    #[schemars(example = &"89504e470d0a1a0a")]
    pub body_hex: Option<Tpl>,
}

/// The value of one header: one text, or a list whose items are sent as separate
/// header lines of the same name, in order.
#[derive(Debug, Clone)]
pub struct HeaderValues(pub Vec<Tpl>);

impl HeaderValues {
    pub fn one(t: Tpl) -> Self {
        HeaderValues(vec![t])
    }
}

impl std::ops::Deref for HeaderValues {
    type Target = [Tpl];
    fn deref(&self) -> &[Tpl] {
        &self.0
    }
}

impl std::ops::DerefMut for HeaderValues {
    fn deref_mut(&mut self) -> &mut [Tpl] {
        &mut self.0
    }
}

impl JsonSchema for HeaderValues {
    fn schema_name() -> Cow<'static, str> {
        "HeaderValues".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let text = generator.subschema_for::<Tpl>().to_value();
        json_schema!({
            "description": "The header's value, or a list of values: each is sent as a header line of its own, in order.",
            "anyOf": [text, {"type": "array", "items": text, "minItems": 1}],
            "examples": ["application/json", ["blue", "green"]]
        })
    }
}

/// A header value as YAML read it, before its text is taken.
enum HeaderNode {
    Text(String),
    /// A number or a boolean (`2.10`, `0o17`, `True`): sent as written in the file,
    /// never as the value YAML reads (`2.1`, `15`, `true`). Holds that value's text
    /// only for when the file's text cannot be had.
    Written(String),
    Seq(Vec<Spanned<HeaderNode>>),
    Other(&'static str),
}

impl<'de> Deserialize<'de> for HeaderNode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = HeaderNode;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a header value")
            }
            fn visit_str<E>(self, s: &str) -> Result<HeaderNode, E> {
                Ok(HeaderNode::Text(s.to_owned()))
            }
            fn visit_string<E>(self, s: String) -> Result<HeaderNode, E> {
                Ok(HeaderNode::Text(s))
            }
            fn visit_bool<E>(self, b: bool) -> Result<HeaderNode, E> {
                Ok(HeaderNode::Written(b.to_string()))
            }
            fn visit_i64<E>(self, n: i64) -> Result<HeaderNode, E> {
                Ok(HeaderNode::Written(n.to_string()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<HeaderNode, E> {
                Ok(HeaderNode::Written(n.to_string()))
            }
            fn visit_f64<E>(self, n: f64) -> Result<HeaderNode, E> {
                Ok(HeaderNode::Written(n.to_string()))
            }
            fn visit_unit<E>(self) -> Result<HeaderNode, E> {
                Ok(HeaderNode::Other("null"))
            }
            fn visit_none<E>(self) -> Result<HeaderNode, E> {
                Ok(HeaderNode::Other("null"))
            }
            fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<HeaderNode, D::Error> {
                HeaderNode::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<HeaderNode, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = seq.next_element::<Spanned<HeaderNode>>()? {
                    items.push(v);
                }
                Ok(HeaderNode::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HeaderNode, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(HeaderNode::Other("a mapping"))
            }
        }
        d.deserialize_any(V)
    }
}

/// The text of one header value, as a template; `None` (reported) when it is not text.
fn header_text(node: Spanned<HeaderNode>) -> Option<Tpl> {
    let loc = node.referenced.into();
    let kind = match node.value {
        HeaderNode::Text(s) => return Some(Tpl::new(s, loc)),
        HeaderNode::Written(fallback) => {
            return Some(Tpl::new(written_text(&node.defined, fallback), loc));
        }
        HeaderNode::Seq(_) => "a list",
        HeaderNode::Other(kind) => kind,
    };
    sink::report(
        loc,
        1,
        format!("a header value is text, not {kind}"),
        Some(
            "write `X-Tag: a`, or a list `X-Tag: [a, b]` to send the header once per value".into(),
        ),
    );
    None
}

/// Written by hand: a scalar and a list of scalars are both accepted, each taken as
/// the text written in the file (like every other template), and anything else is
/// reported at its own line rather than as "did not match any variant".
impl<'de> Deserialize<'de> for HeaderValues {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let node = Spanned::<HeaderNode>::deserialize(d)?;
        let loc = node.referenced.into();
        match node.value {
            HeaderNode::Seq(items) => {
                if items.is_empty() {
                    sink::report(
                        loc,
                        1,
                        "a header list needs at least one value",
                        Some("remove the header, or write its value".into()),
                    );
                    return Ok(HeaderValues(vec![Tpl::new("", loc)]));
                }
                Ok(HeaderValues(
                    items.into_iter().filter_map(header_text).collect(),
                ))
            }
            _ => Ok(HeaderValues(vec![
                header_text(node).unwrap_or_else(|| Tpl::new("", loc)),
            ])),
        }
    }
}

/// One part of a multipart body.
#[derive(Debug, Clone)]
pub enum MultipartPart {
    Text(Tpl),
    File(FilePart),
}

impl JsonSchema for MultipartPart {
    fn schema_name() -> Cow<'static, str> {
        "MultipartPart".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let text = generator.subschema_for::<Tpl>().to_value();
        let file = generator.subschema_for::<FilePart>().to_value();
        json_schema!({
            "description": "A text field, or a file: {file: path, filename: ..., content_type: ...}.",
            "anyOf": [text, file],
            "examples": ["hello", {"file": "data/logo.png"}]
        })
    }
}

/// The HTTP methods a step may use (any case in a file).
pub const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// An HTTP method, for the schema (the checker accepts any case).
struct Method;

impl JsonSchema for Method {
    fn schema_name() -> Cow<'static, str> {
        "Method".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let mut names: Vec<String> = METHODS.iter().map(|m| m.to_string()).collect();
        names.extend(METHODS.iter().map(|m| m.to_lowercase()));
        json_schema!({
            "type": "string",
            "enum": names,
            "description": "The HTTP method.",
            "examples": ["GET", "POST"]
        })
    }
}

/// Written by hand rather than `untagged`: a typo in a file part gets "unknown key
/// `fiel`, did you mean `file`?" instead of "did not match any variant".
impl<'de> Deserialize<'de> for MultipartPart {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const KEYS: [&str; 3] = ["file", "filename", "content_type"];
        let node: Spanned<TValue> = Spanned::deserialize(d)?;
        let defined = node.defined;
        let entries = match node.value {
            TValue::Str(t) => return Ok(MultipartPart::Text(t)),
            TValue::Num(n, loc, _) => {
                let text = written_text(&defined, n.to_string());
                return Ok(MultipartPart::Text(Tpl::new(text, loc)));
            }
            TValue::Bool(b, loc) => {
                let text = written_text(&defined, b.to_string());
                return Ok(MultipartPart::Text(Tpl::new(text, loc)));
            }
            TValue::Map(entries, loc) => (entries, loc),
            other => {
                sink::report(
                    other.loc(),
                    1,
                    format!(
                        "a multipart part is text or a file, not {}",
                        other.kind_name()
                    ),
                    Some("e.g. `title: hello` or `doc: { file: data/doc.pdf }`".into()),
                );
                return Ok(MultipartPart::Text(Tpl::new("", other.loc())));
            }
        };
        let (entries, loc) = entries;
        let mut part = FilePart {
            file: Tpl::new("", loc),
            filename: None,
            content_type: None,
        };
        let mut has_file = false;
        for TEntry {
            key,
            loc: kloc,
            value,
        } in entries
        {
            let text = match value {
                TValue::Str(t) => t,
                other => {
                    sink::report(
                        other.loc(),
                        1,
                        format!("`{key}` takes text, not {}", other.kind_name()),
                        None,
                    );
                    continue;
                }
            };
            match key.as_str() {
                "file" => {
                    part.file = text;
                    has_file = true;
                }
                "filename" => part.filename = Some(text.src),
                "content_type" => part.content_type = Some(text.src),
                other => {
                    let hint = did_you_mean(other, KEYS)
                        .map(|s| format!("did you mean `{s}`?"))
                        .unwrap_or_else(|| format!("a file part takes: {}", KEYS.join(", ")));
                    sink::report(
                        kloc,
                        other.chars().count(),
                        format!("unknown key `{other}` in a multipart file part"),
                        Some(hint),
                    );
                    has_file = true;
                }
            }
        }
        if !has_file {
            sink::report(
                loc,
                1,
                "missing key `file` in a multipart file part",
                Some("add `file:` with a path relative to the scenario file".into()),
            );
        }
        Ok(MultipartPart::File(part))
    }
}

/// A file part of a multipart body.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct FilePart {
    /// Path relative to the scenario file.
    #[schemars(example = &"data/logo.png")]
    pub file: Tpl,
    /// The file name sent with the part (default: the file's own name).
    #[schemars(example = &"logo.png")]
    pub filename: Option<String>,
    /// The part's Content-Type (default: guessed from the file name's extension, as
    /// curl does; `application/octet-stream` when the extension says nothing).
    #[schemars(example = &"image/png")]
    pub content_type: Option<String>,
}

/// Polling: send again until the response satisfies `until`.
#[derive(Debug, Deserialize, Clone, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    /// The condition, in the grammar of `expect`.
    #[schemars(example = serde_json::json!({"json": {"$.status": {"one_of": ["completed", "failed"]}}}))]
    pub until: Expect,
    /// How many times to send at most (default 10).
    #[schemars(example = 30)]
    pub attempts: Option<u32>,
    /// Pause between attempts (default 1s).
    #[schemars(example = &"2s")]
    pub interval: Option<DurationSpec>,
    /// Multiply the pause by this after each attempt (default 1; at least 1).
    #[schemars(example = 1.5, range(min = 1))]
    pub backoff: Option<f64>,
}

/// Wait for a webhook delivered to `{{ webhook.url }}`.
#[derive(Debug, Deserialize, Clone, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitWebhook {
    /// The event type to wait for (the payload's `type`); any when absent.
    #[schemars(example = &"job.completed")]
    pub event: Option<Tpl>,
    /// How long to wait (default 10s).
    #[schemars(example = &"30s")]
    pub within: Option<DurationSpec>,
    /// Verify `X-Layers-Signature` (HMAC-SHA256 over "t.body") with this secret.
    #[schemars(example = &"{{ env.WEBHOOK_SECRET }}")]
    pub secret: Option<Tpl>,
}
