//! JSON or YAML documents read into JSON values, for the OpenAPI contract checks and
//! the importers alike.

/// Parse JSON or YAML text into JSON.
pub fn parse_json_or_yaml(text: &str, what: &str) -> Result<serde_json::Value, String> {
    match serde_json::from_str(text) {
        Ok(v) => Ok(v),
        Err(json_err) => {
            let t = text.trim_start();
            if t.starts_with('{') || t.starts_with('[') {
                return Err(format!("{what} is not valid JSON: {json_err}"));
            }
            serde_saphyr::from_str::<serde_json::Value>(text)
                .map_err(|e| format!("{what} is neither JSON nor YAML: {}", e.without_snippet()))
        }
    }
}
