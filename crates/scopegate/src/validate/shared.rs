//! What the cached tokens of one issuer have in common, stored once: the scope sets and the
//! audience lists its tokens carry. Thousands of clients usually share a handful of each; a
//! cached token holds a pointer to its set instead of its own copy.

use std::collections::HashSet;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use crate::claims::Scopes;

/// Distinct sets kept per issuer and kind. Past it, a token keeps its own copy (still correct,
/// just not shared): an issuer minting a new scope set per token cannot grow this without bound.
const MAX_SHARED: usize = 1024;

/// The shared scope sets and audience lists of one issuer, used on first sight only.
#[derive(Default)]
pub(super) struct Shared {
    scopes: Mutex<HashSet<Scopes>>,
    audiences: Mutex<HashSet<Arc<[String]>>>,
}

impl Shared {
    /// The issuer's copy of `scopes`.
    pub(super) fn scopes(&self, scopes: Scopes) -> Scopes {
        let mut known = self.scopes.lock().unwrap_or_else(PoisonError::into_inner);
        intern(&mut known, scopes)
    }

    /// The issuer's copy of `audience`.
    pub(super) fn audience(&self, audience: Vec<String>) -> Arc<[String]> {
        let mut known = self
            .audiences
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(shared) = known.get(audience.as_slice()) {
            return Arc::clone(shared);
        }
        intern(&mut known, audience.into())
    }
}

fn intern<T: Hash + Eq + Clone>(known: &mut HashSet<T>, value: T) -> T {
    if let Some(shared) = known.get(&value) {
        return shared.clone();
    }
    if known.len() < MAX_SHARED {
        known.insert(value.clone());
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_sets_are_shared_and_the_store_is_bounded() {
        let shared = Shared::default();
        let a = shared.scopes(Scopes::from_space_delimited("read write"));
        let b = shared.scopes(Scopes::from_space_delimited("write read"));
        assert_eq!(a, b);
        assert_eq!(
            a.iter().next().map(|s| s.as_str().as_ptr()),
            b.iter().next().map(|s| s.as_str().as_ptr())
        );
        let aud = shared.audience(vec!["https://shopping.api".into()]);
        assert!(Arc::ptr_eq(
            &aud,
            &shared.audience(vec!["https://shopping.api".into()])
        ));
        for i in 0..MAX_SHARED + 10 {
            shared.scopes(Scopes::from_space_delimited(&format!("s{i}")));
        }
        assert_eq!(shared.scopes.lock().unwrap().len(), MAX_SHARED);
        let late = Scopes::from_space_delimited("late");
        assert_eq!(
            shared.scopes(late.clone()),
            late,
            "past the bound: its own copy, still equal"
        );
    }
}
