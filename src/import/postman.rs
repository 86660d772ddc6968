//! Postman collections (v2.0 and v2.1) and environment files.
//!
//! Folders become scenarios (a collection whose folders pass values to each other
//! stays one scenario), collection variables become `vars`, `{{var}}` becomes
//! `{{ var }}`, auth blocks become headers, every body mode is kept, and the
//! common test-script idioms become assertions and captures; any other script line
//! is kept as a comment and listed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value as J;

use super::yaml::Y;
use super::{BodyOut, Ctx, FileOut, PartOut, ScenarioOut, StepOut};

pub fn import(sources: &[String], ctx: &mut Ctx) -> Result<Vec<FileOut>, String> {
    let mut collections = Vec::new();
    let mut envs = Vec::new();
    for src in sources {
        let text = super::read_source(Path::new(src))?;
        let doc: J = serde_json::from_str(&text).map_err(|e| format!("{src} is not JSON: {e}"))?;
        if doc.get("info").is_some() && doc.get("item").is_some() {
            collections.push((src.clone(), doc));
        } else if doc.get("values").is_some_and(J::is_array) {
            envs.push((src.clone(), doc));
        } else {
            return Err(format!(
                "{src} is neither a Postman collection (no `info` and `item`) nor an environment (no `values`)"
            ));
        }
    }
    if collections.is_empty() {
        return Err("no Postman collection among the sources (only environments)".into());
    }
    // Environment variables: name -> value as written (templates converted), the
    // first environment's value being the files' default.
    let mut env_vars: BTreeMap<String, String> = BTreeMap::new();
    let mut secret_env: BTreeMap<String, String> = BTreeMap::new();
    for (src, env) in &envs {
        let title = env
            .get("name")
            .and_then(J::as_str)
            .unwrap_or(src)
            .to_string();
        let mut lines: Vec<(String, Y)> = Vec::new();
        let mut comments = vec![format!(
            "Variables of the Postman environment {title}: `runner run --vars-file THIS_FILE ...`\n(not named .yaml, so that a run of the folder does not take it for a scenario)"
        )];
        for v in env
            .get("values")
            .and_then(J::as_array)
            .into_iter()
            .flatten()
        {
            if v.get("enabled").and_then(J::as_bool) == Some(false) {
                continue;
            }
            let Some(key) = v.get("key").and_then(J::as_str) else {
                continue;
            };
            let name = ident(key);
            let value = scalar_text(v.get("value"));
            let secret = v.get("type").and_then(J::as_str) == Some("secret")
                || super::secret_name(key)
                || super::secret_value(&value);
            if secret {
                let env = ctx.secret(
                    key,
                    &value,
                    &format!("the Postman variable {key} ({title})"),
                );
                comments.push(format!(
                    "{name} is a secret: it comes from {env}, not from this file"
                ));
                secret_env.insert(name.clone(), env);
                continue;
            }
            env_vars
                .entry(name.clone())
                .or_insert_with(|| convert(&value, &mut BTreeSet::new()));
            lines.push((name, Y::str(convert(&value, &mut BTreeSet::new()))));
        }
        let body = super::yaml::render(&comments, &Y::map(lines));
        ctx.extra
            .push((format!("{}.vars", super::slug(&title)), body));
    }
    let mut files = Vec::new();
    for (src, doc) in &collections {
        files.push(collection(src, doc, &env_vars, &secret_env, ctx)?);
    }
    Ok(files)
}

/// A request with its place in the collection.
struct Req {
    folder: Vec<String>,
    step: StepOut,
    auth: Option<String>,
    captures: Vec<String>,
    uses: BTreeSet<String>,
}

fn collection(
    src: &str,
    doc: &J,
    env_vars: &BTreeMap<String, String>,
    secret_env: &BTreeMap<String, String>,
    ctx: &mut Ctx,
) -> Result<FileOut, String> {
    let name = doc
        .pointer("/info/name")
        .and_then(J::as_str)
        .unwrap_or("postman collection")
        .to_string();
    let mut reqs = Vec::new();
    let auth = doc.get("auth");
    walk(doc.get("item"), &[], auth, &name, &mut reqs, ctx);
    // Collection variables.
    let mut vars: Vec<(String, Y)> = Vec::new();
    let mut defined: BTreeSet<String> = BTreeSet::new();
    for v in doc
        .get("variable")
        .and_then(J::as_array)
        .into_iter()
        .flatten()
    {
        if v.get("disabled").and_then(J::as_bool) == Some(true) {
            continue;
        }
        let Some(key) = v.get("key").or(v.get("id")).and_then(J::as_str) else {
            continue;
        };
        let n = ident(key);
        let value = scalar_text(v.get("value"));
        let shown = if let Some(env) = secret_env.get(&n) {
            env.clone()
        } else if v.get("type").and_then(J::as_str) == Some("secret")
            || super::secret_name(key)
            || super::secret_value(&value)
        {
            ctx.secret(
                key,
                &value,
                &format!("the collection variable {key} ({name})"),
            )
        } else {
            convert(&value, &mut BTreeSet::new())
        };
        defined.insert(n.clone());
        vars.push((n, Y::str(shown)));
    }
    // Names used but defined only in an environment, or nowhere.
    let captured: BTreeSet<String> = reqs.iter().flat_map(|r| r.captures.clone()).collect();
    let used: BTreeSet<String> = reqs.iter().flat_map(|r| r.uses.clone()).collect();
    for n in used.iter().chain(captured.iter()) {
        if defined.contains(n) {
            continue;
        }
        if let Some(env) = secret_env.get(n) {
            vars.push((n.clone(), Y::str(env)));
        } else if let Some(v) = env_vars.get(n) {
            vars.push((n.clone(), Y::str(v)));
        } else if !captured.contains(n) {
            ctx.note(
                &name,
                format!(
                    "variable `{n}` is defined nowhere in the sources; set it with `--var {n}=...`"
                ),
            );
            vars.push((n.clone(), Y::str("")));
        } else {
            continue;
        }
        defined.insert(n.clone());
    }
    // One auth for every request: a file header.
    let auths: BTreeSet<Option<String>> = reqs.iter().map(|r| r.auth.clone()).collect();
    let mut file_headers = Vec::new();
    if auths.len() == 1
        && let Some(Some(a)) = auths.iter().next()
    {
        file_headers.push(("Authorization".to_string(), a.clone()));
    } else {
        for r in &mut reqs {
            if let Some(a) = &r.auth {
                r.step
                    .headers
                    .insert(0, ("Authorization".into(), a.clone()));
            }
        }
    }
    // The most common origin becomes the file's base_url.
    let mut origins: BTreeMap<String, usize> = BTreeMap::new();
    for r in &reqs {
        if let Some((o, _)) = origin_of(&r.step.url) {
            *origins.entry(o).or_default() += 1;
        }
    }
    let base = origins.into_iter().max_by_key(|(_, n)| *n).map(|(o, _)| o);
    if let Some(b) = &base {
        for r in &mut reqs {
            if let Some((o, rest)) = origin_of(&r.step.url)
                && o == *b
            {
                r.step.url = rest;
            }
        }
    }
    // Folders become scenarios, unless one folder uses what another captures: the
    // runner's scenarios run apart, so such a collection stays one scenario.
    let mut groups: Vec<(Vec<String>, Vec<Req>)> = Vec::new();
    for r in reqs {
        match groups.iter_mut().find(|(f, _)| *f == r.folder) {
            Some((_, g)) => g.push(r),
            None => groups.push((r.folder.clone(), vec![r])),
        }
    }
    let crosses = groups.iter().enumerate().any(|(i, (_, g))| {
        let uses: BTreeSet<&String> = g.iter().flat_map(|r| &r.uses).collect();
        groups.iter().enumerate().any(|(j, (_, other))| {
            i != j
                && other
                    .iter()
                    .flat_map(|r| &r.captures)
                    .any(|c| uses.contains(c))
        })
    });
    let scenarios: Vec<ScenarioOut> = if crosses || groups.len() <= 1 {
        if crosses {
            ctx.note(
                &name,
                "its folders pass values to each other (a test script sets a variable another folder uses), so the collection is one scenario",
            );
        }
        let steps = groups
            .into_iter()
            .flat_map(|(folder, g)| {
                g.into_iter().map(move |mut r| {
                    if !folder.is_empty() {
                        let n = r.step.name.take().unwrap_or_default();
                        r.step.name = Some(format!("{} / {n}", folder.join(" / ")));
                    }
                    r.step
                })
            })
            .collect();
        vec![ScenarioOut {
            name: name.clone(),
            steps,
            ..ScenarioOut::default()
        }]
    } else {
        groups
            .into_iter()
            .map(|(folder, g)| ScenarioOut {
                name: if folder.is_empty() {
                    name.clone()
                } else {
                    folder.join(" / ")
                },
                steps: g.into_iter().map(|r| r.step).collect(),
                ..ScenarioOut::default()
            })
            .collect()
    };
    let mut comments = vec![format!(
        "Imported from the Postman collection {name} ({src}) by `runner import postman`."
    )];
    if let Some(d) = doc.pointer("/info/description").and_then(J::as_str) {
        comments.extend(d.lines().map(str::to_string));
    }
    Ok(FileOut {
        name: format!("{}.yaml", super::slug(&name)),
        comments,
        base_url: base,
        vars,
        headers: file_headers,
        scenarios,
    })
}

/// `{{baseUrl}}/x` -> (`{{ baseUrl }}`, `/x`); `https://h/x` -> (`https://h`, `/x`).
fn origin_of(url: &str) -> Option<(String, String)> {
    if url.starts_with("{{")
        && let Some(end) = url.find("}}")
    {
        let (o, rest) = url.split_at(end + 2);
        if rest.is_empty() || rest.starts_with('/') || rest.starts_with('?') {
            let rest = if rest.is_empty() {
                "/".to_string()
            } else {
                rest.to_string()
            };
            return Some((o.to_string(), rest));
        }
        return None;
    }
    super::split_origin(url)
}

fn walk(
    items: Option<&J>,
    folder: &[String],
    auth: Option<&J>,
    coll: &str,
    out: &mut Vec<Req>,
    ctx: &mut Ctx,
) {
    for item in items.and_then(J::as_array).into_iter().flatten() {
        let name = item
            .get("name")
            .and_then(J::as_str)
            .unwrap_or("request")
            .to_string();
        let own_auth = item
            .get("auth")
            .filter(|a| a.get("type").and_then(J::as_str) != Some("inherit"));
        let auth = own_auth.or(auth);
        if item.get("item").is_some() {
            let mut f = folder.to_vec();
            f.push(name);
            walk(item.get("item"), &f, auth, coll, out, ctx);
            continue;
        }
        let Some(req) = item.get("request") else {
            continue;
        };
        let at = format!(
            "{coll} / {}{name}",
            folder.iter().map(|f| format!("{f} / ")).collect::<String>()
        );
        out.push(request(item, req, &name, folder, auth, &at, ctx));
    }
}

fn request(
    item: &J,
    req: &J,
    name: &str,
    folder: &[String],
    auth: Option<&J>,
    at: &str,
    ctx: &mut Ctx,
) -> Req {
    let mut uses = BTreeSet::new();
    // v2.0 and v2.1 both allow a request to be just its URL.
    let (method, url_v, headers_v, body_v, req_auth) = match req {
        J::String(_) => ("GET".to_string(), Some(req), None, None, None),
        _ => (
            req.get("method")
                .and_then(J::as_str)
                .unwrap_or("GET")
                .to_ascii_uppercase(),
            req.get("url"),
            req.get("header"),
            req.get("body"),
            req.get("auth")
                .filter(|a| a.get("type").and_then(J::as_str) != Some("inherit")),
        ),
    };
    let auth = req_auth.or(auth);
    let mut step = StepOut {
        name: Some(name.to_string()),
        method,
        ..StepOut::default()
    };
    let (url, query) = url_parts(url_v, &mut uses);
    step.url = url;
    step.query = query
        .iter()
        .map(|(k, v)| (k.clone(), Y::str(ctx.field(k, v, at))))
        .collect();
    for h in headers_v.and_then(J::as_array).into_iter().flatten() {
        if h.get("disabled").and_then(J::as_bool) == Some(true) {
            continue;
        }
        let Some(k) = h.get("key").and_then(J::as_str) else {
            continue;
        };
        let v = convert(&scalar_text(h.get("value")), &mut uses);
        let v = ctx.header(k, &v, at);
        step.headers.push((k.to_string(), v));
    }
    let mut auth_header = None;
    if let Some(a) = auth {
        auth_header = auth_to_header(a, &mut step, &mut uses, at, ctx);
    }
    if let Some(b) = body_v {
        step.body = body(b, &mut step.headers, &mut uses, at, ctx);
    }
    let mut captures = Vec::new();
    for ev in item
        .get("event")
        .and_then(J::as_array)
        .into_iter()
        .flatten()
    {
        let listen = ev.get("listen").and_then(J::as_str).unwrap_or("");
        let lines: Vec<String> = match ev.pointer("/script/exec") {
            Some(J::Array(a)) => a
                .iter()
                .filter_map(J::as_str)
                .flat_map(|l| l.lines().map(str::to_string))
                .collect(),
            Some(J::String(s)) => s.lines().map(str::to_string).collect(),
            _ => Vec::new(),
        };
        if lines.iter().all(|l| l.trim().is_empty()) {
            continue;
        }
        if listen == "test" {
            let kept = test_script(&lines, &mut step, &mut captures);
            if !kept.is_empty() {
                for l in &kept {
                    ctx.note(
                        at,
                        format!("test script line kept as a comment: {}", l.trim()),
                    );
                }
                step.comments
                    .push("Postman test script lines not translated:".into());
                step.comments
                    .extend(kept.into_iter().map(|l| format!("  {l}")));
            }
        } else {
            ctx.note(at, format!("a {listen} script is kept as a comment"));
            step.comments
                .push(format!("Postman {listen} script (not translated):"));
            step.comments.extend(
                lines
                    .iter()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| format!("  {l}")),
            );
        }
    }
    Req {
        folder: folder.to_vec(),
        step,
        auth: auth_header,
        captures,
        uses,
    }
}

/// The URL (path variables filled in, query left out) and the enabled query pairs.
fn url_parts(v: Option<&J>, uses: &mut BTreeSet<String>) -> (String, Vec<(String, String)>) {
    let Some(v) = v else {
        return ("/".into(), Vec::new());
    };
    let (raw, query_list, path_vars) = match v {
        J::String(s) => (s.clone(), None, None),
        J::Object(_) => {
            let raw = match v.get("raw").and_then(J::as_str) {
                Some(r) => r.to_string(),
                None => {
                    let host = match v.get("host") {
                        Some(J::Array(h)) => {
                            h.iter().filter_map(J::as_str).collect::<Vec<_>>().join(".")
                        }
                        Some(J::String(h)) => h.clone(),
                        _ => String::new(),
                    };
                    let path = match v.get("path") {
                        Some(J::Array(p)) => {
                            p.iter().filter_map(J::as_str).collect::<Vec<_>>().join("/")
                        }
                        Some(J::String(p)) => p.trim_start_matches('/').to_string(),
                        _ => String::new(),
                    };
                    let proto = v
                        .get("protocol")
                        .and_then(J::as_str)
                        .map(|p| format!("{p}://"))
                        .unwrap_or_default();
                    format!("{proto}{host}/{path}")
                }
            };
            (
                raw,
                v.get("query").and_then(J::as_array),
                v.get("variable").and_then(J::as_array),
            )
        }
        _ => ("/".into(), None, None),
    };
    let (no_query, raw_query) = match raw.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (raw.clone(), String::new()),
    };
    let mut pairs: Vec<(String, String)> = match query_list {
        Some(list) => list
            .iter()
            .filter(|q| q.get("disabled").and_then(J::as_bool) != Some(true))
            .filter_map(|q| {
                Some((
                    q.get("key")?.as_str()?.to_string(),
                    scalar_text(q.get("value")),
                ))
            })
            .collect(),
        None if !raw_query.is_empty() => raw_query
            .split('&')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (k.to_string(), v.to_string())
            })
            .collect(),
        None => Vec::new(),
    };
    for (k, v) in &mut pairs {
        *k = convert(k, uses);
        *v = convert(v, uses);
    }
    // Path variables `:id` take their value from the request's `variable` list.
    let mut url = String::new();
    for (i, seg) in no_query.split('/').enumerate() {
        if i > 0 {
            url.push('/');
        }
        match seg.strip_prefix(':') {
            Some(name)
                if !name.is_empty()
                    && !no_query[..no_query.find(seg).unwrap_or(0)].ends_with(':') =>
            {
                let value = path_vars
                    .into_iter()
                    .flatten()
                    .find(|pv| pv.get("key").and_then(J::as_str) == Some(name))
                    .map(|pv| scalar_text(pv.get("value")))
                    .unwrap_or_else(|| format!("{{{{{name}}}}}"));
                url.push_str(&value);
            }
            _ => url.push_str(seg),
        }
    }
    (convert(&url, uses), pairs)
}

fn auth_param(a: &J, kind: &str, key: &str) -> Option<String> {
    match a.get(kind)? {
        J::Array(items) => items
            .iter()
            .find(|i| i.get("key").and_then(J::as_str) == Some(key))
            .map(|i| scalar_text(i.get("value"))),
        J::Object(o) => o.get(key).map(|v| scalar_text(Some(v))),
        _ => None,
    }
}

/// An auth block as the Authorization header it sends (API keys go to the step).
fn auth_to_header(
    a: &J,
    step: &mut StepOut,
    uses: &mut BTreeSet<String>,
    at: &str,
    ctx: &mut Ctx,
) -> Option<String> {
    let kind = a.get("type").and_then(J::as_str).unwrap_or("noauth");
    match kind {
        "noauth" => None,
        "bearer" => {
            let token = convert(&auth_param(a, "bearer", "token").unwrap_or_default(), uses);
            Some(ctx.header("Authorization", &format!("Bearer {token}"), at))
        }
        "basic" => {
            let user = convert(
                &auth_param(a, "basic", "username").unwrap_or_default(),
                uses,
            );
            let pass = convert(
                &auth_param(a, "basic", "password").unwrap_or_default(),
                uses,
            );
            let user_expr = expr(&user, |u| {
                serde_json::Value::String(u.to_string()).to_string()
            });
            let pass_expr = expr(&pass, |p| {
                let env = ctx.secret(
                    &format!("{user}_password"),
                    p,
                    &format!("the basic auth password ({at})"),
                );
                env.trim_start_matches("{{")
                    .trim_end_matches("}}")
                    .trim()
                    .to_string()
            });
            Some(format!(
                "Basic {{{{ ({user_expr} ~ ':' ~ {pass_expr}) | b64encode }}}}"
            ))
        }
        "apikey" => {
            let key = auth_param(a, "apikey", "key").unwrap_or_else(|| "X-Api-Key".into());
            let value = convert(&auth_param(a, "apikey", "value").unwrap_or_default(), uses);
            if auth_param(a, "apikey", "in").as_deref() == Some("query") {
                let v = ctx.secret(&key, &value, &format!("the API key ({at})"));
                let v = if value.contains("{{") { value } else { v };
                step.query.push((key, Y::str(v)));
            } else {
                let v = ctx.header(&key, &value, at);
                let v = if value.contains("{{") { value } else { v };
                step.headers.push((key, v));
            }
            None
        }
        other => {
            ctx.note(
                at,
                format!("auth type `{other}` is not translated; add its header by hand"),
            );
            None
        }
    }
}

/// A template expression for a value: `{{ name }}` -> `name`, a literal through `lit`.
fn expr(v: &str, lit: impl FnOnce(&str) -> String) -> String {
    let t = v.trim();
    if let Some(inner) = t.strip_prefix("{{").and_then(|r| r.strip_suffix("}}"))
        && !inner.contains("{{")
    {
        return inner.trim().to_string();
    }
    lit(v)
}

fn body(
    b: &J,
    headers: &mut Vec<(String, String)>,
    uses: &mut BTreeSet<String>,
    at: &str,
    ctx: &mut Ctx,
) -> BodyOut {
    if b.get("disabled").and_then(J::as_bool) == Some(true) {
        return BodyOut::None;
    }
    let mode = b.get("mode").and_then(J::as_str).unwrap_or("");
    match mode {
        "raw" => {
            let raw = b.get("raw").and_then(J::as_str).unwrap_or("");
            let lang_json = b.pointer("/options/raw/language").and_then(J::as_str) == Some("json");
            let ct_json = headers
                .iter()
                .any(|(n, v)| n.eq_ignore_ascii_case("content-type") && v.contains("json"));
            if (lang_json || ct_json)
                && let Ok(mut y) = serde_json::from_str::<Y>(raw)
            {
                y.strings_mut(&mut |s| *s = convert(s, uses));
                ctx.json_body(&mut y, at);
                return BodyOut::Json(y);
            }
            if raw.is_empty() {
                return BodyOut::None;
            }
            BodyOut::Text(convert(raw, uses))
        }
        "urlencoded" => {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case("content-type"));
            BodyOut::Form(
                kv(b.get("urlencoded"))
                    .into_iter()
                    .filter_map(|p| {
                        let k = p.get("key")?.as_str()?.to_string();
                        let v = convert(&scalar_text(p.get("value")), uses);
                        let v = ctx.field(&k, &v, at);
                        Some((k, v))
                    })
                    .collect(),
            )
        }
        "formdata" => {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case("content-type"));
            let mut parts = Vec::new();
            for p in kv(b.get("formdata")) {
                let Some(k) = p.get("key").and_then(J::as_str) else {
                    continue;
                };
                if p.get("type").and_then(J::as_str) == Some("file") {
                    let src = match p.get("src") {
                        Some(J::String(s)) => s.clone(),
                        Some(J::Array(a)) => {
                            a.first().and_then(J::as_str).unwrap_or("").to_string()
                        }
                        _ => String::new(),
                    };
                    ctx.note(at, format!("form file `{k}` reads `{src}`: put the file there, relative to the scenario file"));
                    parts.push((
                        k.to_string(),
                        PartOut::File {
                            path: src,
                            filename: None,
                            content_type: p
                                .get("contentType")
                                .and_then(J::as_str)
                                .map(str::to_string),
                        },
                    ));
                } else {
                    let v = convert(&scalar_text(p.get("value")), uses);
                    parts.push((k.to_string(), PartOut::Text(ctx.field(k, &v, at))));
                }
            }
            BodyOut::Multipart(parts)
        }
        "file" => {
            let src = b
                .pointer("/file/src")
                .and_then(J::as_str)
                .unwrap_or("")
                .to_string();
            ctx.note(
                at,
                format!("the body file `{src}`: put it there, relative to the scenario file"),
            );
            BodyOut::File(src)
        }
        "graphql" => {
            let query = convert(
                b.pointer("/graphql/query")
                    .and_then(J::as_str)
                    .unwrap_or(""),
                uses,
            );
            let mut entries = vec![("query".to_string(), Y::str(query))];
            if let Some(vars) = b
                .pointer("/graphql/variables")
                .and_then(J::as_str)
                .filter(|v| !v.trim().is_empty())
            {
                match serde_json::from_str::<Y>(vars) {
                    Ok(mut y) => {
                        y.strings_mut(&mut |s| *s = convert(s, uses));
                        entries.push(("variables".into(), y));
                    }
                    Err(_) => ctx.note(at, "the GraphQL variables are not JSON; left out"),
                }
            }
            BodyOut::Json(Y::map(entries))
        }
        "" => BodyOut::None,
        other => {
            ctx.note(at, format!("body mode `{other}` is not translated"));
            BodyOut::None
        }
    }
}

fn kv(list: Option<&J>) -> Vec<&J> {
    list.and_then(J::as_array)
        .into_iter()
        .flatten()
        .filter(|p| p.get("disabled").and_then(J::as_bool) != Some(true))
        .collect()
}

/// A variable name as a template identifier (`base-url` -> `base_url`).
fn ident(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

fn scalar_text(v: Option<&J>) -> String {
    match v {
        Some(J::String(s)) => s.clone(),
        Some(J::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

static POSTMAN_VAR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{\{\s*([^{}]+?)\s*\}\}").expect("a valid pattern"));

/// Postman's `{{name}}` and dynamic variables as runner templates.
pub fn convert(text: &str, uses: &mut BTreeSet<String>) -> String {
    POSTMAN_VAR
        .replace_all(text, |c: &regex::Captures<'_>| {
            let name = &c[1];
            match name {
                "$guid" | "$randomUUID" => "{{ uuid() }}".to_string(),
                "$timestamp" => "{{ timestamp() }}".to_string(),
                "$isoTimestamp" => "{{ now() }}".to_string(),
                n if n.starts_with('$') => {
                    // Other dynamic values (random names, numbers) have no equivalent:
                    // a fixed, visible stand-in.
                    format!("{{{{ uuid() }}}}-{}", n.trim_start_matches('$'))
                }
                n => {
                    let id = ident(n);
                    uses.insert(id.clone());
                    format!("{{{{ {id} }}}}")
                }
            }
        })
        .into_owned()
}

static TEST_WRAPPER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*(pm\.test\(.*(function\s*\(\s*\)|\(\s*\)\s*=>)\s*\{|\}\s*\)\s*;?|(var|let|const)\s+\w+\s*=\s*(pm\.response\.json\(\)|JSON\.parse\(responseBody\))\s*;?|//.*|)\s*$"#).expect("a valid pattern")
});
static STATUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*(?:pm\.response\.to\.have\.status\((\d{3})\)|pm\.expect\(pm\.response\.(?:code|status)\)\.to\.(?:eql|equal|eq|be\.equal)\((\d{3})\)|tests\[.*\]\s*=\s*responseCode\.code\s*===?\s*(\d{3}))\s*;?\s*$"#).expect("a valid pattern")
});
static JSON_VAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*(?:var|let|const)\s+(\w+)\s*=\s*(?:pm\.response\.json\(\)|JSON\.parse\(responseBody\))"#).expect("a valid pattern")
});
const PATH: &str = r#"((?:\.[A-Za-z_$][\w$]*|\[\d+\]|\[["'][^"']+["']\])*)"#;
static EQUALS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r#"^\s*pm\.expect\(\s*(pm\.response\.json\(\)|\w+){PATH}\s*\)\.to\.(?:eql|equal|eq|deep\.equal|be\.equal)\((.+)\)\s*;?\s*$"#)).expect("a valid pattern")
});
static SET_VAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r#"^\s*(?:pm\.(?:environment|collectionVariables|globals|variables)\.set|postman\.set(?:Environment|Global)Variable)\(\s*["']([^"']+)["']\s*,\s*(pm\.response\.json\(\)|\w+){PATH}\s*\)\s*;?\s*$"#)).expect("a valid pattern")
});

/// The idioms of a test script as assertions and captures on `step`; the lines
/// that are none of them are returned.
fn test_script(lines: &[String], step: &mut StepOut, captures: &mut Vec<String>) -> Vec<String> {
    let mut json_vars: Vec<String> = Vec::new();
    for l in lines {
        if let Some(c) = JSON_VAR.captures(l) {
            json_vars.push(c[1].to_string());
        }
    }
    let body_ref = |r: &str| r == "pm.response.json()" || json_vars.iter().any(|v| v == r);
    let mut kept = Vec::new();
    for l in lines {
        if let Some(c) = STATUS.captures(l) {
            let code = c
                .get(1)
                .or(c.get(2))
                .or(c.get(3))
                .and_then(|m| m.as_str().parse::<u16>().ok());
            if let Some(code) = code
                && !step.status.contains(&code)
            {
                step.status.push(code);
            }
            continue;
        }
        if let Some(c) = EQUALS.captures(l)
            && body_ref(&c[1])
            && let Some(v) = js_value(&c[3])
        {
            step.json.push((json_path(&c[2]), v));
            continue;
        }
        if let Some(c) = SET_VAR.captures(l)
            && body_ref(&c[2])
        {
            let name = ident(&c[1]);
            step.capture.push((name.clone(), json_path(&c[3])));
            captures.push(name);
            continue;
        }
        if TEST_WRAPPER.is_match(l) {
            continue;
        }
        kept.push(l.trim_end().to_string());
    }
    kept
}

/// `.data[0]['odd key']` -> `$.data[0]['odd key']`.
fn json_path(js: &str) -> String {
    format!("${}", js.replace('"', "'"))
}

/// A JavaScript literal as a value: numbers, strings in either quotes, booleans, null.
fn js_value(src: &str) -> Option<Y> {
    let t = src.trim();
    if let Some(inner) = t.strip_prefix('\'').and_then(|r| r.strip_suffix('\''))
        && !inner.contains('\'')
    {
        return Some(Y::str(inner.replace("\\n", "\n")));
    }
    serde_json::from_str::<Y>(t).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_idioms_become_assertions_and_captures() {
        let lines: Vec<String> = [
            "pm.test(\"Status code is 200\", function () {",
            "    pm.response.to.have.status(200);",
            "});",
            "tests[\"created\"] = responseCode.code === 201;",
            "var jsonData = pm.response.json();",
            "pm.expect(jsonData.name).to.eql('Rex');",
            "pm.expect(pm.response.json().tags[0]).to.equal(\"good\");",
            "pm.environment.set(\"petId\", pm.response.json().id);",
            "postman.setEnvironmentVariable('owner', jsonData.owner['first name']);",
            "pm.expect(pm.response.responseTime).to.be.below(200);",
        ]
        .map(String::from)
        .to_vec();
        let mut step = StepOut::default();
        let mut caps = Vec::new();
        let kept = test_script(&lines, &mut step, &mut caps);
        assert_eq!(step.status, vec![200, 201]);
        assert_eq!(
            step.json,
            vec![
                ("$.name".to_string(), Y::str("Rex")),
                ("$.tags[0]".to_string(), Y::str("good"))
            ]
        );
        assert_eq!(
            step.capture,
            vec![
                ("petId".to_string(), "$.id".to_string()),
                ("owner".to_string(), "$.owner['first name']".to_string())
            ]
        );
        assert_eq!(
            kept,
            vec!["pm.expect(pm.response.responseTime).to.be.below(200);"]
        );
    }

    #[test]
    fn variables_become_templates() {
        let mut uses = BTreeSet::new();
        assert_eq!(
            convert("{{baseUrl}}/pets/{{pet-id}}?x={{$guid}}", &mut uses),
            "{{ baseUrl }}/pets/{{ pet_id }}?x={{ uuid() }}"
        );
        assert!(uses.contains("pet_id") && uses.contains("baseUrl"));
    }

    #[test]
    fn v20_and_v21_auth_blocks_read_the_same() {
        let v21 = serde_json::json!({"type": "bearer", "bearer": [{"key": "token", "value": "{{token}}", "type": "string"}]});
        let v20 = serde_json::json!({"type": "bearer", "bearer": {"token": "{{token}}"}});
        for a in [v21, v20] {
            let mut ctx = Ctx::default();
            let h = auth_to_header(
                &a,
                &mut StepOut::default(),
                &mut BTreeSet::new(),
                "t",
                &mut ctx,
            );
            assert_eq!(h.as_deref(), Some("Bearer {{ token }}"));
        }
    }
}
