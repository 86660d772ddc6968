//! The file format: what a scenario file may say, as typed Rust values.
//!
//! These types are the single definition of the format; the loader fills them
//! from YAML (with positions) and the JSON Schema is generated from them.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::expect::{Capture, Expect};
use super::values::{DurationSpec, TValue, Tpl};

/// A scenario file. It holds one scenario (`name`, `steps`, ...) or several under
/// `scenarios:`, which share the file's `vars`, `headers`, `secrets` and `base_url`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioDoc {
    /// The scenario's name: the JUnit testcase name. May use `{{ }}` with matrix values.
    pub name: Option<Spanned<String>>,
    /// What the scenario checks, in a sentence.
    pub description: Option<String>,
    /// The server to talk to, when neither `--base-url` nor `RUNNER_BASE_URL` is given.
    pub base_url: Option<Tpl>,
    /// Variables in scope of every template of the scenario.
    #[serde(default)]
    pub vars: IndexMap<String, TValue>,
    /// Headers sent with every step; a step's own headers win.
    #[serde(default)]
    pub headers: IndexMap<String, Tpl>,
    /// Names of variables whose values are secret: masked in every output.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Labels for `--tag` / `--skip-tag`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// What this scenario may cost on a real server: `credits`, `scrape`, `agent`,
    /// `pull_request`, `post`, `ad_spend` (or a kind of a `--cost-catalog`). Without
    /// it, a step calling a costly endpoint is refused unless the target is the
    /// embedded mock. See docs/safety.md.
    #[serde(default)]
    pub allow_cost: Vec<Spanned<String>>,
    /// Skip the scenario, saying why.
    pub skip: Option<String>,
    /// Time limit for the whole scenario.
    pub timeout: Option<DurationSpec>,
    /// Default time limit of each step of the scenario.
    pub step_timeout: Option<DurationSpec>,
    /// Transport retries (connection errors, 5xx, 429) for the scenario's steps.
    pub retries: Option<u32>,
    /// Expand into one scenario per combination of these values.
    pub matrix: Option<IndexMap<String, Vec<TValue>>>,
    /// The steps, in order.
    #[serde(default)]
    pub steps: Vec<Spanned<StepDoc>>,
    /// Steps that run after `steps` whatever happened: cancel what was started.
    #[serde(default)]
    pub finally: Vec<Spanned<StepDoc>>,
    /// Several scenarios in one file (top level only).
    #[serde(default)]
    pub scenarios: Vec<Spanned<ScenarioDoc>>,
}

/// One step: a request, an `include` of shared steps, or a wait for a webhook.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct StepDoc {
    /// Shown in reports; defaults to `METHOD url`.
    pub name: Option<Spanned<String>>,
    /// The HTTP request to send.
    pub request: Option<RequestDoc>,
    /// Steps from another file (relative to this one), with `with:` parameters.
    pub include: Option<Spanned<String>>,
    /// Parameters for an `include`d file, in scope of its templates.
    #[serde(default)]
    pub with: IndexMap<String, TValue>,
    /// Wait for a webhook delivery to the run's receiver.
    pub wait_webhook: Option<WaitWebhook>,
    /// What the response must look like.
    pub expect: Option<Expect>,
    /// Values to keep from the response for later steps.
    #[serde(default)]
    pub capture: IndexMap<String, Capture>,
    /// Poll: repeat the request until `until` holds.
    pub retry: Option<Retry>,
    /// Transport retries for this step (0 turns them off).
    pub retries: Option<u32>,
    /// Time limit for this step.
    pub timeout: Option<DurationSpec>,
    /// Wait this long before sending.
    pub delay: Option<DurationSpec>,
    /// Skip the step, saying why.
    pub skip: Option<String>,
}

/// An HTTP request.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RequestDoc {
    /// GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS (default GET).
    pub method: Option<Spanned<String>>,
    /// Relative to the base URL, or absolute.
    pub url: Tpl,
    #[serde(default)]
    pub headers: IndexMap<String, Tpl>,
    /// Query parameters, appended to the URL (URL-encoded).
    #[serde(default)]
    pub query: IndexMap<String, TValue>,
    /// A JSON body (any YAML value); sets `Content-Type: application/json`.
    pub json: Option<TValue>,
    /// A raw body.
    pub body: Option<Tpl>,
    /// A URL-encoded form body.
    pub form: Option<IndexMap<String, Tpl>>,
    /// A multipart/form-data body: text fields, or `{file: path}` parts.
    pub multipart: Option<IndexMap<String, MultipartPart>>,
    /// A body read from a file (relative to the scenario file).
    pub body_file: Option<Tpl>,
}

/// One part of a multipart body.
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum MultipartPart {
    Text(Tpl),
    File(FilePart),
}

/// A file part of a multipart body.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct FilePart {
    /// Path relative to the scenario file.
    pub file: Tpl,
    pub filename: Option<String>,
    pub content_type: Option<String>,
}

/// Polling: send again until the response satisfies `until`.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    /// The condition, in the grammar of `expect`.
    pub until: Expect,
    /// How many times to send at most (default 10).
    pub attempts: Option<u32>,
    /// Pause between attempts (default 1s).
    pub interval: Option<DurationSpec>,
    /// Multiply the pause by this after each attempt (default 1).
    pub backoff: Option<f64>,
}

/// Wait for a webhook delivered to `{{ webhook.url }}`.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct WaitWebhook {
    /// The event type to wait for (the payload's `type`); any when absent.
    pub event: Option<Tpl>,
    /// How long to wait (default 10s).
    pub within: Option<DurationSpec>,
    /// Verify `X-Layers-Signature` (HMAC-SHA256 over "t.body") with this secret.
    pub secret: Option<Tpl>,
}
