//! The one place secrets are masked: every event passes here before any
//! reporter sees it, and every report is scanned after it is written.

use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine as _;

/// What replaces a secret.
pub const MASK: &str = "***";

/// Secrets shorter than this are not masked: masking "1" would garble every report.
const MIN_SECRET_LEN: usize = 4;

/// Environment variables with these endings hold secrets.
pub const SECRET_ENV_SUFFIXES: [&str; 4] = ["_KEY", "_TOKEN", "_SECRET", "_PASSWORD"];

/// Headers whose values are secrets.
pub const SECRET_HEADERS: [&str; 4] = ["authorization", "x-api-key", "cookie", "set-cookie"];

#[derive(Default)]
struct Patterns {
    secrets: Vec<String>,
    /// (pattern, replacement)
    forms: Vec<(String, String)>,
    matcher: Option<AhoCorasick>,
}

/// The set of secret values known so far, and how to mask them.
#[derive(Default, Clone)]
pub struct Redactor {
    inner: Arc<RwLock<Arc<Patterns>>>,
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a secret value (and, for header values, the credential inside).
    pub fn add(&self, secret: &str) {
        let secret = secret.trim();
        if secret.len() < MIN_SECRET_LEN {
            return;
        }
        let mut values = vec![secret.to_string()];
        // "Bearer <token>", "Basic <b64>": the credential alone, and Basic's decoded parts.
        if let Some((scheme, cred)) = secret.split_once(' ') {
            let cred = cred.trim();
            values.push(cred.to_string());
            if scheme.eq_ignore_ascii_case("basic")
                && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(cred)
                && let Ok(text) = String::from_utf8(bytes)
            {
                if let Some((_, password)) = text.split_once(':') {
                    values.push(password.to_string());
                }
                values.push(text);
            }
        }
        let current = self.snapshot();
        let new: Vec<String> = values
            .into_iter()
            .filter(|v| v.len() >= MIN_SECRET_LEN && !current.secrets.contains(v))
            .collect();
        if new.is_empty() {
            return;
        }
        let mut guard = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let mut next = Patterns {
            secrets: guard.secrets.clone(),
            forms: guard.forms.clone(),
            matcher: None,
        };
        for v in new {
            if next.secrets.contains(&v) {
                continue;
            }
            next.forms.extend(forms_of(&v));
            next.secrets.push(v);
        }
        next.forms
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        next.forms.dedup_by(|a, b| a.0 == b.0);
        next.matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(next.forms.iter().map(|(p, _)| p.as_str()))
            .ok();
        *guard = Arc::new(next);
    }

    /// Add every variable of the process environment that names a secret.
    pub fn add_env_secrets(&self) {
        for (k, v) in std::env::vars() {
            let upper = k.to_ascii_uppercase();
            if SECRET_ENV_SUFFIXES.iter().any(|s| upper.ends_with(s)) {
                self.add(&v);
            }
        }
    }

    fn snapshot(&self) -> Arc<Patterns> {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn is_empty(&self) -> bool {
        self.snapshot().secrets.is_empty()
    }

    /// `text` with every form of every secret masked.
    pub fn scrub(&self, text: &str) -> String {
        let p = self.snapshot();
        match &p.matcher {
            Some(m) => {
                let replacements: Vec<&str> = p.forms.iter().map(|(_, r)| r.as_str()).collect();
                m.replace_all(text, &replacements)
            }
            None => text.to_string(),
        }
    }

    pub fn scrub_in_place(&self, text: &mut String) {
        let p = self.snapshot();
        if let Some(m) = &p.matcher
            && m.is_match(text.as_str())
        {
            *text = self.scrub(text);
        }
    }

    /// The first secret form found in `bytes`, described without revealing it.
    pub fn find_leak(&self, bytes: &[u8]) -> Option<String> {
        let p = self.snapshot();
        let m = p.matcher.as_ref()?;
        m.find(bytes).map(|found| {
            let (pattern, _) = &p.forms[found.pattern().as_usize()];
            format!(
                "a secret ({} characters) at byte {}",
                pattern.len(),
                found.start()
            )
        })
    }
}

/// What a Layers key becomes: its public part, `lp_test_<key_id>_***`.
fn public_form(secret: &str) -> String {
    let b = secret.as_bytes();
    let is_layers = (secret.starts_with("lp_live_") || secret.starts_with("lp_test_"))
        && b.len() > 25
        && b[24] == b'_';
    if is_layers {
        format!("{}_{MASK}", &secret[..24])
    } else {
        MASK.to_string()
    }
}

/// Every form in which `secret` may be written out: as is, URL-encoded,
/// JSON-escaped, and base64 (standard and URL-safe) at each of the 3 alignments.
fn forms_of(secret: &str) -> Vec<(String, String)> {
    let mut out = vec![(secret.to_string(), public_form(secret))];
    let url = percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    let form = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>();
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json.trim_matches('"').to_string();
    for f in [url, form, json] {
        out.push((f, MASK.to_string()));
    }
    for engine in [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::URL_SAFE,
    ] {
        for offset in 0..3usize {
            let mut bytes = vec![0u8; offset];
            bytes.extend_from_slice(secret.as_bytes());
            let enc = engine.encode(&bytes);
            let start = offset.div_ceil(3) * 4;
            let end = (bytes.len() / 3) * 4;
            if end > start && end - start >= 8 {
                out.push((enc[start..end].to_string(), MASK.to_string()));
            }
        }
    }
    out.retain(|(p, _)| p.len() >= MIN_SECRET_LEN);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "lp_test_01HX9Y6K7EJ4T2AB_4QZpNbT0w5yqL9cVf3sXo2hR8mJd6kEaUuWiZgPnBtC";

    #[test]
    fn layers_key_shows_its_public_part() {
        let r = Redactor::new();
        r.add(KEY);
        assert_eq!(
            r.scrub(&format!("key={KEY}.")),
            "key=lp_test_01HX9Y6K7EJ4T2AB_***."
        );
    }

    #[test]
    fn derived_forms_are_masked() {
        let r = Redactor::new();
        let secret = "s3cr3t/p@ss word+\"x\"";
        r.add(secret);
        let url = percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
        let json = serde_json::to_string(secret).unwrap_or_default();
        for form in [url, json] {
            assert!(!r.scrub(&form).contains("s3cr3t"), "{form}");
        }
        for prefix in ["", "a", "ab", "user:"] {
            let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{prefix}{secret}"));
            let scrubbed = r.scrub(&b64);
            assert!(scrubbed.contains(MASK), "{prefix:?} {b64} -> {scrubbed}");
            assert!(
                r.find_leak(scrubbed.as_bytes()).is_none(),
                "{prefix:?} {scrubbed}"
            );
        }
    }

    #[test]
    fn basic_credentials_are_masked_in_every_form() {
        let r = Redactor::new();
        let basic = base64::engine::general_purpose::STANDARD.encode("alice:hunter2-long");
        r.add(&format!("Basic {basic}"));
        assert_eq!(r.scrub(&basic), MASK);
        assert!(!r.scrub("pw=hunter2-long").contains("hunter2"));
    }
}
