//! Durations as people write them: `250ms`, `2s`, `1.5s`, `1m`, `1h`.
//!
//! One grammar for the scenario file format (`timeout: 5s`), the runner's flags and the
//! Layers mock's flags, so a value means the same thing wherever it is written. It lives
//! in its own crate because both the runner and the mock need it and the mock must not
//! depend on the runner.
//!
//! The grammar: a decimal number (`2`, `1.5`, `.5`, `5.`), then a unit, `ms`, `s`, `m` or
//! `h`, with spaces allowed around both. The unit is required: a bare `30` could mean
//! seconds or milliseconds, and guessing wrong would silently test something else.
//! Fractions are kept to the microsecond (a finer part is dropped, so `0.0001ms` is zero,
//! which a time limit refuses). Anything longer than [`MAX`] is refused, so no
//! caller ever adds an unbounded duration to a clock.
//!
//! Hand-written (about 60 lines) rather than taken from a crate: the crates found
//! (humantime, parse_duration) accept other grammars (`1h 30m`, `2days`, bare numbers) that
//! the file format documents as errors.

use std::fmt;
use std::time::Duration;

/// The longest duration accepted: 1,000,000,000 seconds (about 31 years).
pub const MAX: Duration = Duration::from_secs(1_000_000_000);

/// What [`parse`] accepts, as a regular expression (the JSON Schema's `pattern`).
pub const PATTERN: &str = r"^\s*([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*(ms|s|m|h)\s*$";

/// The one-line hint to print beside a bad duration.
pub const HINT: &str = "write durations like 250ms, 2s or 1m";

/// Why a text is not a duration. `Display` names the text as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DurationError {
    /// No number where one was expected (`fast`, `s`, `1.2.3s`, `-1s`).
    NotADuration(String),
    /// A number with no unit (`30`).
    NoUnit(String),
    /// A unit outside ms, s, m, h (`2d`, `5 parsecs`).
    UnknownUnit { text: String, unit: String },
    /// Longer than [`MAX`].
    TooLong(String),
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationError::NotADuration(text) => write!(f, "`{text}` is not a duration"),
            DurationError::NoUnit(text) => write!(f, "`{text}` has no unit"),
            DurationError::UnknownUnit { text, unit } => {
                write!(f, "unknown unit `{unit}` in `{text}`")
            }
            DurationError::TooLong(text) => write!(
                f,
                "`{text}` is out of range: the longest duration is {}s (about 31 years)",
                MAX.as_secs()
            ),
        }
    }
}

impl std::error::Error for DurationError {}

const NANOS_PER_SEC: u128 = 1_000_000_000;
/// Fraction digits past this many cannot change the result by a whole nanosecond in any unit
/// (an hour is 3.6e12 ns), and keeping them bounded keeps the arithmetic in a `u128`.
const FRACTION_DIGITS: usize = 18;

/// Parses one duration (see the crate documentation for the grammar).
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let not_a_duration = || DurationError::NotADuration(text.to_string());
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return Err(not_a_duration());
    }
    let unit_nanos: u128 = match unit.trim() {
        "ms" => 1_000_000,
        "s" => NANOS_PER_SEC,
        "m" => 60 * NANOS_PER_SEC,
        "h" => 3_600 * NANOS_PER_SEC,
        "" => return Err(DurationError::NoUnit(text.to_string())),
        other => {
            return Err(DurationError::UnknownUnit {
                text: text.to_string(),
                unit: other.to_string(),
            });
        }
    };
    let too_long = || DurationError::TooLong(text.to_string());
    let max_nanos = MAX.as_nanos();
    // The whole part is capped as its digits arrive, so a thousand-digit number is "too
    // long" rather than an overflow; the cap leaves room for the multiplication below.
    let mut units: u128 = 0;
    for digit in whole.bytes() {
        units = units * 10 + u128::from(digit - b'0');
        if units > max_nanos {
            return Err(too_long());
        }
    }
    let mut nanos = units * unit_nanos;
    let kept = &fraction[..fraction.len().min(FRACTION_DIGITS)];
    let mut numerator: u128 = 0;
    for digit in kept.bytes() {
        numerator = numerator * 10 + u128::from(digit - b'0');
    }
    nanos += numerator * unit_nanos / 10u128.pow(kept.len() as u32);
    if nanos > max_nanos {
        return Err(too_long());
    }
    // Microseconds, as the file format has always kept them: `0.0001ms` stays zero.
    nanos -= nanos % 1_000;
    let secs = u64::try_from(nanos / NANOS_PER_SEC).map_err(|_| too_long())?;
    let sub = u32::try_from(nanos % NANOS_PER_SEC).map_err(|_| too_long())?;
    Ok(Duration::new(secs, sub))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Result<Duration, DurationError> {
        Ok(Duration::from_millis(n))
    }

    #[test]
    fn the_grammar() {
        let no_unit = |t: &str| Err(DurationError::NoUnit(t.into()));
        let not_one = |t: &str| Err(DurationError::NotADuration(t.into()));
        let unknown = |t: &str, u: &str| {
            Err(DurationError::UnknownUnit {
                text: t.into(),
                unit: u.into(),
            })
        };
        let too_long = |t: &str| Err(DurationError::TooLong(t.into()));
        let huge = "9".repeat(1000) + "s";
        let long_fraction = format!("1.{}s", "5".repeat(500));
        let table: Vec<(&str, Result<Duration, DurationError>)> = vec![
            ("250ms", ms(250)),
            ("2s", ms(2_000)),
            ("1.5s", ms(1_500)),
            (".5s", ms(500)),
            ("5.s", ms(5_000)),
            ("1m", ms(60_000)),
            ("1.5m", ms(90_000)),
            ("1h", ms(3_600_000)),
            (" 3 s ", ms(3_000)),
            ("0ms", ms(0)),
            ("0.1s", ms(100)),
            ("1.0000015s", Ok(Duration::new(1, 1_000))),
            ("1.0000019s", Ok(Duration::new(1, 1_000))),
            ("0.0001ms", Ok(Duration::ZERO)),
            ("0.0000000001s", Ok(Duration::ZERO)),
            ("007s", ms(7_000)),
            (&long_fraction, Ok(Duration::new(1, 555_555_000))),
            // The upper bound is inclusive, in any unit.
            ("1000000000s", Ok(MAX)),
            (
                "16666666.6666666666m",
                Ok(Duration::new(999_999_999, 999_999_000)),
            ),
            ("1000000000.000000001s", too_long("1000000000.000000001s")),
            ("277778h", too_long("277778h")),
            ("18446744073709551616s", too_long("18446744073709551616s")),
            ("1e400s", unknown("1e400s", "e400s")),
            (&huge, too_long(&huge)),
            // A bare number is refused: seconds or milliseconds would be a guess.
            ("3", no_unit("3")),
            ("1.5", no_unit("1.5")),
            ("", not_one("")),
            ("s", not_one("s")),
            (".s", not_one(".s")),
            ("1.2.3s", not_one("1.2.3s")),
            ("-1s", not_one("-1s")),
            ("+1s", not_one("+1s")),
            ("fast", not_one("fast")),
            ("2d", unknown("2d", "d")),
            ("5 parsecs", unknown("5 parsecs", "parsecs")),
            ("1h30m", unknown("1h30m", "h30m")),
            ("NaNs", not_one("NaNs")),
            ("infs", not_one("infs")),
        ];
        for (text, expected) in table {
            assert_eq!(parse(text), expected, "{text:?}");
        }
    }

    #[test]
    fn messages_name_the_text() {
        let message = |t: &str| parse(t).map_err(|e| e.to_string()).unwrap_err();
        assert_eq!(message("30"), "`30` has no unit");
        assert_eq!(message("2d"), "unknown unit `d` in `2d`");
        assert_eq!(message("soon"), "`soon` is not a duration");
        assert_eq!(
            message("99999999999h"),
            "`99999999999h` is out of range: the longest duration is 1000000000s (about 31 years)"
        );
    }
}
