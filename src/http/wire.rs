//! Facts about HTTP that a scenario file can get wrong: URL schemes and joining,
//! header names and values, content types, bytes written as base64 or hex. They live
//! here, below both the checks and the engine, so that a file is refused before the
//! run for exactly the reasons the engine would refuse the request.

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
/// A header the runner writes itself from the body it sends: one written in a
/// scenario would go out as well, or cut the body short, or leave the request
/// waiting for bytes that never come, while the report showed the whole body.
pub fn framing_header(name: &str) -> Option<String> {
    ["content-length", "transfer-encoding"]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
        .then(|| {
            format!(
                "`{name}` is written by the runner from the body it sends (0 for a POST, PUT or PATCH without one); a value of the scenario's could cut the body or stall the request"
            )
        })
}

/// Why `name` cannot be a header's name (it can be neither sent nor received).
pub fn bad_header_name(name: &str) -> Option<String> {
    reqwest::header::HeaderName::from_bytes(name.as_bytes())
        .is_err()
        .then(|| {
            format!(
                "`{}` is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)",
                name.escape_debug()
            )
        })
}

pub fn bad_header(name: &str, value: &str) -> Option<String> {
    if let Some(why) = bad_header_name(name) {
        return Some(why);
    }
    if reqwest::header::HeaderValue::from_str(value).is_err() {
        return Some(format!(
            "the value of header `{name}` holds a line break or another character HTTP does not allow in a header"
        ));
    }
    None
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
        assert!(framing_header("content-LENGTH").is_some());
        assert!(framing_header("Transfer-Encoding").is_some());
        assert!(framing_header("Content-Type").is_none());
    }
}
