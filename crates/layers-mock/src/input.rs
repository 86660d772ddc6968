//! Reading request input leniently: bodies, query strings and path ids, with every
//! problem answered as a `422 VALIDATION` envelope rather than axum's plain-text rejections.

use axum::body::Bytes;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::error::{ApiError, ApiResult};

/// Parses a JSON object body; an empty body counts as `{}`.
pub fn json_object(body: &Bytes) -> ApiResult<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::validation("body", "must be a JSON object")),
        Err(e) => Err(ApiError::validation("body", format!("malformed JSON: {e}"))),
    }
}

/// Decoded query parameters (repeatable; `name[]` is read as `name`).
#[derive(Debug, Default)]
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    /// Parses a raw query string.
    pub fn parse(raw: Option<&str>) -> QueryParams {
        let pairs = url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.trim_end_matches("[]").to_string(), v.into_owned()))
            .collect();
        QueryParams(pairs)
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, also splitting comma-separated lists.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// Parses a UUID path id, tolerating a type prefix such as `prj_` (ids in the docs mix
/// both forms). A malformed id is a `422 VALIDATION` naming the parameter, as documented
/// ("bad `:id`"); a well-formed id that names nothing is the caller's 404.
pub fn uuid_id(raw: &str, prefix: &str, param: &str) -> ApiResult<Uuid> {
    let bare = raw.strip_prefix(prefix).unwrap_or(raw);
    Uuid::parse_str(bare).map_err(|_| ApiError::validation(param, "must be a UUID"))
}
