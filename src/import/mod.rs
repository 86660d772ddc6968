//! `runner import curl|har|postman|openapi SOURCE... [-o DIR]`: scenario files from
//! what QA teams already have, written to be read and reviewed, that pass
//! `runner validate` as written.
//!
//! Every importer builds [`FileOut`]s; this module turns them into YAML, keeps
//! secrets out of them (`{{ env.NAME }}` instead, the names printed), leaves costly
//! endpoints commented out with what they need, and says what it could not translate.

pub mod curl;
pub mod har;
pub mod openapi;
pub mod postman;
pub mod yaml;

use crate::secrets::{secret_name, secret_value};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use crate::diagnostic::Diagnostics;
use crate::exit;
pub use crate::jsonyaml::parse_json_or_yaml;
use crate::safety::Catalog;
use crate::safety::pattern::PathShape;
use yaml::{Entry, Y};

/// What `runner import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// curl command lines (a file of them, or one command given as text).
    Curl,
    /// A HAR 1.2 file exported from a browser's network tab.
    Har,
    /// A Postman collection (v2.0 or v2.1), and optionally environment files.
    Postman,
    /// An OpenAPI 3.0 / 3.1 document (JSON or YAML).
    Openapi,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// What the sources are.
    #[arg(value_enum)]
    pub format: Format,
    /// Files to import (for curl, a file of commands or a command as text; for
    /// postman, the collection and any environment files).
    #[arg(required = true, value_name = "SOURCE")]
    pub sources: Vec<String>,
    /// Folder to write the scenario files into (created when missing).
    #[arg(short = 'o', long = "out", value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    /// Replace files that already exist.
    #[arg(long)]
    pub force: bool,
    /// HAR: keep requests for static assets (images, scripts, styles, fonts).
    #[arg(long)]
    pub include_assets: bool,
    /// More costly endpoints (your own APIs), on top of the built-in Layers catalog. Repeatable.
    #[arg(long = "cost-catalog", value_name = "FILE")]
    pub cost_catalogs: Vec<PathBuf>,
}

/// A scenario file to write.
#[derive(Debug, Default)]
pub struct FileOut {
    /// File name inside the output folder.
    pub name: String,
    /// Comment lines at the top.
    pub comments: Vec<String>,
    pub base_url: Option<String>,
    pub vars: Vec<(String, Y)>,
    pub headers: Vec<(String, String)>,
    pub scenarios: Vec<ScenarioOut>,
}

#[derive(Debug, Default)]
pub struct ScenarioOut {
    pub name: String,
    pub description: Option<String>,
    pub comments: Vec<String>,
    pub tags: Vec<String>,
    pub vars: Vec<(String, Y)>,
    pub headers: Vec<(String, String)>,
    pub steps: Vec<StepOut>,
}

#[derive(Debug, Default)]
pub struct StepOut {
    pub name: Option<String>,
    /// Comment lines above the step (scripts kept as comments, notes).
    pub comments: Vec<String>,
    pub method: String,
    /// A path (joined to the base URL) or an absolute URL; may hold templates.
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// A value, or a list of values for a repeated parameter.
    pub query: Vec<(String, Y)>,
    pub body: BodyOut,
    pub status: Vec<u16>,
    pub json: Vec<(String, Y)>,
    pub capture: Vec<(String, String)>,
    /// `expect.openapi`: the spec file, relative to the scenario file.
    pub openapi: Option<String>,
    pub timeout: Option<String>,
    /// Written commented out, with these notes above it.
    pub left_out: Option<Vec<String>>,
}

#[derive(Debug, Default)]
pub enum BodyOut {
    #[default]
    None,
    Json(Y),
    Text(String),
    Form(Vec<(String, String)>),
    Multipart(Vec<(String, PartOut)>),
    File(String),
}

#[derive(Debug)]
pub enum PartOut {
    Text(String),
    File {
        path: String,
        filename: Option<String>,
        content_type: Option<String>,
    },
}

/// What an import found worth telling, and the secrets it kept out of the files.
#[derive(Debug, Default)]
pub struct Ctx {
    /// `where: what` lines of what was not translated (or translated with a caveat).
    pub notes: Vec<(String, String)>,
    /// Environment variable -> what it stands for.
    pub env: BTreeMap<String, String>,
    /// The values behind `env`, to prove they reach no written file.
    secret_values: BTreeMap<String, String>,
    /// Costly steps left commented out: `where: what they need`.
    pub costly: Vec<(String, String)>,
    /// Extra files to write (vars files), name -> text.
    pub extra: Vec<(String, String)>,
}

/// `X-Api-Key` -> `X_API_KEY`; the name ends in a suffix the runner masks.
pub fn env_name(suggested: &str) -> String {
    let mut n: String = suggested
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    while n.contains("__") {
        n = n.replace("__", "_");
    }
    let mut n = n.trim_matches('_').to_string();
    if n.is_empty() || n.starts_with(|c: char| c.is_ascii_digit()) {
        n = format!("SECRET_{n}");
    }
    if !crate::secrets::SECRET_ENV_SUFFIXES
        .iter()
        .any(|s| n.ends_with(s))
    {
        // `APIKEY` -> `API_KEY`, `TOKEN` -> `API_TOKEN`: the runner masks `*_KEY` etc.
        let bare = crate::secrets::SECRET_ENV_SUFFIXES
            .iter()
            .map(|s| &s[1..])
            .find(|w| n.ends_with(w));
        match bare {
            Some(w) if n.len() > w.len() => n.insert(n.len() - w.len(), '_'),
            Some(_) => n.insert_str(0, "API_"),
            None => n.push_str("_TOKEN"),
        }
    }
    n
}

impl Ctx {
    pub fn note(&mut self, at: impl Into<String>, what: impl Into<String>) {
        self.notes.push((at.into(), what.into()));
    }

    /// Keep `value` out of the files: a `{{ env.NAME }}` template to use in its
    /// place, the name recorded with what it stands for.
    pub fn secret(&mut self, suggested: &str, value: &str, what: &str) -> String {
        let base = env_name(suggested);
        let mut name = base.clone();
        let mut n = 2;
        while let Some(v) = self.secret_values.get(&name) {
            if v == value {
                break;
            }
            name = match base.rsplit_once('_') {
                Some((head, tail)) => format!("{head}_{n}_{tail}"),
                None => format!("{base}_{n}"),
            };
            n += 1;
        }
        self.secret_values.insert(name.clone(), value.to_string());
        self.env
            .entry(name.clone())
            .or_insert_with(|| what.to_string());
        format!("{{{{ env.{name} }}}}")
    }

    /// A header as written to a file: credentials replaced by `{{ env.NAME }}`.
    /// A value that is already a template stays as it is.
    pub fn header(&mut self, name: &str, value: &str, at: &str) -> String {
        if value.contains("{{") {
            return value.to_string();
        }
        let lower = name.to_ascii_lowercase();
        if lower == "cookie" {
            return self.cookie(value, at);
        }
        if !crate::secrets::is_secret_header(name) && !secret_name(name) && !secret_value(value) {
            return value.to_string();
        }
        let what = format!("the {name} header ({at})");
        if lower == "authorization" || lower == "proxy-authorization" {
            if let Some((scheme, cred)) = value.trim().split_once(' ')
                && ["bearer", "basic", "token", "digest", "apikey"]
                    .contains(&scheme.to_ascii_lowercase().as_str())
            {
                let env = self.secret(&format!("{scheme}_token"), cred.trim(), &what);
                return format!("{scheme} {env}");
            }
            return self.secret("auth_token", value, &what);
        }
        self.secret(name, value, &what)
    }

    /// `a=1; b=2` with every value from the environment.
    pub fn cookie(&mut self, value: &str, at: &str) -> String {
        value
            .split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) => {
                    let env = self.secret(
                        &format!("cookie_{k}_token"),
                        v,
                        &format!("the cookie {k} ({at})"),
                    );
                    format!("{k}={env}")
                }
                None => pair.to_string(),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// A query parameter, form field or body field: its value from the environment
    /// when its name or value says it is a credential.
    pub fn field(&mut self, name: &str, value: &str, at: &str) -> String {
        if value.contains("{{") || value.is_empty() {
            return value.to_string();
        }
        if secret_name(name) || secret_value(value) {
            return self.secret(name, value, &format!("`{name}` ({at})"));
        }
        value.to_string()
    }

    /// Every string field of a JSON body with a credential's name or look.
    pub fn json_body(&mut self, body: &mut Y, at: &str) {
        match body {
            Y::Map(entries) => {
                for e in entries {
                    if let Y::Str(s) = &mut e.value {
                        let masked = self.field(&e.key, s, at);
                        *s = masked;
                    } else {
                        self.json_body(&mut e.value, at);
                    }
                }
            }
            Y::Seq(items) => items.iter_mut().for_each(|i| self.json_body(i, at)),
            Y::Str(s) if secret_value(s) => {
                let masked = self.secret("body_token", s, &format!("a value in the body ({at})"));
                *s = masked;
            }
            _ => {}
        }
    }
}

impl StepOut {
    fn to_y(&self) -> Y {
        let mut step: Vec<(String, Y)> = Vec::new();
        if let Some(n) = &self.name {
            step.push(("name".into(), Y::str(n)));
        }
        let mut req: Vec<(String, Y)> = Vec::new();
        if self.method != "GET" {
            req.push(("method".into(), Y::str(&self.method)));
        }
        req.push(("url".into(), Y::str(&self.url)));
        if !self.headers.is_empty() {
            req.push(("headers".into(), yaml::header_lines(&self.headers)));
        }
        if !self.query.is_empty() {
            req.push((
                "query".into(),
                Y::map(self.query.iter().map(|(k, v)| (k.clone(), v.clone()))),
            ));
        }
        match &self.body {
            BodyOut::None => {}
            BodyOut::Json(j) => req.push(("json".into(), j.clone())),
            BodyOut::Text(t) => req.push(("body".into(), Y::str(t))),
            BodyOut::Form(f) => req.push(("form".into(), pairs(f))),
            BodyOut::File(p) => req.push(("body_file".into(), Y::str(p))),
            BodyOut::Multipart(parts) => req.push((
                "multipart".into(),
                Y::map(parts.iter().map(|(k, p)| {
                    let v = match p {
                        PartOut::Text(t) => Y::str(t),
                        PartOut::File {
                            path,
                            filename,
                            content_type,
                        } => {
                            let mut f = vec![("file".to_string(), Y::str(path))];
                            if let Some(n) = filename {
                                f.push(("filename".into(), Y::str(n)));
                            }
                            if let Some(c) = content_type {
                                f.push(("content_type".into(), Y::str(c)));
                            }
                            Y::map(f)
                        }
                    };
                    (k.clone(), v)
                })),
            )),
        }
        step.push(("request".into(), Y::map(req)));
        let mut expect: Vec<(String, Y)> = Vec::new();
        match self.status.as_slice() {
            [] => {}
            [one] => expect.push(("status".into(), Y::Num((*one).into()))),
            many => expect.push((
                "status".into(),
                Y::Seq(many.iter().map(|s| Y::Num((*s).into())).collect()),
            )),
        }
        if !self.json.is_empty() {
            expect.push((
                "json".into(),
                Y::map(self.json.iter().map(|(k, v)| (k.clone(), v.clone()))),
            ));
        }
        if let Some(spec) = &self.openapi {
            expect.push(("openapi".into(), Y::str(spec)));
        }
        if !expect.is_empty() {
            step.push(("expect".into(), Y::map(expect)));
        }
        if !self.capture.is_empty() {
            step.push((
                "capture".into(),
                Y::map(self.capture.iter().map(|(k, v)| (k.clone(), Y::str(v)))),
            ));
        }
        if let Some(t) = &self.timeout {
            step.push(("timeout".into(), Y::str(t)));
        }
        let step = Y::map(step);
        match &self.left_out {
            Some(notes) => {
                let mut all = self.comments.clone();
                all.extend(notes.iter().cloned());
                Y::Commented(all, Box::new(step))
            }
            None if self.comments.is_empty() => step,
            None => Y::Commented(self.comments.clone(), Box::new(Y::Null)).attach(step),
        }
    }
}

impl Y {
    /// Put comment lines above the first key of a map (used for a step's notes).
    fn attach(self, target: Y) -> Y {
        match (self, target) {
            (Y::Commented(notes, _), Y::Map(mut entries)) => {
                if let Some(first) = entries.first_mut() {
                    let mut c = notes;
                    c.append(&mut first.comments);
                    first.comments = c;
                }
                Y::Map(entries)
            }
            (_, t) => t,
        }
    }
}

fn pairs(p: &[(String, String)]) -> Y {
    Y::map(p.iter().map(|(k, v)| (k.clone(), Y::str(v))))
}

impl ScenarioOut {
    fn entries(&self) -> Vec<Entry> {
        let mut out: Vec<(String, Y)> = vec![("name".into(), Y::str(&self.name))];
        if let Some(d) = &self.description {
            out.push(("description".into(), Y::str(d)));
        }
        if !self.tags.is_empty() {
            out.push((
                "tags".into(),
                Y::Seq(self.tags.iter().map(Y::str).collect()),
            ));
        }
        if !self.vars.is_empty() {
            out.push((
                "vars".into(),
                Y::map(self.vars.iter().map(|(k, v)| (k.clone(), v.clone()))),
            ));
        }
        if !self.headers.is_empty() {
            out.push(("headers".into(), yaml::header_lines(&self.headers)));
        }
        let steps: Vec<Y> = self.steps.iter().map(StepOut::to_y).collect();
        out.push(("steps".into(), Y::Seq(steps)));
        let mut entries = match Y::map(out) {
            Y::Map(e) => e,
            _ => Vec::new(),
        };
        if let Some(first) = entries.first_mut() {
            first.comments = self.comments.clone();
        }
        entries
    }
}

impl FileOut {
    /// The file's YAML text.
    pub fn render(&self) -> String {
        let mut top: Vec<Entry> = Vec::new();
        let plain = |key: &str, value: Y| Entry {
            comments: Vec::new(),
            key: key.to_string(),
            value,
        };
        let single = self.scenarios.len() == 1;
        if single {
            let s = &self.scenarios[0];
            let mut entries = s.entries();
            // The scenario's own keys first (name, description, tags), then the file's.
            let at = entries
                .iter()
                .position(|e| e.key == "vars" || e.key == "headers" || e.key == "steps")
                .unwrap_or(entries.len());
            let mut file_keys = Vec::new();
            if let Some(b) = &self.base_url {
                file_keys.push(plain("base_url", Y::str(b)));
            }
            let mut vars = self.vars.clone();
            vars.extend(s.vars.iter().cloned());
            entries.retain(|e| e.key != "vars" && e.key != "headers");
            if !vars.is_empty() {
                file_keys.push(plain("vars", Y::map(vars)));
            }
            let mut headers = self.headers.clone();
            headers.extend(s.headers.iter().cloned());
            if !headers.is_empty() {
                file_keys.push(plain("headers", yaml::header_lines(&headers)));
            }
            let at = at.min(entries.len());
            entries.splice(at..at, file_keys);
            top = entries;
        } else {
            if let Some(b) = &self.base_url {
                top.push(plain("base_url", Y::str(b)));
            }
            if !self.vars.is_empty() {
                top.push(plain("vars", Y::map(self.vars.clone())));
            }
            if !self.headers.is_empty() {
                top.push(plain("headers", yaml::header_lines(&self.headers)));
            }
            top.push(plain(
                "scenarios",
                Y::Seq(self.scenarios.iter().map(|s| Y::Map(s.entries())).collect()),
            ));
        }
        yaml::render(&self.comments, &Y::Map(top))
    }
}

/// Leave out steps that call an endpoint of the cost catalog: written commented out,
/// with what they would need (`allow_cost`, a `finally` cancel), and listed.
pub fn flag_costly(files: &mut [FileOut], catalog: &Catalog, ctx: &mut Ctx) {
    for f in files.iter_mut() {
        for s in &mut f.scenarios {
            for st in &mut s.steps {
                let Some(shape) = PathShape::of_template(&st.url) else {
                    continue;
                };
                let hits: Vec<_> = catalog.matching(&st.method, &shape).collect();
                if hits.is_empty() {
                    continue;
                }
                let mut kinds: Vec<String> = hits.iter().flat_map(|e| e.costs.clone()).collect();
                kinds.sort();
                kinds.dedup();
                let mut need = format!("allow_cost: [{}]", kinds.join(", "));
                let cancels: Vec<String> = hits
                    .iter()
                    .filter_map(|e| e.cancel.as_ref().map(|c| c.text.clone()))
                    .collect();
                if let Some(c) = cancels.first() {
                    need.push_str(&format!(" and a `finally` step sending {c}"));
                }
                let what = hits
                    .iter()
                    .map(|e| e.what.clone())
                    .collect::<Vec<_>>()
                    .join("; ");
                let at = format!("{} / {} / {} {}", f.name, s.name, st.method, st.url);
                st.left_out = Some(vec![
                    format!(
                        "LEFT OUT: {} {} costs money on a real server ({what}).",
                        st.method, st.url
                    ),
                    format!("To run it, give the scenario {need}, then remove the `# ` below."),
                ]);
                ctx.costly.push((at, need));
            }
        }
    }
}

/// A file name from a title: lower case, words joined by `-`.
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    let out: String = out.chars().take(60).collect();
    if out.is_empty() {
        "imported".into()
    } else {
        out
    }
}

/// Split an absolute URL into its origin (`https://host:port`) and the rest.
pub fn split_origin(url: &str) -> Option<(String, String)> {
    let parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return None;
    }
    let origin = parsed.origin().ascii_serialization();
    let rest = &url[url.find("://")? + 3..];
    let path_at = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let mut path = rest[path_at..].to_string();
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    Some((origin, path))
}

/// Split `path?query` into the path and decoded query pairs, repeated names as lists.
/// `None` for the pairs when the query cannot be written as a map (`?flag`).
pub fn split_query(path_and_query: &str) -> (String, Vec<(String, String)>) {
    let no_frag = path_and_query.split('#').next().unwrap_or("");
    match no_frag.split_once('?') {
        Some((p, q)) if !q.is_empty() && q.split('&').all(|kv| kv.contains('=')) => {
            let pairs = url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            (p.to_string(), pairs)
        }
        _ => (no_frag.to_string(), Vec::new()),
    }
}

/// Query pairs as `query:` entries (a list for a repeated name), credentials masked.
pub fn query_entries(pairs: &[(String, String)], ctx: &mut Ctx, at: &str) -> Vec<(String, Y)> {
    let mut out: Vec<(String, Y)> = Vec::new();
    for (k, v) in pairs {
        let v = Y::str(ctx.field(k, v, at));
        match out.iter_mut().find(|(name, _)| name == k) {
            Some((_, Y::Seq(items))) => items.push(v),
            Some((_, first)) => {
                let prev = std::mem::replace(first, Y::Null);
                *first = Y::Seq(vec![prev, v]);
            }
            None => out.push((k.clone(), v)),
        }
    }
    out
}

/// Read a source file, bounded.
pub fn read_source(path: &Path) -> Result<String, String> {
    const MAX: u64 = 64 * 1024 * 1024;
    let bytes = crate::scenario::read::read_capped(path, MAX)
        .map_err(|why| format!("cannot read {}: {why}", path.display()))?;
    String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", path.display()))
}

/// `runner import`; `report_problems` prints file problems (the command line's
/// printer, which masks secrets).
pub fn main(a: ImportArgs, report_problems: fn(&Diagnostics)) -> i32 {
    let catalog = match Catalog::load(&a.cost_catalogs) {
        Ok(c) => c,
        Err(d) => {
            report_problems(&d);
            return exit::USAGE;
        }
    };
    let mut ctx = Ctx::default();
    let built = match a.format {
        Format::Curl => curl::import(&a.sources, &mut ctx),
        Format::Har => har::import(&a.sources, a.include_assets, &mut ctx),
        Format::Postman => postman::import(&a.sources, &mut ctx),
        Format::Openapi => openapi::import(&a.sources, &a.out, &mut ctx),
    };
    let mut files = match built {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    if files
        .iter()
        .all(|f| f.scenarios.iter().all(|s| s.steps.is_empty()))
    {
        eprintln!(
            "error: nothing to import: no request found in {}",
            a.sources.join(", ")
        );
        return exit::USAGE;
    }
    flag_costly(&mut files, &catalog, &mut ctx);
    match write_all(&files, &ctx, &a.out, a.force) {
        Ok(written) => {
            report(&written, &ctx);
            exit::OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit::USAGE
        }
    }
}

/// Render every file, prove no secret is in any, then write them (never over an
/// existing file without `--force`).
pub fn write_all(
    files: &[FileOut],
    ctx: &Ctx,
    out: &Path,
    force: bool,
) -> Result<Vec<PathBuf>, String> {
    let mut texts: Vec<(PathBuf, String)> = files
        .iter()
        .map(|f| (out.join(&f.name), f.render()))
        .collect();
    texts.extend(ctx.extra.iter().map(|(n, t)| (out.join(n), t.clone())));
    let mut seen = std::collections::HashSet::new();
    for (path, text) in &texts {
        if !seen.insert(path.clone()) {
            return Err(format!(
                "two imported files would both be {}; import the sources one at a time",
                path.display()
            ));
        }
        for (name, value) in &ctx.secret_values {
            if value.len() >= 4 && text.contains(value.as_str()) {
                // Never reached by design; it is what stands between a bug and a
                // committed credential.
                return Err(format!(
                    "the value of {name} would be written into {}; nothing was written",
                    path.display()
                ));
            }
        }
        if !force && path.exists() {
            return Err(format!(
                "{} already exists; nothing was written (pass --force to replace it)",
                path.display()
            ));
        }
    }
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let mut written = Vec::new();
    for (path, text) in texts {
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

fn report(written: &[PathBuf], ctx: &Ctx) {
    let mut o = std::io::stdout().lock();
    for p in written {
        let _ = writeln!(o, "wrote {}", p.display());
    }
    if !ctx.env.is_empty() {
        let _ = writeln!(
            o,
            "\nsecrets were not written into the files; set these environment variables before running:"
        );
        let w = ctx.env.keys().map(|k| k.len()).max().unwrap_or(0);
        for (k, what) in &ctx.env {
            let _ = writeln!(o, "  {k:w$}  {what}");
        }
    }
    if !ctx.costly.is_empty() {
        let _ = writeln!(
            o,
            "\ncostly endpoints, left commented out (a real server would charge for them):"
        );
        for (at, need) in &ctx.costly {
            let _ = writeln!(o, "  {at}: needs {need}");
        }
    }
    if !ctx.notes.is_empty() {
        let _ = writeln!(o, "\nnot translated (kept as comments where it helps):");
        for (at, what) in &ctx.notes {
            let _ = writeln!(o, "  {at}: {what}");
        }
    }
    let _ = o.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_end_in_a_masked_suffix() {
        for (given, want) in [
            ("X-Api-Key", "X_API_KEY"),
            ("Bearer_token", "BEARER_TOKEN"),
            ("cookie_session_token", "COOKIE_SESSION_TOKEN"),
            ("password", "API_PASSWORD"),
            ("client_secret", "CLIENT_SECRET"),
            ("db-password", "DB_PASSWORD"),
            ("auth", "AUTH_TOKEN"),
            ("9lives", "SECRET_9LIVES_TOKEN"),
            ("token", "API_TOKEN"),
            ("partnerApiKey", "PARTNERAPI_KEY"),
        ] {
            assert_eq!(env_name(given), want, "{given}");
        }
    }

    #[test]
    fn credentials_become_env_templates() {
        let mut ctx = Ctx::default();
        for (name, value, want) in [
            (
                "Authorization",
                "Bearer abc.def-123",
                "Bearer {{ env.BEARER_TOKEN }}",
            ),
            ("X-Api-Key", "k-1234567", "{{ env.X_API_KEY }}"),
            (
                "Cookie",
                "sid=s3cr3tvalue; theme=dark",
                "sid={{ env.COOKIE_SID_TOKEN }}; theme={{ env.COOKIE_THEME_TOKEN }}",
            ),
            ("Accept", "application/json", "application/json"),
            (
                "X-Trace",
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
                "{{ env.X_TRACE_TOKEN }}",
            ),
            ("Authorization", "Bearer {{ token }}", "Bearer {{ token }}"),
        ] {
            assert_eq!(ctx.header(name, value, "t"), want, "{name}: {value}");
        }
        // The same name with another value gets its own variable.
        assert_eq!(
            ctx.header("X-Api-Key", "other-key-99", "t"),
            "{{ env.X_API_2_KEY }}"
        );
        assert!(ctx.env.contains_key("BEARER_TOKEN"));
    }

    #[test]
    fn a_secret_in_a_rendered_file_stops_the_write() {
        let mut ctx = Ctx::default();
        ctx.secret("api_key", "supersecretvalue", "test");
        let file = FileOut {
            name: "x.yaml".into(),
            scenarios: vec![ScenarioOut {
                name: "s".into(),
                steps: vec![StepOut {
                    method: "GET".into(),
                    url: "/a?k=supersecretvalue".into(),
                    ..StepOut::default()
                }],
                ..ScenarioOut::default()
            }],
            ..FileOut::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let err = write_all(&[file], &ctx, dir.path(), false).unwrap_err();
        assert!(err.contains("API_KEY"), "{err}");
        assert!(!dir.path().join("x.yaml").exists());
    }

    #[test]
    fn names_that_say_credential() {
        for (name, secret) in [
            ("Authorization", true),
            ("X-Auth-Token", true),
            ("client_secret", true),
            ("api_key", true),
            ("sessionId", true),
            ("Idempotency-Key", false),
            ("author", false),
            ("public_key", false),
            ("Accept", false),
            ("key", false),
        ] {
            assert_eq!(secret_name(name), secret, "{name}");
        }
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("Swagger Petstore — v2!"), "swagger-petstore-v2");
        assert_eq!(slug("***"), "imported");
    }
}
