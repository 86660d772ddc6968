//! Timestamp formatting: ISO 8601, UTC, milliseconds, `Z` suffix.

use chrono::{DateTime, SecondsFormat, Utc};

/// Formats like `2026-04-18T12:04:11.000Z`.
pub fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The current time, formatted with [`iso`].
pub fn now_iso() -> String {
    iso(Utc::now())
}

/// Parses an ISO 8601 timestamp, or a bare `YYYY-MM-DD` date as midnight UTC.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let at = parse("2026-04-18T12:04:11Z").unwrap();
        assert_eq!(iso(at), "2026-04-18T12:04:11.000Z");
        assert_eq!(
            iso(parse("2026-04-01").unwrap()),
            "2026-04-01T00:00:00.000Z"
        );
        assert!(parse("yesterday").is_none());
    }
}
