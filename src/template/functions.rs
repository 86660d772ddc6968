//! The functions and filters scenario writers reach for, beyond minijinja's own.

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use minijinja::{Environment, Error, ErrorKind};
use sha2::{Digest, Sha256};

/// Functions callable in templates, with a one-line description each (for docs
/// and "did you mean").
pub const FUNCTIONS: [(&str, &str); 3] = [
    ("uuid", "a random UUID v4"),
    ("now", "the current time, RFC 3339 UTC"),
    ("timestamp", "the current Unix time in seconds"),
];

/// Filters this project adds to minijinja's built-in ones.
pub const FILTERS: [(&str, &str); 5] = [
    (
        "b64encode",
        "base64 of the text (standard alphabet, padded)",
    ),
    ("b64decode", "the text of a base64 string"),
    ("sha256", "hex SHA-256 of the text"),
    (
        "hmac_sha256",
        "hex HMAC-SHA256 of the text with the given key",
    ),
    ("tojson", "the value as JSON text"),
];

/// minijinja's built-in filters (those most likely used); used to tell a
/// misspelt filter from a real one before anything runs.
pub const BUILTIN_FILTERS: &[&str] = &[
    "abs",
    "attr",
    "batch",
    "bool",
    "capitalize",
    "count",
    "d",
    "default",
    "dictsort",
    "e",
    "escape",
    "first",
    "float",
    "format",
    "groupby",
    "indent",
    "int",
    "items",
    "join",
    "last",
    "length",
    "lines",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "pprint",
    "reject",
    "rejectattr",
    "replace",
    "reverse",
    "round",
    "safe",
    "select",
    "selectattr",
    "slice",
    "sort",
    "split",
    "string",
    "sum",
    "title",
    "tojson",
    "trim",
    "unique",
    "upper",
    "urlencode",
];

/// minijinja's built-in global functions.
pub const BUILTIN_FUNCTIONS: &[&str] = &["range", "dict", "debug", "namespace"];

pub fn register(env: &mut Environment<'static>) {
    env.add_function("uuid", || uuid::Uuid::new_v4().to_string());
    env.add_function("now", || {
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    });
    env.add_function("timestamp", || chrono::Utc::now().timestamp());
    env.add_filter("b64encode", |s: String| {
        base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
    });
    env.add_filter("b64decode", |s: String| -> Result<String, Error> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(s.trim().as_bytes())
            .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(s.trim().as_bytes()))
            .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("b64decode: {e}")))?;
        String::from_utf8(bytes)
            .map_err(|_| Error::new(ErrorKind::InvalidOperation, "b64decode: not UTF-8 text"))
    });
    env.add_filter("sha256", |s: String| {
        hex::encode(Sha256::digest(s.as_bytes()))
    });
    env.add_filter(
        "hmac_sha256",
        |s: String, key: String| -> Result<String, Error> {
            let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key.as_bytes()).map_err(|e| {
                Error::new(ErrorKind::InvalidOperation, format!("hmac_sha256: {e}"))
            })?;
            mac.update(s.as_bytes());
            Ok(hex::encode(mac.finalize().into_bytes()))
        },
    );
}

/// Whether `name` is a function known to templates.
pub fn is_function(name: &str) -> bool {
    FUNCTIONS.iter().any(|(n, _)| *n == name) || BUILTIN_FUNCTIONS.contains(&name)
}

/// Whether `name` is a filter known to templates.
pub fn is_filter(name: &str) -> bool {
    FILTERS.iter().any(|(n, _)| *n == name) || BUILTIN_FILTERS.contains(&name)
}

pub fn all_function_names() -> impl Iterator<Item = &'static str> {
    FUNCTIONS
        .iter()
        .map(|(n, _)| *n)
        .chain(BUILTIN_FUNCTIONS.iter().copied())
}

pub fn all_filter_names() -> impl Iterator<Item = &'static str> {
    FILTERS
        .iter()
        .map(|(n, _)| *n)
        .chain(BUILTIN_FILTERS.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(src: &str) -> String {
        let mut env = Environment::new();
        register(&mut env);
        env.render_str(src, ())
            .unwrap_or_else(|e| format!("ERR {e}"))
    }

    #[test]
    fn filters_compute_what_their_names_say() {
        assert_eq!(render("{{ 'user:pass' | b64encode }}"), "dXNlcjpwYXNz");
        assert_eq!(render("{{ 'dXNlcjpwYXNz' | b64decode }}"), "user:pass");
        assert_eq!(
            render("{{ 'abc' | sha256 }}"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // RFC 4231 test case 2.
        assert_eq!(
            render("{{ 'what do ya want for nothing?' | hmac_sha256('Jefe') }}"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(render("{{ 'a b&c' | urlencode }}"), "a%20b%26c");
    }

    #[test]
    fn functions_produce_well_formed_values() {
        let id = render("{{ uuid() }}");
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        let ts: i64 = render("{{ timestamp() }}").parse().unwrap_or(0);
        assert!(ts > 1_700_000_000);
        assert!(chrono::DateTime::parse_from_rfc3339(&render("{{ now() }}")).is_ok());
    }
}
