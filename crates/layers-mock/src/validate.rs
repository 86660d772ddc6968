//! Field validation on JSON bodies, collecting every issue into one 422.

use serde_json::{Map, Value, json};

use super::error::{ApiError, ApiResult};

/// Collects `{path, message}` issues for a `422 VALIDATION`.
#[derive(Debug, Default)]
pub struct Issues(Vec<(String, String)>);

impl Issues {
    /// Records an issue.
    pub fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push((path.into(), message.into()));
    }

    /// `Ok` when nothing was recorded, else the 422.
    pub fn finish(self) -> ApiResult<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        let message = self
            .0
            .iter()
            .map(|(path, message)| format!("{path}: {message}"))
            .collect::<Vec<_>>()
            .join("; ");
        let issues: Vec<Value> = self
            .0
            .iter()
            .map(|(path, message)| json!({ "path": path, "message": message }))
            .collect();
        Err(ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION",
            message,
        )
        .with_details(json!({ "issues": issues })))
    }

    /// A string field of `len` characters in `min..=max`; absent or `null` is `None`
    /// (and an issue when `required`).
    pub fn string(
        &mut self,
        body: &Map<String, Value>,
        field: &str,
        required: bool,
        min: usize,
        max: usize,
    ) -> Option<String> {
        match body.get(field) {
            None | Some(Value::Null) => {
                if required {
                    self.add(field, "is required");
                }
                None
            }
            Some(Value::String(s)) => {
                let len = s.chars().count();
                if len < min || len > max {
                    self.add(field, format!("must be {min}–{max} characters"));
                    None
                } else {
                    Some(s.clone())
                }
            }
            Some(_) => {
                self.add(field, "must be a string");
                None
            }
        }
    }

    /// A string field restricted to `allowed` values.
    pub fn one_of(
        &mut self,
        body: &Map<String, Value>,
        field: &str,
        required: bool,
        allowed: &[&str],
    ) -> Option<String> {
        let value = self.string(body, field, required, 1, 200)?;
        if allowed.contains(&value.as_str()) {
            Some(value)
        } else {
            self.add(field, format!("must be one of {}", allowed.join(", ")));
            None
        }
    }

    /// An integer field in `min..=max`.
    pub fn integer(
        &mut self,
        body: &Map<String, Value>,
        field: &str,
        min: i64,
        max: i64,
    ) -> Option<i64> {
        match body.get(field) {
            None | Some(Value::Null) => None,
            Some(value) => match value.as_i64() {
                Some(n) if (min..=max).contains(&n) => Some(n),
                _ => {
                    self.add(field, format!("must be an integer from {min} to {max}"));
                    None
                }
            },
        }
    }

    /// A boolean field.
    pub fn boolean(&mut self, body: &Map<String, Value>, field: &str) -> Option<bool> {
        match body.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.add(field, "must be a boolean");
                None
            }
        }
    }

    /// An object field.
    pub fn object(&mut self, body: &Map<String, Value>, field: &str) -> Option<Map<String, Value>> {
        match body.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::Object(map)) => Some(map.clone()),
            Some(_) => {
                self.add(field, "must be an object");
                None
            }
        }
    }

    /// An array-of-strings field.
    pub fn strings(&mut self, body: &Map<String, Value>, field: &str) -> Option<Vec<String>> {
        match body.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => {
                let strings: Option<Vec<String>> = items
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect();
                if strings.is_none() {
                    self.add(field, "must be an array of strings");
                }
                strings
            }
            Some(_) => {
                self.add(field, "must be an array of strings");
                None
            }
        }
    }

    /// An absolute http(s) URL.
    pub fn http_url(
        &mut self,
        body: &Map<String, Value>,
        field: &str,
        required: bool,
    ) -> Option<url::Url> {
        let raw = self.string(body, field, required, 1, 2048)?;
        match url::Url::parse(&raw) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                Some(url)
            }
            _ => {
                self.add(field, "must be an absolute http(s) URL");
                None
            }
        }
    }
}

impl Issues {
    /// The recorded `(path, message)` pairs, to nest them under a parent path.
    pub fn into_pairs(self) -> Vec<(String, String)> {
        self.0
    }
}
