//! The forms of a secret that cannot be decoded back in passing, derived once when
//! the secret is learnt: base64 at each of its three alignments (of the secret, and
//! of it as a JSON or form body carries it) and hex in both cases.

use base64::Engine as _;

/// Base64 and hex forms are derived when they carry at least 24 bits of the secret
/// alone: fewer would match ordinary text by chance.
const MIN_BASE64_CHARS: usize = 4;
const MIN_HEX_CHARS: usize = 6;

/// Which view of a text a family of forms is searched in.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub(super) enum Kind {
    /// The text, with escapes undone and `+` read as a space.
    Text,
    /// The text with line breaks dropped and the URL-safe alphabet read as standard.
    Base64,
}

/// Every form of `secret` that is searched for, and how it was made. Escaped forms
/// are not here: escapes are undone on the text instead.
pub(super) fn forms_of(secret: &str) -> Vec<(Kind, Vec<u8>, &'static str)> {
    let raw = secret.as_bytes();
    let mut out = Vec::new();
    let text: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    out.push((Kind::Text, text, ""));
    // Base64 of the secret, and of it as a JSON or form body would carry it.
    let quoted = serde_json::to_string(secret).unwrap_or_default();
    let json = quoted
        .strip_prefix('"')
        .and_then(|j| j.strip_suffix('"'))
        .unwrap_or(&quoted)
        .to_string();
    let mut sources: Vec<String> = vec![
        secret.to_string(),
        json.clone(),
        html_safe_json(&json),
        url::form_urlencoded::byte_serialize(raw).collect(),
    ];
    sources.sort();
    sources.dedup();
    for src in &sources {
        for offset in 0..3usize {
            let form = base64_core(src.as_bytes(), offset);
            if form.len() >= MIN_BASE64_CHARS {
                out.push((Kind::Base64, form, ", base64"));
            }
            if let Some(form) = base64_core_at_end(src.as_bytes(), offset)
                && form.len() > MIN_BASE64_CHARS
            {
                out.push((Kind::Base64, form, ", base64"));
            }
        }
    }
    let hex = hex::encode(raw).into_bytes();
    if hex.len() >= MIN_HEX_CHARS {
        // Searched with the secret (no `+` or space in hex), in both cases.
        out.push((Kind::Text, hex.to_ascii_uppercase(), ", hex"));
        out.push((Kind::Text, hex, ", hex"));
    }
    out
}

/// The base64 characters (standard alphabet) that `bytes` alone decide when they
/// sit `offset` bytes into the encoded data (each character holds 6 bits; those
/// sharing bits with a neighbour depend on it).
fn base64_core(bytes: &[u8], offset: usize) -> Vec<u8> {
    let mut data = vec![0u8; offset];
    data.extend_from_slice(bytes);
    let enc = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&data);
    let first = (8 * offset).div_ceil(6);
    let end = (8 * data.len()) / 6;
    if end <= first {
        return Vec::new();
    }
    enc.as_bytes()[first..end].to_vec()
}

/// [`base64_core`] when `bytes` end the encoded data: the last, partial character
/// and the `=` padding are then decided by `bytes` too.
fn base64_core_at_end(bytes: &[u8], offset: usize) -> Option<Vec<u8>> {
    let total = offset + bytes.len();
    if total.is_multiple_of(3) {
        return None;
    }
    let mut data = vec![0u8; offset];
    data.extend_from_slice(bytes);
    let enc = base64::engine::general_purpose::STANDARD.encode(&data);
    let first = (8 * offset).div_ceil(6);
    enc.as_bytes().get(first..).map(<[u8]>::to_vec)
}

/// JSON as template engines write it into HTML-safe output: `<`, `>`, `&`, `'` as
/// `\u003c`... (minijinja's `tojson`).
pub(super) fn html_safe_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\'' => out.push_str("\\u0027"),
            c => out.push(c),
        }
    }
    out
}
