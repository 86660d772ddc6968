//! Rendering a step's request: every template filled in once, so each retry
//! sends exactly the same bytes.

use std::path::Path;

use bytes::Bytes;
use minijinja::Value;
use serde_json::Value as J;

use crate::http::{Body, Part, PreparedRequest};
use crate::scenario::model::{MultipartPart, RequestDoc};
use crate::scenario::values::Tpl;
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

/// The scheme of a URL written with one (`ftp` of `ftp://host/x`), if any.
pub fn scheme_of(text: &str) -> Option<&str> {
    let (scheme, _) = text.trim().split_once("://")?;
    let mut chars = scheme.chars();
    (chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(scheme)
}

/// Why a URL with another scheme than http or https cannot be sent.
pub fn unsupported_scheme(text: &str) -> Option<String> {
    let scheme = scheme_of(text)?;
    (!scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https")).then(|| {
        format!("`{scheme}://` URLs cannot be sent: the runner speaks http:// and https:// only")
    })
}

/// Join a path onto the base URL (keeping the base's own path), or take an absolute URL.
pub fn resolve_url(base: Option<&str>, target: &str) -> Result<url::Url, String> {
    let t = target.trim();
    if let Some(why) = unsupported_scheme(t) {
        return Err(why);
    }
    if scheme_of(t).is_some() {
        return url::Url::parse(t).map_err(|e| format!("`{t}` is not a valid URL: {e}"));
    }
    let Some(base) = base else {
        return Err(format!("`{t}` is relative and there is no base URL"));
    };
    if let Some(why) = unsupported_scheme(base) {
        return Err(format!("the base URL: {why}"));
    }
    let joined = format!(
        "{}/{}",
        base.trim_end_matches('/'),
        t.trim_start_matches('/')
    );
    url::Url::parse(&joined).map_err(|e| format!("`{joined}` is not a valid URL: {e}"))
}

/// Render `req` in `scope`; `headers` are the scenario's, which the step's override.
pub fn prepare(
    templates: &Templates,
    scope: &Value,
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
    let url_text = templates.render_str(&req.url, scope)?;
    let mut url = resolve_url(base, &url_text).map_err(plain)?;
    if !req.query.is_empty() {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (k, v) in &req.query {
            match templates.render_json(v, scope)? {
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
        headers.push((k.clone(), templates.render_str(t, scope)?));
    }
    // A list is sent as one header line per value, in order, never joined with ", ".
    for (k, ts) in &req.headers {
        for t in ts.iter() {
            headers.push((k.clone(), templates.render_str(t, scope)?));
        }
    }
    let has = |headers: &[(String, String)], name: &str| {
        headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name))
    };
    let base_dir = step_file.parent().unwrap_or(Path::new("."));
    let body = if let Some(j) = &req.json {
        let value = templates.render_json(j, scope)?;
        if !has(&headers, "content-type") {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        Body::Bytes(Bytes::from(
            serde_json::to_vec(&value)
                .map_err(|e| plain(format!("cannot encode JSON body: {e}")))?,
        ))
    } else if let Some(b) = &req.body {
        Body::Bytes(Bytes::from(templates.render_str(b, scope)?))
    } else if let Some(form) = &req.form {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, t) in form {
            ser.append_pair(k, &templates.render_str(t, scope)?);
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
                    value: Bytes::from(templates.render_str(t, scope)?),
                    filename: None,
                    content_type: None,
                }),
                MultipartPart::File(f) => {
                    let rel = templates.render_str(&f.file, scope)?;
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
                    // What curl sends for `-F name=@file` without `;type=`: a file
                    // part always says what it is, and bytes are all we know.
                    let content_type = f
                        .content_type
                        .clone()
                        .unwrap_or_else(|| "application/octet-stream".into());
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
            decode_base64(&templates.render_str(t, scope)?)
                .map_err(|why| plain(format!("`body_base64` {why}")))?,
        ))
    } else if let Some(t) = &req.body_hex {
        Body::Bytes(Bytes::from(
            decode_hex(&templates.render_str(t, scope)?)
                .map_err(|why| plain(format!("`body_hex` {why}")))?,
        ))
    } else if let Some(bf) = &req.body_file {
        let rel = templates.render_str(bf, scope)?;
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

/// Base64 as people paste it: standard or URL-safe alphabet, padded or not,
/// wrapped over lines.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let unpadded = compact.trim_end_matches('=');
    STANDARD_NO_PAD
        .decode(unpadded)
        .or_else(|_| URL_SAFE_NO_PAD.decode(unpadded))
        .map_err(|e| format!("is not base64: {e}"))
}

/// Hex digits, spaces and newlines between bytes allowed.
pub fn decode_hex(text: &str) -> Result<Vec<u8>, String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(&compact).map_err(|e| format!("is not hex: {e}"))
}

/// Why a multipart part's content type cannot be sent, if it cannot.
pub fn bad_content_type(ct: &str) -> Option<String> {
    reqwest::multipart::Part::bytes(Vec::new())
        .mime_str(ct)
        .is_err()
        .then(|| format!("`{ct}` is not a content type (write it like `image/png`)"))
}

/// Why a header cannot go on the wire as written, if it cannot: a name that is no
/// HTTP token, or a value holding a line break or another control character (which
/// would forge a header of its own).
pub fn bad_header(name: &str, value: &str) -> Option<String> {
    if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Some(format!(
            "`{}` is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)",
            name.escape_debug()
        ));
    }
    if reqwest::header::HeaderValue::from_str(value).is_err() {
        return Some(format!(
            "the value of header `{name}` holds a line break or another character HTTP does not allow in a header"
        ));
    }
    None
}

/// Request bodies read from files are refused beyond this.
const MAX_BODY_FILE_BYTES: u64 = 256 * 1024 * 1024;

fn read_body_file(path: &Path) -> Result<Vec<u8>, String> {
    crate::scenario::load::read_capped(path, MAX_BODY_FILE_BYTES)
}

fn query_text(v: &J) -> String {
    match v {
        J::String(s) => s.clone(),
        J::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_urls_keep_the_base_path() {
        let u = resolve_url(Some("http://127.0.0.1:8080/api/"), "/v1/whoami").ok();
        assert_eq!(
            u.map(|u| u.to_string()).as_deref(),
            Some("http://127.0.0.1:8080/api/v1/whoami")
        );
        let abs = resolve_url(None, "http://127.0.0.1:9/x").ok();
        assert_eq!(
            abs.map(|u| u.to_string()).as_deref(),
            Some("http://127.0.0.1:9/x")
        );
        assert!(resolve_url(None, "/v1/x").is_err());
    }

    #[test]
    fn other_schemes_are_refused_not_joined_onto_the_base() {
        for (base, target) in [
            (Some("http://127.0.0.1:9"), "ftp://example.com/x"),
            (Some("http://127.0.0.1:9"), "file:///etc/passwd"),
            (Some("ftp://example.com"), "/v1/x"),
            (None, "gopher://example.com/x"),
        ] {
            let err = resolve_url(base, target).err().unwrap_or_default();
            assert!(
                err.contains("http:// and https:// only"),
                "{base:?} {target}: {err}"
            );
        }
        assert!(resolve_url(Some("HTTPS://example.com"), "/x").is_ok());
        let upper = resolve_url(Some("http://127.0.0.1:9"), "HTTPS://example.com/x");
        assert_eq!(
            upper.map(|u| u.to_string()).ok().as_deref(),
            Some("https://example.com/x")
        );
    }

    #[test]
    fn header_values_with_line_breaks_are_refused() {
        assert!(bad_header("X-Ok", "fine value").is_none());
        assert!(bad_header("X-Bad", "a\r\nX-Forged: 1").is_some());
        assert!(bad_header("X Bad", "v").is_some());
        assert!(bad_header("X-Bad", "nul\0").is_some());
    }
}
