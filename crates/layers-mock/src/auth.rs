//! API-key authentication: `X-Api-Key` (preferred) or `Authorization: Bearer`.

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::error::ApiError;
use super::state::AppState;
use super::store::KeyCheck;

/// Key environment segment. Parsed and surfaced, but nothing downstream branches on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyEnv {
    /// `lp_live_…`
    Live,
    /// `lp_test_…`
    Test,
}

/// The parts of a well-formed key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedKey {
    /// `live` or `test`.
    pub env: KeyEnv,
    /// The 16-char public key id.
    pub key_id: String,
}

/// Who is calling: attached to the request by the auth middleware.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Stable API-key row id (what whoami returns as `apiKeyId`); buckets are keyed on it.
    pub api_key_id: Uuid,
    /// The 16-char public key id.
    pub key_id: String,
    /// The env segment of the key.
    pub env: KeyEnv,
}

const KEY_ID_LEN: usize = 16;
const SECRET_LEN: usize = 43;

/// Parses `lp_<live|test>_<16 × [0-9A-Z]>_<43 × base64url>` by fixed positions: the secret's
/// alphabet contains `_`, so splitting on underscores would be wrong.
pub fn parse_key(key: &str) -> Option<ParsedKey> {
    let rest = key.strip_prefix("lp_")?;
    let (env, rest) = if let Some(rest) = rest.strip_prefix("live_") {
        (KeyEnv::Live, rest)
    } else if let Some(rest) = rest.strip_prefix("test_") {
        (KeyEnv::Test, rest)
    } else {
        return None;
    };
    let bytes = rest.as_bytes();
    if bytes.len() != KEY_ID_LEN + 1 + SECRET_LEN || bytes[KEY_ID_LEN] != b'_' {
        return None;
    }
    let key_id = &bytes[..KEY_ID_LEN];
    let secret = &bytes[KEY_ID_LEN + 1..];
    let key_id_ok = key_id
        .iter()
        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
    let secret_ok = secret
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_');
    if !(key_id_ok && secret_ok) {
        return None;
    }
    Some(ParsedKey {
        env,
        key_id: rest[..KEY_ID_LEN].to_string(),
    })
}

/// Derives the stable API-key row id from the public key id: UUIDv4-shaped bytes taken
/// from SHA-256, so every call with the same key sees the same `apiKeyId`.
pub fn api_key_id(key_id: &str) -> Uuid {
    let digest = Sha256::digest(key_id.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// The presented key: `X-Api-Key` wins over `Authorization: Bearer` when both are present.
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get("x-api-key") {
        return Some(value.to_str().unwrap_or("").trim());
    }
    let auth = headers.get(axum::http::header::AUTHORIZATION)?;
    let auth = auth.to_str().unwrap_or("").trim();
    match auth.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Some(token.trim()),
        // A non-Bearer Authorization header is a key we cannot read: malformed.
        _ => Some(""),
    }
}

/// Resolves the request's key into a [`Principal`], or the 401 to answer.
pub fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let key = presented_key(headers).ok_or_else(|| ApiError::unauthenticated("missing"))?;
    let parsed = parse_key(key).ok_or_else(|| ApiError::unauthenticated("malformed"))?;
    let mut store = state.store();
    if let Some(allowed) = &state.config().keys
        && !allowed.contains(key)
        && !store.api_keys.issued(key)
    {
        return Err(ApiError::unauthenticated("unknown"));
    }
    let api_key_id = match store
        .api_keys
        .check(&parsed, key, super::timestamp::now_iso)
    {
        KeyCheck::Valid(id) => id,
        KeyCheck::Unknown => return Err(ApiError::unauthenticated("unknown")),
        KeyCheck::Disabled => return Err(ApiError::kill_switch()),
    };
    Ok(Principal {
        api_key_id,
        key_id: parsed.key_id,
        env: parsed.env,
    })
}

/// Middleware: authenticates and attaches the [`Principal`] to the request.
pub async fn auth_layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    match authenticate(&state, req.headers()) {
        Ok(principal) => {
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Err(error) => error.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "lp_live_01HX9Y6K7EJ4T2AB_abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE";

    #[test]
    fn parses_fixed_positions() {
        assert_eq!(GOOD.len(), 68);
        let parsed = parse_key(GOOD).unwrap();
        assert_eq!(parsed.env, KeyEnv::Live);
        assert_eq!(parsed.key_id, "01HX9Y6K7EJ4T2AB");
        assert!(parse_key(&GOOD.replace("lp_live_", "lp_test_")).is_some());
    }

    #[test]
    fn rejects_malformed() {
        assert!(parse_key("").is_none());
        assert!(parse_key(&GOOD.replace("lp_live_", "lp_prod_")).is_none());
        assert!(parse_key(&GOOD[..67]).is_none());
        assert!(parse_key(&format!("{GOOD}A")).is_none());
        assert!(parse_key(&GOOD.replace("01HX9Y6K7EJ4T2AB", "01hx9y6k7ej4t2ab")).is_none());
        assert!(parse_key(&GOOD.replace("ABCDE", "ABCD=")).is_none());
        assert!(parse_key("lp_live_01HX9Y6K7EJ4T2ABé").is_none());
    }

    #[test]
    fn api_key_id_is_stable() {
        assert_eq!(
            api_key_id("01HX9Y6K7EJ4T2AB"),
            api_key_id("01HX9Y6K7EJ4T2AB")
        );
        assert_ne!(
            api_key_id("01HX9Y6K7EJ4T2AB"),
            api_key_id("01HX9Y6K7EJ4T2AC")
        );
        assert_eq!(api_key_id("01HX9Y6K7EJ4T2AB").get_version_num(), 4);
    }
}
