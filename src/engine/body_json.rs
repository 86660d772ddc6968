//! A response body read as JSON, refusing a body whose objects name a key twice
//! with different values:
//! `{"role": "admin", "role": "user"}` is one answer to one reader and another to
//! the next (serde_json keeps the last), so no assertion may pass on either.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value as J};

/// The body's JSON, or why it cannot be read as one answer.
pub fn parse(body: &[u8]) -> Result<J, ParseError> {
    match serde_json::from_slice::<Unique>(body) {
        Ok(Unique(v)) => Ok(v),
        Err(e) => match e.to_string().strip_prefix(DUPLICATE) {
            Some(rest) => Err(ParseError::Duplicate(rest.to_string())),
            None => Err(ParseError::Syntax(e)),
        },
    }
}

pub enum ParseError {
    /// A key named twice in one object: the message says which.
    Duplicate(String),
    Syntax(serde_json::Error),
}

/// The start of the error a repeated key makes, to tell it from a syntax error.
const DUPLICATE: &str = "duplicate key: ";

struct Unique(J);

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueVisitor).map(Unique)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = J;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<J, E> {
        Ok(J::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<J, E> {
        Ok(J::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<J, E> {
        Ok(J::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<J, E> {
        Ok(Number::from_f64(v).map_or(J::Null, J::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<J, E> {
        Ok(J::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<J, E> {
        Ok(J::String(v))
    }

    fn visit_unit<E>(self) -> Result<J, E> {
        Ok(J::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<J, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(Unique(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(J::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<J, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Unique(v) = map.next_value()?;
            match out.entry(key) {
                serde_json::map::Entry::Vacant(slot) => {
                    slot.insert(v);
                }
                // The same value twice: no reader can take another.
                serde_json::map::Entry::Occupied(seen) if *seen.get() == v => {}
                serde_json::map::Entry::Occupied(seen) => {
                    return Err(serde::de::Error::custom(format!(
                        "{DUPLICATE}the body has the key `{}` twice in one object (a JSON reader may take either value)",
                        seen.key()
                    )));
                }
            }
        }
        Ok(J::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_reads_as_serde_json_reads_it_unless_a_key_repeats() {
        for body in [
            r#"{"a":[1,2.5,-3,true,null,"x"],"b":{"c":18446744073709551615}}"#,
            r#"[{"a":1},{"a":2}]"#,
            r#""text""#,
        ] {
            let ours = parse(body.as_bytes()).ok();
            let theirs: Option<J> = serde_json::from_str(body).ok();
            assert_eq!(ours, theirs, "{body}");
        }
        assert!(parse(br#"{"id":1,"meta":{"x":1,"x":1}}"#).is_ok());
        match parse(br#"{"role":"admin","x":{"role":1},"role":"user"}"#) {
            Err(ParseError::Duplicate(why)) => assert!(why.contains("`role` twice"), "{why}"),
            _ => panic!("a repeated key is refused"),
        }
        assert!(matches!(parse(b"{nope"), Err(ParseError::Syntax(_))));
    }
}
