//! What can be known before anything is sent: templates compile, every name a
//! template reads is defined by then, methods exist, schemas load.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use super::expect::{Expect, Matcher, SchemaSource};
use super::model::{METHODS, MultipartPart};
use super::suite::{Action, Params, Scenario, Step};
use super::values::{TValue, Tpl};
use crate::diagnostic::{Diagnostic, Diagnostics, Loc, did_you_mean};
use crate::template::functions::Kind;
use crate::template::{Templates, functions, scope::RESERVED};

/// Compile every template of `scenarios` into a registry and report what is wrong.
pub fn check(scenarios: &mut [Scenario], cli_vars: &[String]) -> (Templates, Diagnostics) {
    let mut c = Checker {
        templates: Templates::new(),
        diags: Diagnostics::default(),
        reported: HashSet::new(),
        params_done: HashMap::new(),
    };
    let mut names_seen: HashSet<(Arc<Path>, String)> = HashSet::new();
    for s in scenarios.iter_mut() {
        if !names_seen.insert((s.file.clone(), s.name.clone())) {
            c.push(
                Diagnostic::new(
                    s.file.as_ref(),
                    s.loc,
                    format!("two scenarios are named `{}`", s.name),
                )
                .width(s.name.chars().count())
                .hint("names must differ within a file: CI reporters keep only one of each"),
            );
        }
        c.scenario(s, cli_vars);
        s.inferred_secrets = secret_flows(&c.templates, s);
    }
    (c.templates, c.diags)
}

/// Names whose values flow into a secret header, a webhook secret or a variable
/// under `secrets:` (directly, or through `vars` and `with:` that do): they are
/// secrets too, from the moment they are captured or rendered, so that no output
/// shows them before the step that sends them.
fn secret_flows(templates: &Templates, s: &Scenario) -> Vec<String> {
    let secret_header = crate::secrets::is_secret_header;
    let mut sinks: Vec<&Tpl> = Vec::new();
    let mut definitions: Vec<(&String, &TValue)> = s.vars.iter().map(|(n, v)| (n, v)).collect();
    let headers = s.all_steps().filter_map(|st| match &st.action {
        Action::Request(r) => Some(&r.headers),
        Action::WaitWebhook(_) => None,
    });
    for h in std::iter::once(&s.headers).chain(headers) {
        sinks.extend(
            h.iter()
                .filter(|(n, _)| secret_header(n))
                .flat_map(|(_, ts)| ts.iter()),
        );
    }
    for st in s.all_steps() {
        if let Action::WaitWebhook(w) = &st.action {
            sinks.extend(w.secret.iter());
        }
        definitions.extend(st.params.iter().map(|(n, v)| (n, v)));
    }
    let mut secret: HashSet<String> = s.secrets.iter().cloned().collect();
    for t in sinks {
        secret.extend(templates.names_used(t));
    }
    // Until nothing changes: each round adds names or stops.
    loop {
        let before = secret.len();
        for (name, value) in &definitions {
            if secret.contains(*name) {
                for t in value.strings() {
                    secret.extend(templates.names_used(t));
                }
            }
        }
        if secret.len() == before {
            break;
        }
    }
    let mut out: Vec<String> = secret
        .into_iter()
        .filter(|n| !s.secrets.contains(n) && !RESERVED.contains(&n.as_str()))
        .collect();
    out.sort();
    out
}

struct Checker {
    templates: Templates,
    diags: Diagnostics,
    /// (file, position) already reported, so a shared include is reported once.
    reported: HashSet<(String, Loc)>,
    /// Include parameters already compiled, by the address of the original.
    params_done: HashMap<usize, (Arc<Params>, Arc<Params>)>,
}

/// What the templates of a step may read.
#[derive(Clone)]
struct Known {
    names: HashSet<String>,
    /// Captured later in the main steps: explains an early use.
    later: Vec<(String, String)>,
}

impl Checker {
    fn push(&mut self, d: Diagnostic) {
        if self.reported.insert((d.file.display().to_string(), d.loc)) {
            self.diags.push(d);
        }
    }

    fn scenario(&mut self, s: &mut Scenario, cli_vars: &[String]) {
        let file = s.file.clone();
        let mut known = Known {
            names: RESERVED
                .iter()
                .map(|r| r.to_string())
                .chain(cli_vars.iter().cloned())
                .collect(),
            later: Vec::new(),
        };
        for (name, value) in s.vars.iter_mut() {
            self.value(&file, value, &known, true);
            known.names.insert(name.clone());
        }
        if let Some(b) = s.base_url.as_mut() {
            self.tpl(&file, b, &known, false);
        }
        for (i, step) in s.steps.iter().enumerate() {
            for (name, _) in &step.capture {
                known
                    .later
                    .push((name.clone(), format!("step {} \"{}\"", i + 1, step.name)));
            }
        }
        let header_known = known.clone();
        let mut headers = std::mem::take(&mut s.headers);
        for (k, hs) in headers.iter_mut() {
            for h in hs.iter_mut() {
                self.tpl(&file, h, &header_known, false);
                self.header(&file, k, h, false);
            }
        }
        s.headers = headers;
        if let Some(b) = s.base_url.as_ref().filter(|b| b.is_literal())
            && let Some(why) = crate::http::wire::unsupported_scheme(&b.src)
        {
            let d = Diagnostic::new(file.as_ref(), b.loc, format!("base_url: {why}"))
                .width(b.src.chars().count());
            self.push(d);
        }
        for (key, limit) in [("timeout", s.timeout), ("step_timeout", s.step_timeout)] {
            if limit.is_some_and(|t| t.is_zero()) {
                self.push(zero_time_limit(&file, s.loc, key));
            }
        }
        for step in s.steps.iter_mut() {
            self.step(step, &mut known);
        }
        // A finally step may use any capture: if it never happened, the step is skipped.
        known.later.clear();
        for step in s.finally.iter_mut() {
            self.step(step, &mut known);
        }
    }

    fn step(&mut self, step: &mut Step, known: &mut Known) {
        let file = step.file.clone();
        let mut inner = known.clone();
        if !step.params.is_empty() {
            step.params = self.params(&step.params, &inner);
            for (name, _) in step.params.iter() {
                inner.names.insert(name.clone());
            }
        }
        match &mut step.action {
            Action::Request(r) => {
                if let Some(m) = &r.method {
                    let up = m.value.to_uppercase();
                    if !METHODS.contains(&up.as_str()) {
                        let hint = did_you_mean(&up, METHODS)
                            .map(|s| format!("did you mean `{s}`?"))
                            .unwrap_or_else(|| format!("one of {}", METHODS.join(", ")));
                        self.push(
                            Diagnostic::new(
                                file.as_ref(),
                                m.referenced.into(),
                                format!("unknown method `{}`", m.value),
                            )
                            .width(m.value.chars().count())
                            .hint(hint),
                        );
                    }
                }
                let bodies = [
                    r.json.is_some(),
                    r.body.is_some(),
                    r.form.is_some(),
                    r.multipart.is_some(),
                    r.body_file.is_some(),
                    r.body_base64.is_some(),
                    r.body_hex.is_some(),
                ]
                .iter()
                .filter(|b| **b)
                .count();
                if bodies > 1 {
                    self.push(
                        Diagnostic::new(file.as_ref(), r.url.loc, "a request takes one body: `json`, `body`, `form`, `multipart`, `body_file`, `body_base64` or `body_hex`")
                            .hint("keep one of them"),
                    );
                }
                self.tpl(&file, &mut r.url, &inner, false);
                if r.url.is_literal()
                    && let Some(why) = crate::http::wire::unsupported_scheme(&r.url.src)
                {
                    self.push(
                        Diagnostic::new(file.as_ref(), r.url.loc, why)
                            .width(r.url.src.chars().count())
                            .hint("write an http:// or https:// URL, or a path joined onto the base URL"),
                    );
                }
                for (k, hs) in r.headers.iter_mut() {
                    for h in hs.iter_mut() {
                        self.tpl(&file, h, &inner, false);
                        self.header(&file, k, h, bodies == 0);
                        if r.multipart.is_some() && k.eq_ignore_ascii_case("content-type") {
                            // The HTTP library writes its own, with the boundary its
                            // body uses: both went out, and the report showed this one.
                            self.push(
                                Diagnostic::new(
                                    file.as_ref(),
                                    h.loc,
                                    "a `multipart` request's Content-Type is written by the runner, with the boundary of the body it sends",
                                )
                                .hint("leave the Content-Type out of this step"),
                            );
                        }
                    }
                }
                if step.timeout.is_some_and(|t| t.is_zero()) {
                    self.push(zero_time_limit(&file, step.loc, "timeout"));
                }
                for (_, q) in r.query.iter_mut() {
                    self.value(&file, q, &inner, false);
                }
                if let Some(j) = r.json.as_mut() {
                    self.value(&file, j, &inner, true);
                }
                if let Some(b) = r.body.as_mut() {
                    self.tpl(&file, b, &inner, false);
                }
                if let Some(f) = r.form.as_mut() {
                    for (_, v) in f.iter_mut() {
                        self.tpl(&file, v, &inner, false);
                    }
                }
                if let Some(m) = r.multipart.as_mut() {
                    for (_, part) in m.iter_mut() {
                        match part {
                            MultipartPart::Text(t) => self.tpl(&file, t, &inner, false),
                            MultipartPart::File(fp) => {
                                self.tpl(&file, &mut fp.file, &inner, false);
                                if let Some(why) = fp
                                    .content_type
                                    .as_deref()
                                    .and_then(crate::http::wire::bad_content_type)
                                {
                                    self.push(Diagnostic::new(file.as_ref(), fp.file.loc, why));
                                }
                            }
                        }
                    }
                }
                if let Some(b) = r.body_file.as_mut() {
                    self.tpl(&file, b, &inner, false);
                }
                for (_, c) in r.cookies.iter_mut() {
                    self.tpl(&file, c, &inner, false);
                }
                type Decode = fn(&str) -> Result<Vec<u8>, String>;
                let binary: [(&str, Option<&mut Tpl>, Decode); 2] = [
                    (
                        "body_base64",
                        r.body_base64.as_mut(),
                        crate::http::wire::decode_base64,
                    ),
                    (
                        "body_hex",
                        r.body_hex.as_mut(),
                        crate::http::wire::decode_hex,
                    ),
                ];
                for (key, t, decode) in binary {
                    let Some(t) = t else { continue };
                    if t.is_literal() {
                        if let Err(why) = decode(&t.src) {
                            self.push(
                                Diagnostic::new(file.as_ref(), t.loc, format!("`{key}` {why}"))
                                    .width(t.src.chars().count().min(40)),
                            );
                        }
                    } else {
                        self.tpl(&file, t, &inner, false);
                    }
                }
            }
            Action::WaitWebhook(w) => {
                for t in [w.event.as_mut(), w.secret.as_mut()].into_iter().flatten() {
                    self.tpl(&file, t, &inner, false);
                }
            }
        }
        self.expect(&file, &mut step.expect, &inner);
        if let Some(r) = step.retry.as_mut() {
            self.expect(&file, &mut r.until, &inner);
            if r.attempts == Some(0) {
                self.push(Diagnostic::new(
                    file.as_ref(),
                    step.loc,
                    "`retry.attempts` must be at least 1",
                ));
            }
            // Below 1 (or not a number) the pauses would shrink or make no sense;
            // it used to be taken as 1 without a word.
            if let Some(b) = r.backoff.filter(|b| !(b.is_finite() && *b >= 1.0)) {
                self.push(
                    Diagnostic::new(
                        file.as_ref(),
                        step.loc,
                        format!("`retry.backoff` must be a number of at least 1, not {b}"),
                    )
                    .hint("each pause is the one before times `backoff`: 1 keeps them equal, 1.5 grows them by half"),
                );
            }
        }
        for (name, _) in &step.capture {
            known.names.insert(name.clone());
            known.later.retain(|(n, _)| n != name);
        }
    }

    /// A header that cannot go on the wire: a bad name, or a literal value with a
    /// line break (a rendered one is checked before it is sent).
    fn header(&mut self, file: &Arc<Path>, name: &str, value: &Tpl, bodyless: bool) {
        // `Content-Length: 0` on a step without a body says what the runner sends.
        let says_none = bodyless && value.is_literal() && value.src.trim() == "0";
        if let Some(why) = crate::http::wire::framing_header(name)
            && !(says_none && name.eq_ignore_ascii_case("content-length"))
        {
            self.push(
                Diagnostic::new(file.as_ref(), value.loc, why).hint(
                    "leave it out: the runner sends the length of the body the step describes",
                ),
            );
            return;
        }
        let probe = if value.is_literal() {
            value.src.as_str()
        } else {
            "x"
        };
        if let Some(why) = crate::http::wire::bad_header(name, probe) {
            self.push(
                Diagnostic::new(file.as_ref(), value.loc, why)
                    .hint("a header is one line: remove the line break or the control character"),
            );
        }
    }

    /// The parameters with their templates compiled, once per include: steps of one
    /// include keep sharing one `Params`, which the engine renders once for them.
    fn params(&mut self, p: &Arc<Params>, known: &Known) -> Arc<Params> {
        let key = Arc::as_ptr(p) as usize;
        if let Some((_, done)) = self.params_done.get(&key) {
            return done.clone();
        }
        let parent = p.parent.as_ref().map(|pp| self.params(pp, known));
        let mut inner = known.clone();
        if let Some(pp) = &parent {
            inner.names.extend(pp.iter().map(|(n, _)| n.clone()));
        }
        let mut own = p.own.clone();
        if let Some(file) = &p.file {
            for (name, value) in own.iter_mut() {
                self.value(file, value, &inner, true);
                inner.names.insert(name.clone());
            }
        }
        let done = Arc::new(Params {
            parent,
            file: p.file.clone(),
            own,
        });
        // The original is kept alive with its key, so no other can take its address.
        self.params_done.insert(key, (p.clone(), done.clone()));
        done
    }

    fn expect(&mut self, file: &Arc<Path>, e: &mut Expect, known: &Known) {
        if let Some(t) = e.status.as_mut().and_then(|s| s.template.as_mut()) {
            self.tpl(file, t, known, true);
        }
        for (path, m) in e.json.0.iter_mut() {
            if let Some(t) = path.template.as_mut() {
                self.tpl(file, t, known, false);
            }
            self.matcher(file, m, known);
            self.shape(file, m, Subject::Json, true);
        }
        for (_, _, m) in e.headers.0.iter_mut() {
            self.matcher(file, m, known);
            self.shape(file, m, Subject::Header, true);
        }
        if let Some(m) = e.body.as_mut() {
            self.matcher(file, m, known);
            self.shape(file, m, Subject::Body, true);
        }
        for m in [e.time_ms.as_mut(), e.url.as_mut(), e.redirects.as_mut()]
            .into_iter()
            .flatten()
        {
            self.matcher(file, m, known);
            self.shape(file, m, Subject::Json, true);
        }
        for (_, _, c) in e.cookies.0.iter_mut() {
            let matchers: Vec<&mut Matcher> = match c {
                super::expect::CookieCheck::Value(m) => vec![m],
                super::expect::CookieCheck::Attributes(attrs) => {
                    attrs.iter_mut().map(|(_, m)| m).collect()
                }
            };
            for m in matchers {
                self.matcher(file, m, known);
                self.shape(file, m, Subject::Body, true);
            }
        }
        if let Some(b) = e.bytes.as_mut() {
            if let Some(m) = b.length.as_mut() {
                self.matcher(file, m, known);
                self.shape(file, m, Subject::Json, true);
            }
            for (name, digest, len) in [("sha256", &b.sha256, 64), ("md5", &b.md5, 32)] {
                if let Some(d) = digest
                    && !d.hex.is_empty()
                    && d.hex.len() != len
                {
                    self.push(
                        Diagnostic::new(
                            file.as_ref(),
                            d.loc,
                            format!(
                                "a {name} digest has {len} hex digits, this one {}",
                                d.hex.len()
                            ),
                        )
                        .width(d.hex.len())
                        .hint(format!("`{name}sum FILE` prints the digest of a file")),
                    );
                }
            }
            if let Some(f) = b.file.as_mut() {
                let path = file.parent().unwrap_or(Path::new(".")).join(&f.path);
                match super::read::read_capped(&path, MAX_EXPECTED_FILE_BYTES) {
                    Ok(data) => f.data = Some(Arc::new(data)),
                    Err(why) => self.push(
                        Diagnostic::new(
                            file.as_ref(),
                            f.loc,
                            format!("cannot read `{}`: {why}", f.path),
                        )
                        .width(f.path.chars().count())
                        .hint("the path is relative to the scenario file"),
                    ),
                }
            }
        }
        if let Some(schema) = e.schema.as_mut() {
            let loaded = match &schema.source {
                SchemaSource::Inline(v) => Ok(v.clone()),
                SchemaSource::File(p) => load_schema_file(file, p),
            };
            match loaded.and_then(|v| {
                // `format` is only an annotation by default from draft 2019-09 on: a
                // `format: uuid` that checked nothing would pass any string.
                jsonschema::options()
                    .should_validate_formats(true)
                    .build(&v)
                    .map(|validator| (validator, v))
                    .map_err(|e| format!("not a valid JSON Schema: {e}"))
            }) {
                Ok((validator, document)) => {
                    schema.validator = Some(Arc::new(validator));
                    schema.document = Some(Arc::new(document));
                }
                Err(msg) => self.push(Diagnostic::new(file.as_ref(), schema.loc, msg)),
            }
        }
        if let Some(o) = e.openapi.as_mut()
            && let crate::scenario::expect::OpenApiSource::File(rel) = &o.source
        {
            let path = file.parent().unwrap_or(Path::new(".")).join(rel);
            match crate::contract::load_cached(&path) {
                Ok(spec) => o.spec = Some(spec),
                Err(msg) => self.push(Diagnostic::new(file.as_ref(), o.loc, msg)),
            }
        }
    }

    /// Checks that can never hold on what they look at are file errors: an object
    /// or a list expected of a header or of the body text, `count` outside headers.
    fn shape(&mut self, file: &Arc<Path>, m: &Matcher, subject: Subject, top: bool) {
        use super::expect::Check;
        for c in &m.checks {
            match c {
                Check::Equals(v) | Check::Contains(v) if subject.is_text() => {
                    self.not_text(file, v, subject)
                }
                Check::OneOf(TValue::Seq(items, _)) if subject.is_text() => {
                    for i in items {
                        self.not_text(file, i, subject);
                    }
                }
                Check::Count(_) if !(subject == Subject::Header && top) => {
                    self.push(
                        Diagnostic::new(
                            file.as_ref(),
                            m.loc,
                            "`count` counts the values of a header, and this is not a header",
                        )
                        .hint("for the length of a list or a text, write `length`"),
                    );
                }
                Check::Not(inner) => self.shape(file, inner, subject, top),
                Check::Each(inner) | Check::Any(inner) => {
                    let item = if subject == Subject::Header {
                        Subject::Header
                    } else {
                        Subject::Json
                    };
                    self.shape(file, inner, item, false)
                }
                Check::Length(inner) | Check::Count(inner) => {
                    self.shape(file, inner, Subject::Json, false)
                }
                _ => {}
            }
        }
    }

    fn not_text(&mut self, file: &Arc<Path>, v: &TValue, subject: Subject) {
        if matches!(v, TValue::Map(..) | TValue::Seq(..)) {
            let what = if subject == Subject::Header {
                "a header"
            } else {
                "the body text"
            };
            self.push(
                Diagnostic::new(
                    file.as_ref(),
                    v.loc(),
                    format!("{what} is text, so {} can never match it", v.kind_name()),
                )
                .hint(if subject == Subject::Header {
                    "compare with text, e.g. `equals: \"no-store\"`, or use `any:`/`each:` for a repeated header"
                } else {
                    "to check a JSON body, use `json:` with a JSONPath (e.g. `$: { equals: {...} }`)"
                }),
            );
        }
    }

    fn matcher(&mut self, file: &Arc<Path>, m: &mut Matcher, known: &Known) {
        let mut strings = Vec::new();
        m.strings_mut(&mut strings);
        for t in strings {
            self.tpl(file, t, known, true);
        }
    }

    fn value(&mut self, file: &Arc<Path>, v: &mut TValue, known: &Known, typed: bool) {
        let mut strings = Vec::new();
        v.strings_mut(&mut strings);
        for t in strings {
            self.tpl(file, t, known, typed);
        }
    }

    fn tpl(&mut self, file: &Arc<Path>, t: &mut Tpl, known: &Known, typed: bool) {
        if t.is_literal() {
            return;
        }
        if let Err(e) = self
            .templates
            .compile(&file.display().to_string(), t, typed)
        {
            self.push(syntax_error(file, t, &e));
            return;
        }
        self.names(file, t, known);
    }

    /// Report names the template reads that are not defined at this point, and
    /// calls to unknown functions and filters.
    fn names(&mut self, file: &Arc<Path>, t: &Tpl, known: &Known) {
        if t.is_literal() {
            return;
        }
        let own = own_callables(&t.src);
        for (name, used_as) in calls(&t.src) {
            if used_as == Kind::Function && own.contains(&name) {
                continue;
            }
            let ok = match used_as {
                Kind::Filter => functions::is_filter(&name),
                Kind::Function => functions::is_function(&name),
                Kind::Test => functions::is_test(&name),
            };
            if !ok {
                let (kind, suggestion) = match used_as {
                    Kind::Filter => ("filter", did_you_mean(&name, functions::all_filter_names())),
                    Kind::Function => (
                        "function",
                        did_you_mean(&name, functions::all_function_names()),
                    ),
                    Kind::Test => ("test", did_you_mean(&name, functions::all_test_names())),
                };
                let hint = suggestion
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| {
                        format!("see docs/templates.md for the {kind}s templates know")
                    });
                self.push(
                    Diagnostic::new(
                        file.as_ref(),
                        t.loc,
                        format!("unknown template {kind} `{name}`"),
                    )
                    .width(t.src.chars().count())
                    .hint(hint)
                    .focus(name.clone()),
                );
            }
        }
        for e in functions::arity_errors(&t.src, &own) {
            self.push(
                Diagnostic::new(file.as_ref(), t.loc, e.message)
                    .width(t.src.chars().count())
                    .hint(e.hint)
                    .focus(e.name),
            );
        }
        // An unset environment variable is a setup mistake, not a failing test: it
        // is found here, before anything is sent, at the template that reads it.
        let mut env_read: Vec<String> = self
            .templates
            .nested_names_used(t)
            .into_iter()
            .filter_map(|n| {
                let var = n.strip_prefix("env.")?.split('.').next()?.to_string();
                let dotted = format!("env.{var}");
                (std::env::var_os(&var).is_none() && !has_fallback(&t.src, &dotted)).then_some(var)
            })
            .collect();
        env_read.sort();
        env_read.dedup();
        for var in env_read {
            self.push(
                Diagnostic::new(
                    file.as_ref(),
                    t.loc,
                    format!("environment variable `{var}` is not set"),
                )
                .width(t.src.chars().count())
                .hint(format!(
                    "set it where the runner runs (`export {var}=...`, or the job's `env:` in CI), \
                     or give a fallback: `{{{{ env.{var} | default('...') }}}}`"
                ))
                .focus(format!("env.{var}")),
            );
        }
        let mut used: Vec<String> = self.templates.names_used(t).into_iter().collect();
        used.sort();
        for name in used {
            if known.names.contains(&name)
                || functions::is_filter(&name)
                || has_fallback(&t.src, &name)
            {
                continue;
            }
            if calls(&t.src).iter().any(|(n, _)| *n == name) {
                continue;
            }
            let hint = match known.later.iter().find(|(n, _)| *n == name) {
                Some((_, by)) => format!("`{name}` is captured by {by}, which runs after this"),
                None => match did_you_mean(&name, known.names.iter().map(String::as_str)) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "define it under `vars:`, pass --var {name}=..., or capture it in an earlier step"
                    ),
                },
            };
            self.push(
                Diagnostic::new(file.as_ref(), t.loc, format!("undefined variable `{name}`"))
                    .width(t.src.chars().count())
                    .hint(hint)
                    .focus(name.clone()),
            );
        }
    }
}

/// A file the body is compared with is read whole; bodies are capped far below.
const MAX_EXPECTED_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// What a matcher looks at, for the checks that can hold on it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Subject {
    Json,
    Header,
    Body,
}

impl Subject {
    fn is_text(self) -> bool {
        matches!(self, Subject::Header | Subject::Body)
    }
}

fn zero_time_limit(file: &Arc<Path>, loc: Loc, key: &str) -> Diagnostic {
    Diagnostic::new(
        file.as_ref(),
        loc,
        format!("`{key}` of 0 lets no request through"),
    )
    .hint("give a time limit above zero, e.g. 30s")
}

/// Whether the template gives `name` a fallback (`name | default(...)`) or tests
/// it (`name is defined`): then an undefined `name` is intended (an optional `--var`).
fn has_fallback(src: &str, name: &str) -> bool {
    let name = regex::escape(name);
    let pattern =
        format!(r"(^|[^\w.]){name}\s*(\|\s*(default|d)\b|\s+is\s+(not\s+)?(defined|undefined)\b)");
    regex::Regex::new(&pattern).is_ok_and(|re| re.is_match(src))
}

const SYNTAX_HINT: &str = "templates look like {{ name }} or {{ value | filter }}";

/// A template that does not compile; an unclosed `{{` is the usual case.
fn syntax_error(file: &Arc<Path>, t: &Tpl, message: &str) -> Diagnostic {
    let d = Diagnostic::new(file.as_ref(), t.loc, message).width(t.src.chars().count());
    match unclosed_opening(&t.src) {
        Some(open) => {
            let rest: String = t.src[open..].lines().next().unwrap_or("").to_string();
            let closer = if t.src[open..].starts_with("{%") {
                "%}"
            } else {
                "}}"
            };
            Diagnostic {
                message: format!(
                    "unclosed template: this `{}` has no `{closer}`",
                    &t.src[open..open + 2]
                ),
                ..d
            }
            .hint(format!("close it: `{} {closer}`", rest.trim_end()))
            .focus(rest)
        }
        None => d.hint(SYNTAX_HINT),
    }
}

/// The byte offset of the last `{{` (or `{%`) that no `}}` (`%}`) follows.
fn unclosed_opening(src: &str) -> Option<usize> {
    let mut open: Option<usize> = None;
    let mut i = 0;
    while i + 1 < src.len() {
        match &src.as_bytes()[i..i + 2] {
            b"{{" | b"{%" => {
                open = Some(i);
                i += 2;
            }
            b"}}" | b"%}" => {
                open = None;
                i += 2;
            }
            _ => i += 1,
        }
    }
    open
}

/// What a template defines for itself to call: its macros (`{% macro row(x) %}`),
/// `loop` inside a `recursive` for loop, `caller` inside a `{% call %}` block.
fn own_callables(src: &str) -> HashSet<String> {
    static MACRO: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    static RECURSIVE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    static CALL: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let mut out = HashSet::new();
    // Each of them takes a block tag; most templates have none, and the patterns
    // (Unicode word classes) cost about a millisecond to compile: a run of one
    // file need not pay it.
    if !src.contains("{%") {
        return out;
    }
    if let Some(re) =
        MACRO.get_or_init(|| regex::Regex::new(r"\{%[-+]?\s*macro\s+([A-Za-z_]\w*)\s*\(").ok())
    {
        out.extend(re.captures_iter(src).map(|c| c[1].to_string()));
    }
    if RECURSIVE
        .get_or_init(|| regex::Regex::new(r"\{%[-+]?\s*for\b[^%]*\brecursive\b").ok())
        .as_ref()
        .is_some_and(|re| re.is_match(src))
    {
        out.insert("loop".into());
    }
    if CALL
        .get_or_init(|| regex::Regex::new(r"\{%[-+]?\s*call\b").ok())
        .as_ref()
        .is_some_and(|re| re.is_match(src))
    {
        out.insert("caller".into());
    }
    out
}

/// Function calls (`name(`), filters (`| name`) and tests (`is name`) in a
/// template's source.
fn calls(src: &str) -> Vec<(String, Kind)> {
    functions::scan_calls(src)
        .into_iter()
        .map(|c| (c.name, c.kind))
        .collect()
}

/// A JSON Schema file larger than this is refused.
const SCHEMA_FILE_BYTES: u64 = 16 * 1024 * 1024;

fn load_schema_file(file: &Path, rel: &str) -> Result<serde_json::Value, String> {
    let path = file.parent().unwrap_or(Path::new(".")).join(rel);
    let bytes = super::read::read_capped(&path, SCHEMA_FILE_BYTES)
        .map_err(|why| format!("cannot read schema `{}`: {why}", path.display()))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("schema `{}` is not UTF-8 text", path.display()))?;
    if let Ok(v) = serde_json::from_str(&text) {
        return Ok(v);
    }
    serde_saphyr::from_str::<serde_json::Value>(&text).map_err(|e| {
        format!(
            "schema `{}` is neither JSON nor YAML: {}",
            path.display(),
            e.without_snippet()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_function_calls_and_filters() {
        let found = calls("{{ env.X | default(timestamp()) }}-{{ uuid() }}{{ 'a' | b64encode }}");
        assert!(found.contains(&("default".to_string(), Kind::Filter)));
        assert!(found.contains(&("timestamp".to_string(), Kind::Function)));
        assert!(found.contains(&("uuid".to_string(), Kind::Function)));
        assert!(found.contains(&("b64encode".to_string(), Kind::Filter)));
        assert!(!found.iter().any(|(n, _)| n == "env" || n == "X"));
    }

    #[test]
    fn a_raw_block_is_text_not_calls() {
        // Sent as written, so no name in it can be an unknown function or filter.
        let found = calls("{% raw %}{{ nosuch(1) | nofilter }}{% endraw %}{{ uuid() }}");
        assert_eq!(found, [("uuid".to_string(), Kind::Function)]);
    }

    #[test]
    fn a_default_or_a_defined_test_makes_a_name_optional() {
        assert!(has_fallback("{{ region | default('eu') }}", "region"));
        assert!(has_fallback("{{ region|d('eu') }}", "region"));
        assert!(has_fallback(
            "{% if region is defined %}x{% endif %}",
            "region"
        ));
        assert!(!has_fallback("{{ region }}", "region"));
        assert!(!has_fallback("{{ my_region | default('eu') }}", "region"));
        assert!(!has_fallback("{{ region | upper }}", "region"));
    }

    #[test]
    fn macros_and_recursive_loops_are_the_template_s_own() {
        let own = own_callables(
            "{% macro seg(v) %}{{ v }}{% endmacro %}{%- macro row() %}{% endmacro %}{{ seg(1) }}",
        );
        assert!(own.contains("seg") && own.contains("row"), "{own:?}");
        assert!(!own.contains("loop"));
        let own = own_callables("{% for n in t recursive %}{{ loop(n.c) }}{% endfor %}");
        assert!(own.contains("loop"), "{own:?}");
        assert!(own_callables("{% for n in t %}{{ loop.index }}{% endfor %}").is_empty());
    }

    #[test]
    fn method_calls_are_not_functions() {
        let found = calls("{{ name.upper() }}");
        assert!(found.is_empty(), "{found:?}");
    }
}
