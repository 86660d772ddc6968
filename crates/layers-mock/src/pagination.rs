//! Cursor pagination: `limit` + opaque `cursor` (base64 of `{"offset":N}`, as in the docs).

use base64::Engine;
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use super::input::QueryParams;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A requested page.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// Items to skip.
    pub offset: usize,
    /// Items to return.
    pub limit: usize,
}

impl Page {
    /// Reads `limit` (default `default`, 1..=`max`) and `cursor`; out-of-range limits and
    /// malformed cursors are 422s when `strict`, else ignored (the ads lists' behaviour).
    pub fn from_query(
        query: &QueryParams,
        default: usize,
        max: usize,
        strict: bool,
    ) -> ApiResult<Page> {
        let limit = match query.get("limit") {
            None => default,
            Some(raw) => match raw.parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => n,
                _ if !strict => default,
                _ => {
                    return Err(ApiError::validation(
                        "limit",
                        format!("must be an integer from 1 to {max}"),
                    ));
                }
            },
        };
        let offset = match query.get("cursor").filter(|c| !c.is_empty()) {
            None => 0,
            Some(cursor) => match decode_cursor(cursor) {
                Some(offset) => offset,
                None if !strict => 0,
                None => return Err(ApiError::validation("cursor", "malformed cursor")),
            },
        };
        Ok(Page { offset, limit })
    }

    /// Cuts this page out of `items` and renders `{items, nextCursor}`.
    pub fn render(self, items: Vec<Value>) -> Value {
        let total = items.len();
        let page: Vec<Value> = items
            .into_iter()
            .skip(self.offset)
            .take(self.limit)
            .collect();
        let end = self.offset.saturating_add(self.limit);
        let next = if end < total {
            Some(encode_cursor(end))
        } else {
            None
        };
        json!({ "items": page, "nextCursor": next })
    }
}

fn encode_cursor(offset: usize) -> String {
    B64.encode(json!({ "offset": offset }).to_string())
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let bytes = B64
        .decode(cursor)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor))
        .ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    usize::try_from(value.get("offset")?.as_u64()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip() {
        assert_eq!(encode_cursor(25), "eyJvZmZzZXQiOjI1fQ==");
        assert_eq!(decode_cursor("eyJvZmZzZXQiOjI1fQ=="), Some(25));
        assert_eq!(decode_cursor("nope!"), None);
        assert_eq!(decode_cursor(&B64.encode("{\"page\":2}")), None);
    }

    #[test]
    fn pages() {
        let items: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let page = Page {
            offset: 0,
            limit: 2,
        }
        .render(items.clone());
        assert_eq!(page["items"], json!([0, 1]));
        assert_eq!(page["nextCursor"], json!(encode_cursor(2)));
        let last = Page {
            offset: 4,
            limit: 2,
        }
        .render(items);
        assert_eq!(last["items"], json!([4]));
        assert!(last["nextCursor"].is_null());
    }
}
