//! The claim set as sent, kept compact: a verified token's payload stays JSON text in the
//! verified-token cache, and becomes a map only when a handler asks for one.

use std::sync::OnceLock;

use serde::de::DeserializeOwned;
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
        // Claims that came as a map keep it.
        let mut answer = RawClaims::from_map(map.clone());
        assert_eq!(answer.shed_map(), None);
        assert_eq!(answer.into_map(), map);
    }
}
