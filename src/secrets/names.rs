//! Which names and values say they hold a credential: header names, variable and
//! field names, and values whose shape gives them away (a vendor-prefixed key, a
//! JWT), wherever they show up.

/// Headers whose values are credentials, whatever their name says otherwise.
const SECRET_HEADERS: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "cookie",
    "set-cookie",
];

/// What a header name ends with when it names a credential (`X-Auth-Token`,
/// `Private-Token`, `X-Vault-Token`, `Api-Key`, `Client-Secret`, `X-Auth-Key`,
/// `Ocp-Apim-Subscription-Key`, `X-Functions-Key`), letters and
/// digits only. Ending with it, not holding it: `X-Token-Expires-In`,
/// `X-OAuth-Scopes`, `Cache-Key` and `Sec-WebSocket-Key` carry none, and a
/// header's value is masked wherever it shows, so a wrong guess hides ordinary
/// text in every report.
const CREDENTIAL_ENDINGS: [&str; 14] = [
    "token",
    "apikey",
    "secret",
    "password",
    "passwd",
    "accesskey",
    "privatekey",
    "sessionid",
    "authorization",
    "authkey",
    "secretkey",
    "subscriptionkey",
    "functionskey",
    "signingkey",
];

/// Whether a header's value is a credential: one of [`SECRET_HEADERS`], or a
/// name ending like one ([`CREDENTIAL_ENDINGS`]). The run's masking and the
/// checker's flow analysis use it; the importers, which only move a value into
/// an environment variable, also take the looser [`secret_name`].
pub fn is_secret_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if SECRET_HEADERS.contains(&lower.as_str()) {
        return true;
    }
    // `Access-Control-Allow-Credentials: true` says what the server accepts.
    if lower.starts_with("access-control-") {
        return false;
    }
    let folded: String = lower
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    CREDENTIAL_ENDINGS.iter().any(|e| folded.ends_with(e)) && !folded.contains("idempotency")
}

/// A name (header, variable, field, parameter) that says it holds a credential.
pub fn secret_name(name: &str) -> bool {
    let l: String = name
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    // Names that say no credential (`Idempotency-Key`, an `author` field).
    let innocent = l.contains("idempotency")
        || l.contains("public")
        || l.contains("author") && !l.contains("authoriz");
    let words = [
        "token",
        "secret",
        "password",
        "passwd",
        "apikey",
        "accesskey",
        "privatekey",
        "credential",
        "sessionid",
        "auth",
    ];
    !innocent && (words.iter().any(|w| l.contains(w)) || l.ends_with("key") && l.len() > 3)
}

/// A value that reads like a credential whatever its name says: a JWT, a bearer
/// credential, or a key with a well-known vendor prefix.
pub fn secret_value(v: &str) -> bool {
    let t = v.trim();
    let jwt = t.starts_with("eyJ") && t.matches('.').count() == 2 && t.len() > 20;
    let prefixed = [
        "lp_test_",
        "lp_live_",
        "sk_live_",
        "sk_test_",
        "ghp_",
        "github_pat_",
        "xoxb-",
        "xoxp-",
        "AKIA",
    ]
    .iter()
    .any(|p| t.starts_with(p) && t.len() >= 16);
    jwt || prefixed
}

/// The credentials in `text` by their shape alone ([`secret_value`]): the
/// words of key characters (letters, digits, `_`, `-`, `.`) that read like one.
/// A server that hands out a key (`POST /v1/api-keys/.../rotate`) shows it in
/// its body: it is a secret from then on, whoever asked for it.
pub fn credentials_in(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
        .map(|w| w.trim_end_matches(['.', '-']))
        .filter(|w| secret_value(w))
}

/// Most credentials learnt from one response: each one learnt makes the masking
/// search larger, and a body listing thousands of key-shaped words (a test
/// fixture, a log) would make every later output slow to mask.
pub const MAX_LEARNT_PER_RESPONSE: usize = 64;

/// The distinct credentials of a response's text ([`credentials_in`]), at most
/// [`MAX_LEARNT_PER_RESPONSE`]; JSON escapes are undone first when the text has
/// any (`sk\u005flive_...` is `sk_live_...`).
pub fn credentials_of_response(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut learn = |t: &str| {
        for c in credentials_in(t) {
            if out.len() < MAX_LEARNT_PER_RESPONSE && !out.iter().any(|o| o == c) {
                out.push(c.to_string());
            }
        }
    };
    learn(text);
    if text.contains('\\')
        && let Ok(json) = serde_json::from_str::<serde_json::Value>(text)
    {
        fn strings<'a>(v: &'a serde_json::Value, f: &mut dyn FnMut(&'a str)) {
            match v {
                serde_json::Value::String(s) => f(s),
                serde_json::Value::Array(items) => items.iter().for_each(|i| strings(i, f)),
                serde_json::Value::Object(m) => m.iter().for_each(|(k, v)| {
                    f(k);
                    strings(v, f);
                }),
                _ => {}
            }
        }
        strings(&json, &mut |s| learn(s));
    }
    out
}

/// A variable whose name says it holds a secret (`LAYERS_API_KEY`, `db_password`):
/// it ends in one of [`super::SECRET_ENV_SUFFIXES`], in any case.
pub fn is_secret_var_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    super::SECRET_ENV_SUFFIXES
        .iter()
        .any(|s| upper.ends_with(s))
        && !upper.contains("IDEMPOTENCY")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_secret_by_their_name_s_ending() {
        for (name, secret) in [
            ("Authorization", true),
            ("proxy-authorization", true),
            ("X-Api-Key", true),
            ("X-Auth-Token", true),
            ("Private-Token", true),
            ("X-Vault-Token", true),
            ("Api-Key", true),
            ("Client-Secret", true),
            ("X-Goog-Api-Key", true),
            ("Access-Control-Allow-Credentials", false),
            ("WWW-Authenticate", false),
            ("X-OAuth-Scopes", false),
            ("X-Authenticated-User", false),
            ("X-Token-Expires-In", false),
            ("Cache-Key", false),
            ("Sec-WebSocket-Key", false),
            ("Idempotency-Key", false),
            ("X-Idempotency-Token", false),
            ("Content-Type", false),
            ("X-Auth-Key", true),
            ("X-Authorization", true),
            ("Ocp-Apim-Subscription-Key", true),
            ("X-Functions-Key", true),
            ("X-Secret-Key", true),
        ] {
            assert_eq!(is_secret_header(name), secret, "{name}");
        }
    }

    #[test]
    fn credentials_of_a_response_are_found_through_json_escapes_and_capped() {
        let text = r#"{"k":"sk\u005flive_ESCAPEDSPLIT1234","j":"lp_test_01HX9Y6K7EJ4T2AB_x1y2z3"}"#;
        let found = credentials_of_response(text);
        assert!(
            found.contains(&"sk_live_ESCAPEDSPLIT1234".to_string()),
            "{found:?}"
        );
        assert!(found.iter().any(|f| f.starts_with("lp_test_")), "{found:?}");
        let many: String = (0..1000).map(|i| format!("AKIA{i:016} ")).collect();
        assert_eq!(
            credentials_of_response(&many).len(),
            MAX_LEARNT_PER_RESPONSE
        );
    }
}
