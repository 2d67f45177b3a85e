//! The claim set as sent, kept compact: a verified token's payload stays JSON text in the
//! verified-token cache, and becomes a map only when a handler asks for one.

use std::fmt;
use std::sync::OnceLock;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::json;

/// The payload's JSON text and, once something asked for it (or while the token is being
/// validated), the map parsed from it.
///
/// A parsed map of the usual nine claims takes over 1 KiB of small allocations; the text a
/// quarter of that. Cached tokens keep the text only ([`shed_map`](Self::shed_map)), so an
/// application that never reads custom claims never pays for the map, and one that does pays
/// once per cached token, on first use.
#[derive(Clone)]
pub(crate) struct RawClaims {
    /// Empty when built from a map that came as a map (an introspection answer).
    json: Box<str>,
    parsed: OnceLock<Map<String, Value>>,
}

impl RawClaims {
    /// `json` is the text `map` was parsed from (strictly, by [`json::parse_object`]).
    pub(crate) fn parsed(json: Box<str>, map: Map<String, Value>) -> RawClaims {
        RawClaims {
            json,
            parsed: OnceLock::from(map),
        }
    }

    /// Claims that exist as a map only (an introspection answer, a hand-made context).
    pub(crate) fn from_map(map: Map<String, Value>) -> RawClaims {
        RawClaims::parsed(Box::default(), map)
    }

    /// The claims as a map, parsed from the text on first use.
    pub(crate) fn map(&self) -> &Map<String, Value> {
        self.parsed.get_or_init(|| {
            // The text was parsed strictly when the token was validated, so this cannot fail;
            // an empty map is the answer if it ever did, never a panic.
            json::parse_object(self.json.as_bytes()).unwrap_or_default()
        })
    }

    /// Drops the parsed map, keeping the text, before the claims go into the cache. Returns
    /// the map (for a rejection's log line) when there is a text to parse it from again;
    /// claims without a text keep theirs.
    pub(crate) fn shed_map(&mut self) -> Option<Map<String, Value>> {
        if self.json.is_empty() {
            return None;
        }
        self.parsed.take()
    }

    /// Takes the map back out (parsing it if shed), leaving no claims.
    pub(crate) fn into_map(mut self) -> Map<String, Value> {
        self.map();
        self.parsed.take().unwrap_or_default()
    }

    /// A top-level string claim (`sub`, `client_id`...): from the map if it was parsed, else
    /// read off the text without building one, so a handler reading `client_id()` on every
    /// request does not make every cached token keep a map. A string with escapes cannot be
    /// borrowed from the text: then the map is built.
    pub(crate) fn str_claim(&self, name: &str) -> Option<&str> {
        if self.parsed.get().is_none() {
            let mut de = serde_json::Deserializer::from_str(&self.json);
            match de::Deserializer::deserialize_map(&mut de, FindStr { name }) {
                Ok(Found::Str(value)) => return Some(value),
                Ok(Found::NoStr) => return None,
                // Escaped, or the text did not parse (it did when the token was validated).
                Ok(Found::Escaped) | Err(_) => {}
            }
        }
        self.map().get(name).and_then(Value::as_str)
    }

    /// The whole claim set as `T`: straight from the text when the map was not parsed, so
    /// a typed extractor builds no map at all.
    pub(crate) fn deserialize<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        match self.parsed.get() {
            Some(map) => T::deserialize(map),
            None => serde_json::from_str(&self.json),
        }
    }
}

impl PartialEq for RawClaims {
    fn eq(&self, other: &Self) -> bool {
        match (self.json.is_empty(), other.json.is_empty()) {
            (false, false) => self.json == other.json,
            _ => self.map() == other.map(),
        }
    }
}

/// What [`FindStr`] found.
enum Found<'de> {
    /// The claim, a string borrowed from the text.
    Str(&'de str),
    /// Absent, or not a string.
    NoStr,
    /// A string with escapes: only the map can lend it.
    Escaped,
}

/// Walks the claim set's top level for one member, skipping the others' values unparsed.
struct FindStr<'n> {
    name: &'n str,
}

impl<'de> Visitor<'de> for FindStr<'_> {
    type Value = Found<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a claim set")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Found<'de>, A::Error> {
        let mut found = Found::NoStr;
        while let Some(is_it) = map.next_key_seed(KeyIs(self.name))? {
            if is_it {
                found = map.next_value_seed(StrValue)?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// A member name: whether it is the one sought.
struct KeyIs<'n>(&'n str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E>(self, name: &str) -> Result<bool, E> {
        Ok(name == self.0)
    }
}

/// The sought member's value.
struct StrValue;

impl<'de> DeserializeSeed<'de> for StrValue {
    type Value = Found<'de>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Found<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrValue {
    type Value = Found<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a claim value")
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Found<'de>, E> {
        Ok(Found::Str(value))
    }

    fn visit_str<E>(self, _: &str) -> Result<Found<'de>, E> {
        Ok(Found::Escaped)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Found<'de>, E> {
        Ok(Found::NoStr)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Found<'de>, E> {
        Ok(Found::NoStr)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Found<'de>, E> {
        Ok(Found::NoStr)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Found<'de>, E> {
        Ok(Found::NoStr)
    }

    fn visit_unit<E>(self) -> Result<Found<'de>, E> {
        Ok(Found::NoStr)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Found<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Found::NoStr)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Found<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Found::NoStr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shed_claims_parse_again_and_deserialize_from_text() {
        let text = r#"{"sub":"app","n":7,"roles":["a","b"]}"#;
        let map = json::parse_object(text.as_bytes()).unwrap();
        let mut raw = RawClaims::parsed(text.into(), map.clone());
        assert_eq!(raw.shed_map(), Some(map.clone()));
        assert!(raw.parsed.get().is_none());
        #[derive(serde::Deserialize)]
        struct Mine {
            n: u32,
            roles: Vec<String>,
        }
        let mine: Mine = raw.deserialize().unwrap();
        assert_eq!((mine.n, mine.roles.len()), (7, 2));
        // A typed read built no map; a map read builds it once.
        assert!(raw.parsed.get().is_none());
        assert_eq!(raw.map(), &map);
        assert!(raw.parsed.get().is_some());
        assert!(raw == RawClaims::from_map(map.clone()));
        // String claims are read off the text, escaped ones through the map.
        let text = r#"{"n":1,"sub":"app","x":{"sub":"inner"},"name":"Zo\u00eb","l":[1]}"#;
        let mut raw = RawClaims::parsed(text.into(), json::parse_object(text.as_bytes()).unwrap());
        raw.shed_map();
        assert_eq!(raw.str_claim("sub"), Some("app"));
        assert_eq!(raw.str_claim("n"), None);
        assert_eq!(raw.str_claim("x"), None);
        assert_eq!(raw.str_claim("l"), None);
        assert_eq!(raw.str_claim("absent"), None);
        assert!(raw.parsed.get().is_none(), "no map for those");
        assert_eq!(raw.str_claim("name"), Some("Zoë"));
        assert!(
            raw.parsed.get().is_some(),
            "an escaped string needs the map"
        );
        // Claims that came as a map keep it.
        let mut answer = RawClaims::from_map(map.clone());
        assert_eq!(answer.shed_map(), None);
        assert_eq!(answer.into_map(), map);
    }
}
