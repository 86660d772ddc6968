//! Rendering a step's request: every template filled in once, so each retry
//! sends exactly the same bytes.

use std::path::Path;

use bytes::Bytes;
use minijinja::Value;
use serde_json::Value as J;

use crate::http::wire::{bad_content_type, bad_header, decode_base64, decode_hex, resolve_url};
use crate::http::{Body, Part, PreparedRequest};
use crate::scenario::model::{MultipartPart, RequestDoc};
use crate::scenario::values::{TValue, Tpl};
use crate::template::{RenderError, Templates};

/// Why a request could not be prepared.
pub struct PrepareError {
    pub message: String,
    /// Names that were undefined, when that was the reason.
    pub undefined: Vec<String>,
}

impl From<RenderError> for PrepareError {
    fn from(e: RenderError) -> Self {
        PrepareError {
            message: e.message,
            undefined: e.undefined,
        }
    }
}

fn plain(message: String) -> PrepareError {
    PrepareError {
        message,
        undefined: Vec::new(),
    }
}

/// Renders a request's templates, learning what those that read a secret made
/// of it as they render (`derived::learn`): a secret transformed
/// (`{{ key | upper }}`) is a secret too.
pub struct Render<'a> {
    pub templates: &'a Templates,
    pub scope: &'a Value,
    /// Whose secrets to look for, and where to learn them (none: nothing is).
    pub secrets: Option<(&'a crate::scenario::Scenario, &'a crate::secrets::Redactor)>,
}

impl Render<'_> {
    fn learn(&self, t: &Tpl) {
        if let Some((s, redactor)) = self.secrets {
            super::derived::learn(self.templates, [t], self.scope, s, redactor);
        }
    }

    fn text(&self, t: &Tpl) -> Result<String, RenderError> {
        let out = self.templates.render_str(t, self.scope)?;
        self.learn(t);
        Ok(out)
    }

    fn json(&self, v: &TValue) -> Result<J, RenderError> {
        let out = self.templates.render_json(v, self.scope)?;
        if let Some((s, redactor)) = self.secrets {
            super::derived::learn(self.templates, v.strings(), self.scope, s, redactor);
        }
        Ok(out)
    }
}

/// Render `req`; `headers` are the scenario's, which the step's override.
pub fn prepare(
    r: &Render<'_>,
    base: Option<&str>,
    scenario_headers: &[(String, &Tpl)],
    req: &RequestDoc,
    step_file: &Path,
) -> Result<PreparedRequest, PrepareError> {
    let method_text = req
        .method
        .as_ref()
        .map_or("GET".to_string(), |m| m.value.to_uppercase());
    let method = reqwest::Method::from_bytes(method_text.as_bytes())
        .map_err(|_| plain(format!("`{method_text}` is not an HTTP method")))?;
    let url_text = r.text(&req.url)?;
    let mut url = resolve_url(base, &url_text).map_err(plain)?;
    if !req.query.is_empty() {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (k, v) in &req.query {
            match r.json(v)? {
                J::Array(items) => pairs.extend(items.iter().map(|i| (k.clone(), query_text(i)))),
                other => pairs.push((k.clone(), query_text(&other))),
            }
        }
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(&k, &v);
        }
    }
    let mut headers: Vec<(String, String)> =
        Vec::with_capacity(scenario_headers.len() + req.headers.len() + 1);
    for (k, t) in scenario_headers {
        if req.headers.keys().any(|own| own.eq_ignore_ascii_case(k)) {
            continue;
        }
        // A multipart body's Content-Type is the one with its boundary.
        if req.multipart.is_some() && k.eq_ignore_ascii_case("content-type") {
            continue;
        }
        headers.push((k.clone(), r.text(t)?));
    }
    // A list is sent as one header line per value, in order, never joined with ", ".
    for (k, ts) in &req.headers {
        for t in ts.iter() {
            headers.push((k.clone(), r.text(t)?));
        }
    }
    let has = |headers: &[(String, String)], name: &str| {
        headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name))
    };
    let base_dir = step_file.parent().unwrap_or(Path::new("."));
    let body = if let Some(j) = &req.json {
        let value = r.json(j)?;
        if !has(&headers, "content-type") {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        Body::Bytes(Bytes::from(
            serde_json::to_vec(&value)
                .map_err(|e| plain(format!("cannot encode JSON body: {e}")))?,
        ))
    } else if let Some(b) = &req.body {
        Body::Bytes(Bytes::from(r.text(b)?))
    } else if let Some(form) = &req.form {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, t) in form {
            ser.append_pair(k, &r.text(t)?);
        }
        if !has(&headers, "content-type") {
            headers.push((
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
        }
        Body::Bytes(Bytes::from(ser.finish()))
    } else if let Some(parts) = &req.multipart {
        let mut out = Vec::new();
        for (name, part) in parts {
            match part {
                MultipartPart::Text(t) => out.push(Part {
                    name: name.clone(),
                    value: Bytes::from(r.text(t)?),
                    filename: None,
                    content_type: None,
                }),
                MultipartPart::File(f) => {
                    let rel = r.text(&f.file)?;
                    let path = base_dir.join(&rel);
                    let data = read_body_file(&path).map_err(|why| {
                        plain(format!(
                            "cannot read `{}` for multipart part `{name}`: {why}",
                            path.display()
                        ))
                    })?;
                    let filename = f.filename.clone().or_else(|| {
                        Path::new(&rel)
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                    });
                    if let Some(why) = f.content_type.as_deref().and_then(bad_content_type) {
                        return Err(plain(format!(
                            "multipart part `{name}`: {why}; the request was not sent"
                        )));
                    }
                    // What curl sends for `-F name=@file` without `;type=`: a type
                    // guessed from the extension of the name the part is sent under,
                    // and bytes when the extension says nothing.
                    let content_type = f.content_type.clone().unwrap_or_else(|| {
                        filename
                            .as_deref()
                            .and_then(|n| mime_guess::from_path(n).first_raw())
                            .unwrap_or("application/octet-stream")
                            .to_string()
                    });
                    out.push(Part {
                        name: name.clone(),
                        value: Bytes::from(data),
                        filename,
                        content_type: Some(content_type),
                    });
                }
            }
        }
        Body::Multipart(out)
    } else if let Some(t) = &req.body_base64 {
        Body::Bytes(Bytes::from(
            decode_base64(&r.text(t)?).map_err(|why| plain(format!("`body_base64` {why}")))?,
        ))
    } else if let Some(t) = &req.body_hex {
        Body::Bytes(Bytes::from(
            decode_hex(&r.text(t)?).map_err(|why| plain(format!("`body_hex` {why}")))?,
        ))
    } else if let Some(bf) = &req.body_file {
        let rel = r.text(bf)?;
        let path = base_dir.join(&rel);
        let data = read_body_file(&path)
            .map_err(|why| plain(format!("cannot read body_file `{}`: {why}", path.display())))?;
        Body::Bytes(Bytes::from(data))
    } else {
        Body::Empty
    };
    for (name, value) in crate::http::DEFAULT_HEADERS {
        if !has(&headers, name) {
            headers.push((name.into(), value.into()));
        }
    }
    // A method whose request carries content says how much, even none (RFC 9110
    // 8.6; some servers answer 411 without it); the HTTP library would send none.
    let no_content = match &body {
        Body::Empty => true,
        Body::Bytes(b) => b.is_empty(),
        Body::Multipart(_) => false,
    };
    if no_content
        && !has(&headers, "content-length")
        && matches!(
            method,
            reqwest::Method::POST | reqwest::Method::PUT | reqwest::Method::PATCH
        )
    {
        headers.push(("Content-Length".into(), "0".into()));
    }
    for (k, v) in &headers {
        if let Some(why) = bad_header(k, v) {
            return Err(plain(format!("{why}; the request was not sent")));
        }
    }
    Ok(PreparedRequest {
        method,
        url,
        headers,
        body,
    })
}

/// Request bodies read from files are refused beyond this.
const MAX_BODY_FILE_BYTES: u64 = 256 * 1024 * 1024;

fn read_body_file(path: &Path) -> Result<Vec<u8>, String> {
    crate::scenario::read::read_capped(path, MAX_BODY_FILE_BYTES)
}

fn query_text(v: &J) -> String {
    match v {
        J::String(s) => s.clone(),
        J::Null => String::new(),
        other => other.to_string(),
    }
}
