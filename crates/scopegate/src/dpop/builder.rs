//! [`ProofVerifierBuilder`]: the settings of a [`ProofVerifier`].

use std::sync::Arc;
use std::time::Duration;

use super::nonce::Nonces;
use super::proof::{DEFAULT_PROOF_ALGORITHMS, Inner, ProofVerifier};
use super::replay::{MemoryReplayStore, ReplayStore};
use crate::algorithm::{Algorithm, AlgorithmSet};
use crate::clock::{Clock, SystemClock};

impl ProofVerifier {
    /// A builder with the defaults: [`DEFAULT_PROOF_ALGORITHMS`], ±60 s plus 5 s leeway, an
    /// in-memory replay store, no nonces.
    pub fn builder() -> ProofVerifierBuilder {
        ProofVerifierBuilder {
            algorithms: DEFAULT_PROOF_ALGORITHMS,
            iat_window: Duration::from_secs(60),
            leeway: Duration::from_secs(5),
            clock: Arc::new(SystemClock),
            store: None,
            nonces: None,
        }
    }
}

/// Builds a [`ProofVerifier`].
#[derive(Debug, Clone)]
pub struct ProofVerifierBuilder {
    algorithms: AlgorithmSet,
    iat_window: Duration,
    leeway: Duration,
    clock: Arc<dyn Clock>,
    store: Option<Arc<dyn ReplayStore>>,
    nonces: Option<Nonces>,
}

impl ProofVerifierBuilder {
    /// Proof algorithms accepted (default [`DEFAULT_PROOF_ALGORITHMS`]); symmetric ones are
    /// always left out.
    #[must_use]
    pub fn algorithms(mut self, algorithms: AlgorithmSet) -> Self {
        self.algorithms = algorithms.difference(AlgorithmSet::HMAC);
        self
    }

    /// How far `iat` may be from now, either way (default 60 s), before the leeway.
    #[must_use]
    pub fn iat_window(mut self, window: Duration) -> Self {
        self.iat_window = window;
        self
    }

    /// Clock skew allowed on top of the window (default 5 s).
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The clock `iat` is judged on (default [`SystemClock`]).
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Where used `jti`s are recorded (default a [`MemoryReplayStore`]).
    #[must_use]
    pub fn replay_store(mut self, store: impl ReplayStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Requires server nonces (off by default).
    #[must_use]
    pub fn nonces(mut self, nonces: Nonces) -> Self {
        self.nonces = Some(nonces);
        self
    }

    /// The verifier.
    pub fn build(self) -> ProofVerifier {
        let algs_text = self
            .algorithms
            .iter()
            .map(Algorithm::as_str)
            .collect::<Vec<_>>()
            .join(" ");
        ProofVerifier {
            inner: Arc::new(Inner {
                algorithms: self.algorithms,
                iat_window: self.iat_window,
                leeway: self.leeway,
                clock: self.clock,
                store: self
                    .store
                    .unwrap_or_else(|| Arc::new(MemoryReplayStore::default())),
                nonces: self.nonces,
                algs_text: algs_text.into(),
            }),
        }
    }
}
