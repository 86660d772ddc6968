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

/// Whether a header's value is a credential: one of [`SECRET_HEADERS`], or a
/// name that says it holds one (`X-Auth-Token`, `Private-Token`, `Api-Key`).
/// The one answer for the run's masking, the checks and the importers.
pub fn is_secret_header(name: &str) -> bool {
    SECRET_HEADERS.iter().any(|h| name.eq_ignore_ascii_case(h)) || secret_name(name)
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

/// A variable whose name says it holds a secret (`LAYERS_API_KEY`, `db_password`):
/// it ends in one of [`super::SECRET_ENV_SUFFIXES`], in any case.
pub fn is_secret_var_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    super::SECRET_ENV_SUFFIXES
        .iter()
        .any(|s| upper.ends_with(s))
}
