//! The one place secrets are masked: every event passes here before any
//! reporter sees it, and every report is scanned after it is written.

use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine as _;
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};

/// What replaces a secret.
pub const MASK: &str = "***";

/// Secrets shorter than this are not masked: masking "1" would garble every report.
const MIN_SECRET_LEN: usize = 4;

/// Values of secret-looking environment variables shorter than this are not taken as
/// secrets (`DEBUG_KEY=true`): too short to be a credential, too likely to match
/// ordinary report text. Name the variable with `--secret` to mask it anyway.
const MIN_ENV_SECRET_LEN: usize = 6;

/// A cut secret (an excerpt ending mid-secret) is masked when at least this much shows.
const MIN_PARTIAL_LEN: usize = 4;

/// A run of this many characters of a secret is masked wherever it shows, whatever
/// surrounds it: a secret escaped twice (a server echoing a JSON body inside JSON)
/// still shows its unescaped runs.
const WINDOW: usize = 12;

/// What `events::excerpt` puts where it cuts a text.
const CUT_MARK: char = '…';

/// Environment variables with these endings hold secrets.
pub const SECRET_ENV_SUFFIXES: [&str; 4] = ["_KEY", "_TOKEN", "_SECRET", "_PASSWORD"];

/// Headers whose values are secrets.
pub const SECRET_HEADERS: [&str; 4] = ["authorization", "x-api-key", "cookie", "set-cookie"];

/// One way a secret can be written out.
#[derive(Clone)]
struct Form {
    pattern: String,
    replacement: String,
    /// Where the secret came from and which form this is, for the leak report.
    label: String,
}

#[derive(Default)]
struct Patterns {
    /// Bumped with every change: text masked at generation g needs no second pass
    /// while the generation is still g.
    generation: u64,
    secrets: Vec<String>,
    forms: Vec<Form>,
    matcher: Option<AhoCorasick>,
    /// Every `WINDOW`-long piece of each secret (of a Layers key, of its secret part).
    windows: Vec<(String, String)>,
    window_matcher: Option<AhoCorasick>,
    /// Each secret with non-alphanumeric characters, however it is escaped or encoded
    /// (any percent-encoding set, any hex case, twice; JSON and XML escapes, twice).
    escaped: Option<regex::Regex>,
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

    /// Add a secret value (and, for `Bearer x` / `Basic x` values, the credential inside).
    pub fn add(&self, secret: &str) {
        self.add_labeled(secret, "a secret");
    }

    /// Add a secret value; `label` says where it came from (`env LAYERS_API_KEY`).
    pub fn add_labeled(&self, secret: &str, label: &str) {
        let secret = secret.trim();
        if secret.len() < MIN_SECRET_LEN {
            return;
        }
        let mut values = Vec::new();
        // "Bearer <token>", "Basic <b64>": the credential (the scheme is no secret, and
        // stays readable), and Basic's decoded parts.
        if let Some((scheme, cred)) = secret.split_once(' ')
            && is_auth_scheme(scheme)
        {
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
        } else {
            values.push(secret.to_string());
        }
        self.add_values(values, label);
    }

    /// Add the secret in a header value, read the way that header is written:
    /// `Authorization: Basic ...`, `Cookie: a=1; b=2`, `Set-Cookie: s=1; Path=/`.
    pub fn add_header(&self, name: &str, value: &str) {
        let label = format!("header {name}");
        let lower = name.to_ascii_lowercase();
        // A Set-Cookie's attributes (`Path=/; HttpOnly`) are no secret and show up in
        // every other cookie: only its `name=value` is.
        let pairs: Vec<&str> = match lower.as_str() {
            "cookie" => {
                self.add_labeled(value, &label);
                value.split(';').collect()
            }
            "set-cookie" => value.split(';').take(1).collect(),
            _ => {
                self.add_labeled(value, &label);
                Vec::new()
            }
        };
        for pair in pairs {
            let pair = pair.trim();
            self.add_labeled(pair, &label);
            // Each cookie's value alone, unless it is too short to tell from text.
            if let Some((_, v)) = pair.split_once('=') {
                let v = v.trim_matches('"');
                if v.len() >= MIN_ENV_SECRET_LEN {
                    self.add_labeled(v, &label);
                }
            }
        }
    }

    fn add_values(&self, values: Vec<String>, label: &str) {
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
            generation: guard.generation + 1,
            secrets: guard.secrets.clone(),
            forms: guard.forms.clone(),
            matcher: None,
            windows: guard.windows.clone(),
            window_matcher: None,
            escaped: None,
        };
        for v in new {
            if next.secrets.contains(&v) {
                continue;
            }
            next.forms.extend(forms_of(&v, label));
            next.windows.extend(
                windows_of(&v)
                    .into_iter()
                    .map(|w| (w, format!("{label}, a part of it"))),
            );
            next.secrets.push(v);
        }
        next.escaped = escaped_regex(&next.secrets);
        next.windows.sort();
        next.windows.dedup_by(|a, b| a.0 == b.0);
        next.window_matcher = if next.windows.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(next.windows.iter().map(|(w, _)| w.as_str()))
                .ok()
        };
        next.forms.sort_by(|a, b| {
            b.pattern
                .len()
                .cmp(&a.pattern.len())
                .then(a.pattern.cmp(&b.pattern))
        });
        next.forms.dedup_by(|a, b| a.pattern == b.pattern);
        next.matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(next.forms.iter().map(|f| f.pattern.as_str()))
            .ok();
        *guard = Arc::new(next);
    }

    /// Add every variable of the process environment that names a secret.
    pub fn add_env_secrets(&self) {
        for (k, v) in std::env::vars() {
            self.add_if_secret_name(&k, &v, &format!("env {k}"));
        }
    }

    /// Add `value` when `name` reads like a secret's (`*_KEY`, `*_TOKEN`, `*_SECRET`,
    /// `*_PASSWORD`) and the value looks like one (not a flag or a number).
    pub fn add_if_secret_name(&self, name: &str, value: &str, label: &str) {
        let upper = name.to_ascii_uppercase();
        if SECRET_ENV_SUFFIXES.iter().any(|s| upper.ends_with(s)) && looks_secret(value) {
            self.add_labeled(value, label);
        }
    }

    fn snapshot(&self) -> Arc<Patterns> {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Changes whenever a secret is added (see [`Patterns::generation`]).
    pub fn generation(&self) -> u64 {
        self.snapshot().generation
    }

    pub fn is_empty(&self) -> bool {
        self.snapshot().secrets.is_empty()
    }

    /// `text` with every form of every secret masked, including a secret cut short
    /// where an excerpt ends (`lp_test_01HX…_4QZp… (900 bytes in all)`).
    pub fn scrub(&self, text: &str) -> String {
        let p = self.snapshot();
        let Some(m) = &p.matcher else {
            return text.to_string();
        };
        let replacements: Vec<&str> = p.forms.iter().map(|f| f.replacement.as_str()).collect();
        let whole = m.replace_all(text, &replacements);
        let whole = match &p.escaped {
            Some(re) if re.is_match(&whole) => re.replace_all(&whole, MASK).into_owned(),
            _ => whole,
        };
        let whole = if whole.contains(CUT_MARK) {
            mask_cut_secrets(&whole, &p.forms)
        } else {
            whole
        };
        match &p.window_matcher {
            Some(w) => mask_runs(&whole, w),
            None => whole,
        }
    }

    pub fn scrub_in_place(&self, text: &mut String) {
        let p = self.snapshot();
        let whole = p
            .matcher
            .as_ref()
            .is_some_and(|m| m.is_match(text.as_str()))
            || p.escaped.as_ref().is_some_and(|re| re.is_match(text));
        let piece = p
            .window_matcher
            .as_ref()
            .is_some_and(|w| w.is_match(text.as_str()));
        if whole || piece || (p.matcher.is_some() && text.contains(CUT_MARK)) {
            *text = self.scrub(text);
        }
    }

    /// The first secret form found in `bytes`, described without revealing it.
    pub fn find_leak(&self, bytes: &[u8]) -> Option<String> {
        let p = self.snapshot();
        let m = p.matcher.as_ref()?;
        if let Some(found) = m.find(bytes) {
            let form = &p.forms[found.pattern().as_usize()];
            return Some(format!(
                "{} ({} characters) at byte {}",
                form.label,
                form.pattern.len(),
                found.start()
            ));
        }
        if let Some(re) = &p.escaped
            && let Some(m) = re.find(&String::from_utf8_lossy(bytes))
        {
            return Some(format!(
                "a secret, escaped or encoded ({} characters) at character {}",
                m.len(),
                m.start()
            ));
        }
        let w = p.window_matcher.as_ref()?;
        w.find(bytes).map(|found| {
            let (piece, label) = &p.windows[found.pattern().as_usize()];
            format!(
                "{label} ({} characters) at byte {}",
                piece.len(),
                found.start()
            )
        })
    }
}

/// `Bearer`, `Basic`, `Token`, `Digest`...: one word of letters (RFC 9110 auth-scheme).
fn is_auth_scheme(word: &str) -> bool {
    (2..=16).contains(&word.len()) && word.chars().all(|c| c.is_ascii_alphabetic() || c == '-')
}

/// Whether an environment value is worth masking: long enough, and not a flag or number.
fn looks_secret(v: &str) -> bool {
    let v = v.trim();
    let lower = v.to_ascii_lowercase();
    v.len() >= MIN_ENV_SECRET_LEN
        && !matches!(lower.as_str(), "true" | "false" | "enabled" | "disabled")
        && !v.chars().all(|c| c.is_ascii_digit())
}

/// The pieces of a secret that give it away on their own: every `WINDOW`-character
/// run of it (of a Layers key, of the part after its public `lp_test_<key_id>_`).
fn windows_of(secret: &str) -> Vec<String> {
    let public = public_parts(secret);
    let starts: Vec<usize> = secret
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(secret.len()))
        .collect();
    starts
        .windows(WINDOW + 1)
        .map(|w| (w[0], w[WINDOW]))
        .filter(|(a, b)| !public.iter().any(|(s, e)| a < e && s < b))
        .map(|(a, b)| secret[a..b].to_string())
        .collect()
}

/// Where Layers keys inside `text` show their log-safe part `lp_<env>_<key_id>_`.
fn public_parts(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    for env in ["lp_test_", "lp_live_"] {
        for (i, _) in text.match_indices(env) {
            let id = i + env.len();
            if b.len() > id + 16
                && b[id..id + 16].iter().all(u8::is_ascii_alphanumeric)
                && b[id + 16] == b'_'
            {
                out.push((i, id + 17));
            }
        }
    }
    out
}

/// One regex for every secret that escaping or encoding can change.
fn escaped_regex(secrets: &[String]) -> Option<regex::Regex> {
    let mut sorted: Vec<&String> = secrets
        .iter()
        .filter(|s| !s.chars().all(|c| c.is_ascii_alphanumeric()))
        .collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let alternation = sorted
        .iter()
        .map(|s| format!("(?:{})", escaped_pattern(s)))
        .collect::<Vec<_>>()
        .join("|");
    regex::RegexBuilder::new(&alternation)
        .size_limit(64 << 20)
        .build()
        .ok()
}

/// A pattern for `secret` where each non-alphanumeric character may also be written
/// %-encoded (any hex case, possibly encoded again: `%2F`, `%2f`, `%252F`), `+` for a
/// space, behind backslashes (`\"`, `\\\"`), as `\u002f`, or as an XML entity
/// (`&lt;`, `&amp;lt;`, `&#47;`, `&#x2F;`).
fn escaped_pattern(secret: &str) -> String {
    let mut p = String::new();
    for c in secret.chars() {
        if c.is_ascii_alphanumeric() {
            p.push(c);
            continue;
        }
        let mut alts = vec![regex::escape(&c.to_string())];
        let mut buf = [0u8; 4];
        let pct: String = c
            .encode_utf8(&mut buf)
            .bytes()
            .map(|b| format!("%(?:25)*{}", hex_any_case(&format!("{b:02X}"))))
            .collect();
        alts.push(pct);
        if c == ' ' {
            // Form encoding's `+`, possibly %-encoded in turn.
            alts.push(r"\+|%(?:25)*2[Bb]".into());
        }
        let code = c as u32;
        if code < 0x10000 {
            alts.push(format!(
                "{BACKSLASH}u{}",
                hex_any_case(&format!("{code:04X}"))
            ));
        }
        let mut entities = vec![
            format!("#0*{code}"),
            format!("#[xX]0*{}", hex_any_case(&format!("{code:X}"))),
        ];
        let named = match c {
            '&' => Some("amp"),
            '<' => Some("lt"),
            '>' => Some("gt"),
            '"' => Some("quot"),
            '\'' => Some("apos"),
            _ => None,
        };
        if let Some(n) = named {
            entities.push(n.to_string());
        }
        alts.push(format!("&(?:amp;)*(?:{});", entities.join("|")));
        // Behind any number of backslashes (JSON inside JSON), themselves maybe %-encoded.
        p.push_str(&format!("(?:{BACKSLASH})*(?:{})", alts.join("|")));
    }
    p
}

/// A backslash, as is or %-encoded (once or more).
const BACKSLASH: &str = r"\\|%(?:25)*5[Cc]";

fn hex_any_case(hex: &str) -> String {
    hex.chars()
        .map(|h| {
            if h.is_ascii_alphabetic() {
                format!("[{}{}]", h.to_ascii_uppercase(), h.to_ascii_lowercase())
            } else {
                h.to_string()
            }
        })
        .collect()
}

/// Mask every stretch of `text` covered by (overlapping) secret pieces, as one `***`.
fn mask_runs(text: &str, windows: &AhoCorasick) -> String {
    let mut found: Vec<(usize, usize)> = windows
        .find_overlapping_iter(text)
        .map(|m| (m.start(), m.end()))
        .collect();
    found.sort_unstable();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for m in found {
        match spans.last_mut() {
            Some(last) if m.0 <= last.1 => last.1 = last.1.max(m.1),
            _ => spans.push(m),
        }
    }
    if spans.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in spans {
        out.push_str(&text[at..start]);
        out.push_str(MASK);
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

/// Mask the start of a secret left just before a cut mark.
fn mask_cut_secrets(text: &str, forms: &[Form]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(CUT_MARK) {
        let before = &rest[..at];
        let mut keep = before.len();
        let mut replacement = "";
        for f in forms {
            let max = f.pattern.len().saturating_sub(1).min(before.len());
            let found = (MIN_PARTIAL_LEN..=max)
                .rev()
                .filter(|k| f.pattern.is_char_boundary(*k))
                .find(|k| before.ends_with(&f.pattern[..*k]));
            if let Some(k) = found
                && before.len() - k < keep
            {
                keep = before.len() - k;
                // A Layers key cut after its public part still shows that part.
                replacement = if f.replacement != MASK && k > f.replacement.len() - MASK.len() {
                    f.replacement.as_str()
                } else {
                    MASK
                };
            }
        }
        out.push_str(&before[..keep]);
        out.push_str(replacement);
        out.push(CUT_MARK);
        rest = &rest[at + CUT_MARK.len_utf8()..];
    }
    out.push_str(rest);
    out
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

/// Characters a URL path leaves raw that a query or userinfo encodes, and back: the
/// sets the `url` crate uses, so a secret placed anywhere in a URL is found.
const QUERY_SET: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'#').add(b'<').add(b'>');
const PATH_SET: &AsciiSet = &QUERY_SET.add(b'?').add(b'`').add(b'{').add(b'}');
const USERINFO_SET: &AsciiSet = &PATH_SET
    .add(b'/')
    .add(b':')
    .add(b';')
    .add(b'=')
    .add(b'@')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'|');

/// Every form in which `secret` may be written out: as is; URL-encoded (every
/// encode set, upper- and lowercase hex, form encoding); JSON-escaped; XML-escaped;
/// base64 (standard and URL-safe) at each of the 3 alignments.
fn forms_of(secret: &str, label: &str) -> Vec<Form> {
    let form = |pattern: String, replacement: String, how: &str| Form {
        pattern,
        replacement,
        label: if how.is_empty() {
            label.to_string()
        } else {
            format!("{label}, {how}")
        },
    };
    let mut out = vec![form(secret.to_string(), public_form(secret), "")];
    let url = utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string();
    let lower_hex = lowercase_hex(&url);
    let mut encoded = vec![
        (url, "URL-encoded"),
        (lower_hex, "URL-encoded"),
        (
            url::form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>(),
            "form-encoded",
        ),
    ];
    for set in [QUERY_SET, PATH_SET, USERINFO_SET] {
        encoded.push((utf8_percent_encode(secret, set).to_string(), "URL-encoded"));
    }
    let json = serde_json::to_string(secret).unwrap_or_default();
    encoded.push((json.trim_matches('"').to_string(), "JSON-escaped"));
    encoded.push((xml_escape(secret, true), "XML-escaped"));
    encoded.push((xml_escape(secret, false), "XML-escaped"));
    for (p, how) in encoded {
        out.push(form(p, MASK.to_string(), how));
    }
    // Base64 of the secret, and of it as a JSON or form body would carry it.
    let mut sources = vec![secret.to_string(), json.trim_matches('"').to_string()];
    sources.push(url::form_urlencoded::byte_serialize(secret.as_bytes()).collect());
    sources.sort();
    sources.dedup();
    for (engine, how) in [
        (&base64::engine::general_purpose::STANDARD, "base64"),
        (&base64::engine::general_purpose::URL_SAFE, "base64url"),
    ] {
        for (src, offset) in sources
            .iter()
            .flat_map(|s| (0..3usize).map(move |o| (s, o)))
        {
            let mut bytes = vec![0u8; offset];
            bytes.extend_from_slice(src.as_bytes());
            let enc = engine.encode(&bytes);
            let start = offset.div_ceil(3) * 4;
            let end = (bytes.len() / 3) * 4;
            if end > start && end - start >= 8 {
                out.push(form(enc[start..end].to_string(), MASK.to_string(), how));
            }
        }
    }
    out.retain(|f| f.pattern.len() >= MIN_SECRET_LEN);
    out
}

fn lowercase_hex(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut chars = encoded.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '%' {
            for h in chars.by_ref().take(2) {
                out.push(h.to_ascii_lowercase());
            }
        }
    }
    out
}

/// `&`, `<`, `>` always; quotes too when `quotes` (attribute values).
fn xml_escape(text: &str, quotes: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if quotes => out.push_str("&quot;"),
            '\'' if quotes => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
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

    #[test]
    fn xml_escaped_and_url_set_forms_are_masked() {
        let r = Redactor::new();
        let secret = "p<a>ss&w\"o'rd/x y?z";
        r.add(secret);
        for form in [
            xml_escape(secret, true),
            xml_escape(secret, false),
            utf8_percent_encode(secret, PATH_SET).to_string(),
            lowercase_hex(&utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string()),
        ] {
            assert_eq!(r.scrub(&form), MASK, "{form}");
        }
    }

    #[test]
    fn a_secret_cut_by_an_excerpt_is_masked() {
        let r = Redactor::new();
        r.add(KEY);
        let text = format!("{}{}", "a".repeat(20), KEY);
        let cut = crate::events::excerpt(&text, 20 + 30);
        let scrubbed = r.scrub(&cut);
        assert!(!scrubbed.contains(&KEY[25..30]), "{scrubbed}");
        assert!(
            scrubbed.contains("lp_test_01HX9Y6K7EJ4T2AB_***…"),
            "{scrubbed}"
        );
        let short = crate::events::excerpt(&text, 20 + 6);
        assert!(
            r.scrub(&short)
                .starts_with(&format!("{}***…", "a".repeat(20)))
        );
    }

    #[test]
    fn runs_of_a_secret_are_masked_whatever_surrounds_them() {
        let r = Redactor::new();
        let secret = "s3cr3t/p@ss word+&\"<x>\"=long-enough";
        r.add(secret);
        // A JSON body echoed inside a JSON string: escaped twice.
        let twice = serde_json::to_string(&serde_json::to_string(secret).unwrap()).unwrap();
        let scrubbed = r.scrub(&twice);
        assert!(!scrubbed.contains("s3cr3t/p@ss"), "{scrubbed}");
        assert!(!scrubbed.contains("=long-enough"), "{scrubbed}");
        assert!(r.find_leak(twice.as_bytes()).is_some());
        assert!(r.find_leak(scrubbed.as_bytes()).is_none(), "{scrubbed}");
        // The public part of a Layers key stays readable.
        let r = Redactor::new();
        r.add(KEY);
        assert_eq!(
            r.scrub(&format!("x{}y", &KEY[..40])),
            "xlp_test_01HX9Y6K7EJ4T2AB_***y"
        );
    }

    #[test]
    fn cookie_values_and_auth_schemes() {
        let r = Redactor::new();
        r.add_header("Cookie", "theme=dark; session=abcdef123456");
        assert_eq!(r.scrub("echo abcdef123456"), "echo ***");
        r.add_header("Set-Cookie", "sid=zyxwvu98765; Path=/; HttpOnly");
        assert_eq!(r.scrub("sid was zyxwvu98765"), "sid was ***");
        assert_eq!(r.scrub("Path=/; HttpOnly"), "Path=/; HttpOnly");
        r.add_header("Authorization", &format!("Bearer {KEY}"));
        assert_eq!(
            r.scrub(&format!("Authorization: Bearer {KEY}")),
            "Authorization: Bearer lp_test_01HX9Y6K7EJ4T2AB_***"
        );
    }

    #[test]
    fn flags_and_short_values_in_the_environment_are_no_secrets() {
        assert!(!looks_secret("true"));
        assert!(!looks_secret("12345678"));
        assert!(!looks_secret("abc"));
        assert!(looks_secret("hunter2-long"));
    }
}
