//! Small helpers for text shown to people, used by every layer.

/// `1 error`, `2 errors`: a count with its noun in the right number.
pub fn count<N: Into<u64> + Copy>(n: N, one: &str, many: &str) -> String {
    let v: u64 = n.into();
    format!("{v} {}", if v == 1 { one } else { many })
}

/// How many problems of one check are listed before the rest are only counted: a
/// response that breaks a schema in 100,000 places must not make a report of that size.
pub const MAX_LISTED: usize = 20;

/// The first [`MAX_LISTED`] items, and how many came after them.
pub fn first_listed<T>(items: impl Iterator<Item = T>) -> (Vec<T>, usize) {
    let mut shown = Vec::new();
    let mut more = 0usize;
    for item in items {
        if shown.len() < MAX_LISTED {
            shown.push(item);
        } else {
            more += 1;
        }
    }
    (shown, more)
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_first_problems_are_listed() {
        for (n, shown, more) in [
            (0, 0, 0),
            (5, 5, 0),
            (20, 20, 0),
            (21, 20, 1),
            (1000, 20, 980),
        ] {
            let (s, m) = super::first_listed(0..n);
            assert_eq!((s.len(), m), (shown, more), "{n} items");
        }
    }
}
