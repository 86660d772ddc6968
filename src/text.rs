//! Small helpers for text shown to people, used by every layer.

/// `1 error`, `2 errors`: a count with its noun in the right number.
pub fn count<N: Into<u64> + Copy>(n: N, one: &str, many: &str) -> String {
    let v: u64 = n.into();
    format!("{v} {}", if v == 1 { one } else { many })
}
