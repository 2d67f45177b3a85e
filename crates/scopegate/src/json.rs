//! Strict JSON for JOSE headers and claim sets.
//!
//! RFC 7515 §5.2 and RFC 7519 §4 let a parser either reject duplicate member names or take the
//! last one. Taking the last one lets a token say different things to different parsers (one sees
//! the first `iss`, another the second), so scopegate rejects duplicates at every depth. Nesting is
//! bounded well below serde_json's own limit, as no honest token nests deeply.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Deepest nesting accepted in a header or claim set (the top-level object is depth 1).
pub(crate) const MAX_DEPTH: usize = 16;

/// Why a JOSE JSON text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonError {
    /// Not JSON, not an object, duplicated member, or nested too deep.
    Invalid,
}

/// Parses `bytes` as a JSON object with no duplicate member names at any depth.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, JsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue { depth: 1 }
        .deserialize(&mut de)
        .map_err(|_| JsonError::Invalid)?;
    de.end().map_err(|_| JsonError::Invalid)?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(JsonError::Invalid),
    }
}

struct StrictValue {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let depth = self.nested::<A::Error>()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictValue { depth })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let depth = self.nested::<A::Error>()?;
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(de::Error::custom("duplicate member name"));
            }
            let value = access.next_value_seed(StrictValue { depth })?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

impl StrictValue {
    fn nested<E: de::Error>(&self) -> Result<usize, E> {
        if self.depth > MAX_DEPTH {
            Err(E::custom("nested too deep"))
        } else {
            Ok(self.depth + 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_objects() {
        let map = parse_object(br#"{"a":1,"b":[true,null,"x",{"c":2.5}]}"#).unwrap();
        assert_eq!(map["a"], 1);
        assert_eq!(map["b"][3]["c"], 2.5);
    }

    #[test]
    fn rejects_duplicates_at_any_depth() {
        assert!(parse_object(br#"{"iss":"a","iss":"b"}"#).is_err());
        assert!(parse_object(br#"{"x":{"roles":[],"roles":["admin"]}}"#).is_err());
        assert!(parse_object(br#"{"x":[{"k":1,"k":2}]}"#).is_err());
    }

    #[test]
    fn rejects_non_objects_trailing_data_and_deep_nesting() {
        assert!(parse_object(b"[1]").is_err());
        assert!(parse_object(b"\"s\"").is_err());
        assert!(parse_object(br#"{"a":1} x"#).is_err());
        assert!(parse_object(b"").is_err());
        let deep = format!(
            "{{\"a\":{}1{}}}",
            "[".repeat(MAX_DEPTH),
            "]".repeat(MAX_DEPTH)
        );
        assert!(parse_object(deep.as_bytes()).is_err());
        let ok = format!(
            "{{\"a\":{}1{}}}",
            "[".repeat(MAX_DEPTH - 1),
            "]".repeat(MAX_DEPTH - 1)
        );
        assert!(parse_object(ok.as_bytes()).is_ok());
    }
}
