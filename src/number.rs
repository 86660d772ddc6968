//! Numbers compared by their decimal value, exactly.
//!
//! JSON numbers are decimal text of any length; a 64-bit float holds about 16
//! digits, so `9007199254740993` and `9007199254740992` would be equal as floats.
//! Written by hand rather than with a big-decimal crate: comparing two decimals
//! only needs their digits and the place of the point, and a crate that rescales
//! to compare would allocate in the size of the exponent (`1e999999999` from a
//! server must not cost a gigabyte).

use std::cmp::Ordering;

use serde::Deserialize;
use serde_json::Value as J;
use serde_json::value::RawValue;

/// A decimal number: `0.d1 d2 d3 ... x 10^point`, no leading or trailing zeros in
/// `digits` (zero has none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal {
    negative: bool,
    digits: Vec<u8>,
    point: i64,
}

/// Exponents beyond this are clamped: no JSON parser reads them as finite anyway,
/// and clamping keeps the arithmetic on `point` from overflowing.
const MAX_EXPONENT: i64 = 1 << 50;

impl Decimal {
    /// Parse `-12.5e3`, `0.1`, `+7`, `.5`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Decimal> {
        let t = text.trim();
        let (negative, t) = match t.as_bytes().first()? {
            b'-' => (true, &t[1..]),
            b'+' => (false, &t[1..]),
            _ => (false, t),
        };
        let (mantissa, exponent) = match t.find(['e', 'E']) {
            Some(i) => (&t[..i], Some(&t[i + 1..])),
            None => (t, None),
        };
        let (int, frac) = match mantissa.find('.') {
            Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
            None => (mantissa, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
            return None;
        }
        let exp = match exponent {
            None => 0,
            Some(e) => {
                let (neg, e) = match e.as_bytes().first()? {
                    b'-' => (true, &e[1..]),
                    b'+' => (false, &e[1..]),
                    _ => (false, e),
                };
                if e.is_empty() || !all_digits(e) {
                    return None;
                }
                let mut v: i64 = 0;
                for b in e.bytes() {
                    v = (v * 10 + i64::from(b - b'0')).min(MAX_EXPONENT);
                }
                if neg { -v } else { v }
            }
        };
        let mut digits: Vec<u8> = int.bytes().chain(frac.bytes()).map(|b| b - b'0').collect();
        let int_len = i64::try_from(int.len()).unwrap_or(i64::MAX / 4);
        let mut point = int_len.saturating_add(exp);
        let leading = digits.iter().take_while(|d| **d == 0).count();
        digits.drain(..leading);
        point = point.saturating_sub(i64::try_from(leading).unwrap_or(0));
        while digits.last() == Some(&0) {
            digits.pop();
        }
        if digits.is_empty() {
            return Some(Decimal {
                negative: false,
                digits,
                point: 0,
            });
        }
        Some(Decimal {
            negative,
            digits,
            point,
        })
    }

    /// A JSON number, read from its own text (exact for the integers serde_json
    /// keeps; a float's shortest form otherwise).
    pub fn of_number(n: &serde_json::Number) -> Option<Decimal> {
        Decimal::parse(&n.to_string())
    }

    pub fn is_integer(&self) -> bool {
        i64::try_from(self.digits.len()).is_ok_and(|len| len <= self.point)
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        let magnitude = |a: &Decimal, b: &Decimal| match (a.digits.is_empty(), b.digits.is_empty())
        {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            // With no leading zeros, the place of the point decides first; then the
            // digits, where a missing trailing digit is a zero (the smaller).
            (false, false) => a.point.cmp(&b.point).then_with(|| a.digits.cmp(&b.digits)),
        };
        match (self.negative, other.negative) {
            (false, false) => magnitude(self, other),
            (true, true) => magnitude(other, self),
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The number texts of a JSON document, in its shape: what a float parse loses.
/// Built only for bodies that hold a number serde_json keeps as a float.
#[derive(Debug, Clone)]
pub enum RawTree {
    Num(String),
    Arr(Vec<RawTree>),
    /// In document order; a repeated key is found by its last entry, as
    /// serde_json keeps the last one.
    Obj(Vec<(String, RawTree)>),
    Other,
}

impl RawTree {
    /// The tree of `body` when `json` (its parse) holds a float anywhere.
    pub fn for_body(body: &[u8], json: &J) -> Option<RawTree> {
        if !has_float(json) {
            return None;
        }
        serde_json::from_slice(body).ok()
    }

    pub fn child_index(&self, i: usize) -> Option<&RawTree> {
        match self {
            RawTree::Arr(items) => items.get(i),
            _ => None,
        }
    }

    pub fn child_key(&self, k: &str) -> Option<&RawTree> {
        match self {
            RawTree::Obj(entries) => entries
                .iter()
                .rev()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The node at a location found by a JSONPath query.
    pub fn at(&self, path: &serde_json_path::NormalizedPath<'_>) -> Option<&RawTree> {
        use serde_json_path::PathElement;
        let mut cur = self;
        for e in path.iter() {
            cur = match e {
                PathElement::Index(i) => cur.child_index(*i)?,
                PathElement::Name(n) => cur.child_key(n)?,
            };
        }
        Some(cur)
    }
}

/// Whether `v` holds a number that serde_json keeps as a float.
pub fn has_float(v: &J) -> bool {
    match v {
        J::Number(n) => n.is_f64(),
        J::Array(items) => items.iter().any(has_float),
        J::Object(m) => m.values().any(has_float),
        _ => false,
    }
}

impl<'de> Deserialize<'de> for RawTree {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        // The raw text of this value; containers are read again from their own
        // text, so each level sees the digits of its numbers as the server wrote them.
        let raw = <&RawValue>::deserialize(d)?;
        let text = raw.get();
        Ok(match text.as_bytes().first() {
            Some(b'[') => RawTree::Arr(serde_json::from_str(text).map_err(D::Error::custom)?),
            Some(b'{') => {
                let entries: Entries = serde_json::from_str(text).map_err(D::Error::custom)?;
                RawTree::Obj(entries.0)
            }
            Some(b'-' | b'0'..=b'9') => RawTree::Num(text.to_string()),
            _ => RawTree::Other,
        })
    }
}

/// An object's entries in order, repeated keys kept.
struct Entries(Vec<(String, RawTree)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Entries, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, RawTree>()? {
                    out.push((k, v));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// The first number in `v` (as the server wrote it, from `raw`) that the float
/// serde_json keeps for it does not hold exactly: `12345678901234567890123`
/// would go on as `1.2345678901234568e22`.
pub fn first_inexact<'r>(v: &J, raw: Option<&'r RawTree>) -> Option<&'r str> {
    match (v, raw?) {
        (J::Number(n), RawTree::Num(text)) if n.is_f64() => {
            (Decimal::parse(text)? != Decimal::of_number(n)?).then_some(text.as_str())
        }
        (J::Array(items), r) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| first_inexact(item, r.child_index(i))),
        (J::Object(m), r) => m
            .iter()
            .find_map(|(k, item)| first_inexact(item, r.child_key(k))),
        _ => None,
    }
}

/// A number's exact value: its text in the body when it has one there.
pub fn decimal_of(n: &serde_json::Number, raw: Option<&RawTree>) -> Option<Decimal> {
    match raw {
        Some(RawTree::Num(text)) if n.is_f64() => Decimal::parse(text),
        _ => Decimal::of_number(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_compare_by_value() {
        use Ordering::*;
        let table = [
            ("9007199254740993", "9007199254740992", Greater),
            ("10000000000000000365", "10000000000000000000", Greater),
            ("1000000000000000000001", "1e21", Greater),
            ("1", "1.0", Equal),
            ("1e2", "100", Equal),
            ("0.1", "0.10000000000000001", Less),
            ("-0", "0", Equal),
            ("-1.5", "-1.25", Less),
            ("-2", "1", Less),
            ("0.001", "1e-3", Equal),
            ("12", "1.2e1", Equal),
            ("0", "0.0001", Less),
            ("1e999999999999999999", "1", Greater),
        ];
        for (a, b, want) in table {
            let (x, y) = (Decimal::parse(a).unwrap(), Decimal::parse(b).unwrap());
            assert_eq!(x.cmp(&y), want, "{a} vs {b}");
            assert_eq!(y.cmp(&x), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn only_numbers_parse() {
        for bad in ["", "-", "1.2.3", "abc", "1e", "e5", "0x10", "1_000", "."] {
            assert_eq!(Decimal::parse(bad), None, "{bad}");
        }
        for (t, int) in [
            ("10", true),
            ("1.0", true),
            ("1e21", true),
            ("1.5", false),
            ("5e-1", false),
        ] {
            assert_eq!(Decimal::parse(t).unwrap().is_integer(), int, "{t}");
        }
    }

    #[test]
    fn the_raw_tree_keeps_what_a_float_loses() {
        let body = br#"{"a": [1, 1000000000000000000001], "b": {"c": 0.10000000000000001}, "b": {"c": 2.5}}"#;
        let json: J = serde_json::from_slice(body).unwrap();
        let tree = RawTree::for_body(body, &json).unwrap();
        let a1 = tree.child_key("a").and_then(|a| a.child_index(1));
        assert!(matches!(a1, Some(RawTree::Num(t)) if t == "1000000000000000000001"));
        let c = tree.child_key("b").and_then(|b| b.child_key("c"));
        assert!(matches!(c, Some(RawTree::Num(t)) if t == "2.5"));
        let ints: J = serde_json::json!({"a": 1});
        assert!(RawTree::for_body(b"{\"a\": 1}", &ints).is_none());
    }
}
