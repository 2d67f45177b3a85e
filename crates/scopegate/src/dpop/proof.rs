//! [`ProofVerifier`]: one DPoP proof checked for one request (RFC 9449 §4.3).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, Method};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::jwk::{ProofKey, access_token_hash, proof_key};
use super::nonce::{NonceCheck, Nonces};
use super::replay::{Freshness, ReplayStore};
use super::uri::check_htu;
use super::{DpopError, ProofProblem};
use crate::algorithm::{Algorithm, AlgorithmSet};
use crate::clock::{Clock, unix_seconds};
use crate::json;

/// The `DPoP` request header.
pub const DPOP_HEADER: &str = "dpop";
/// The `DPoP-Nonce` response header.
pub const DPOP_NONCE_HEADER: &str = "dpop-nonce";

/// Proof algorithms accepted by default: asymmetric only (RFC 9449 §4.3, check 5).
pub const DEFAULT_PROOF_ALGORITHMS: AlgorithmSet = AlgorithmSet::of(&[
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
    Algorithm::PS256,
    Algorithm::RS256,
]);

/// Longest proof accepted (checked before any decoding): a proof with an RSA-16384 key is
/// about 6 KiB.
pub const MAX_PROOF_LENGTH: usize = 8 * 1024;

/// Longest `jti` accepted.
const MAX_JTI_LENGTH: usize = 256;

/// The request a proof must be for.
#[derive(Debug, Clone, Copy)]
pub struct ProofTarget<'a> {
    method: &'a Method,
    uri: &'a str,
    access_token: Option<&'a str>,
}

impl<'a> ProofTarget<'a> {
    /// A request with `method` to `uri` (absolute, without query: e.g. the token endpoint's URL).
    pub fn new(method: &'a Method, uri: &'a str) -> Self {
        ProofTarget {
            method,
            uri,
            access_token: None,
        }
    }

    /// The access token sent with the proof: `ath` must then be its hash (RFC 9449 §4.3,
    /// check 12). Without it (a token request), `ath` is not read.
    #[must_use]
    pub fn access_token(mut self, token: &'a str) -> Self {
        self.access_token = Some(token);
        self
    }
}

/// A proof that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedProof {
    /// The RFC 7638 thumbprint of the proof's key: `cnf.jkt` of a token bound to it.
    pub thumbprint: String,
    /// `jti`.
    pub jti: String,
    /// `iat`, seconds since the epoch.
    pub issued_at: i64,
    /// With server nonces on, the current nonce when the proof carried the one before it:
    /// send it in a `DPoP-Nonce` response header so the client moves on (RFC 9449 §8.2).
    pub next_nonce: Option<String>,
}

/// A proof whose every check but the signature and the replay record is done: the cheap part,
/// which runs before the access token's binding is known.
pub(crate) struct PreparedProof {
    proof: Box<str>,
    signed_len: usize,
    alg: Algorithm,
    key: ProofKey,
    verified: VerifiedProof,
    /// How long the `jti` must be remembered: until `iat` leaves the window.
    ttl: Duration,
}

impl PreparedProof {
    /// The thumbprint of the proof's key.
    pub(crate) fn thumbprint(&self) -> &str {
        &self.key.thumbprint
    }
}

/// Checks DPoP proofs: structure, key, signature, `htm`, `htu`, `iat` window, `jti` replay,
/// `ath`, and server nonces when they are on.
///
/// The resource server's layer uses one (see [`DpopConfig`](super::DpopConfig)); a token endpoint
/// checks the proofs of token requests with one too:
///
/// ```
/// # async fn demo(headers: http::HeaderMap) -> Result<(), scopegate::dpop::DpopError> {
/// use http::Method;
/// use scopegate::dpop::{ProofTarget, ProofVerifier, proof_header};
///
/// let verifier = ProofVerifier::builder().build();
/// let proof = proof_header(&headers)?;
/// let target = ProofTarget::new(&Method::POST, "https://issuer.example/oidc/token");
/// let verified = verifier.verify(proof, &target).await?;
/// println!("bind the token to cnf.jkt = {}", verified.thumbprint);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ProofVerifier {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) algorithms: AlgorithmSet,
    pub(super) iat_window: Duration,
    pub(super) leeway: Duration,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) store: Arc<dyn ReplayStore>,
    pub(super) nonces: Option<Nonces>,
    pub(super) algs_text: Box<str>,
}

impl fmt::Debug for ProofVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("ProofVerifier")
            .field("algorithms", &inner.algorithms)
            .field("iat_window", &inner.iat_window)
            .field("leeway", &inner.leeway)
            .field("store", &inner.store)
            .field("nonces", &inner.nonces)
            .finish()
    }
}

impl Default for ProofVerifier {
    fn default() -> Self {
        ProofVerifier::builder().build()
    }
}

/// The one `DPoP` header of a request (RFC 9449 §4.3, check 1: not more than one).
pub fn proof_header(headers: &HeaderMap) -> Result<&str, DpopError> {
    let mut values = headers.get_all(DPOP_HEADER).iter();
    let value = values.next().ok_or(ProofProblem::Missing)?;
    if values.next().is_some() {
        return Err(ProofProblem::SeveralHeaders.into());
    }
    value
        .to_str()
        .map(|v| v.trim_matches([' ', '\t']))
        .map_err(|_| ProofProblem::Malformed.into())
}

impl ProofVerifier {
    /// The proof algorithms accepted.
    pub fn algorithms(&self) -> AlgorithmSet {
        self.inner.algorithms
    }

    /// The accepted algorithms, space-separated: the `algs` of a `DPoP` challenge.
    pub fn algs(&self) -> &str {
        &self.inner.algs_text
    }

    /// The nonce clients must use now, when server nonces are on.
    pub fn current_nonce(&self) -> Option<String> {
        let now = self.inner.clock.now();
        self.inner.nonces.as_ref().map(|n| n.current(now))
    }

    /// Checks `proof` (the value of the request's one `DPoP` header) for `target`, records its
    /// `jti`, and returns what it proves: the key's thumbprint.
    pub async fn verify(
        &self,
        proof: &str,
        target: &ProofTarget<'_>,
    ) -> Result<VerifiedProof, DpopError> {
        let prepared = self.prepare(proof, target)?;
        self.finish(prepared).await
    }

    /// Every check that needs no signature verification and no store: form, header, key,
    /// claims, `htm`, `htu`, `iat`, `ath`, nonce.
    pub(crate) fn prepare(
        &self,
        proof: &str,
        target: &ProofTarget<'_>,
    ) -> Result<PreparedProof, DpopError> {
        let inner = &*self.inner;
        if proof.len() > MAX_PROOF_LENGTH {
            return Err(ProofProblem::TooLong.into());
        }
        let mut segments = proof.split('.');
        let (Some(header), Some(payload), Some(_signature), None) = (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) else {
            return Err(ProofProblem::Malformed.into());
        };
        let signed_len = header.len() + 1 + payload.len();
        let header = decode_json(header)?;
        let claims = decode_json(payload)?;

        // RFC 9449 §4.3 check 4: typ is dpop+jwt (media types compare case-insensitively).
        if !text(&header, "typ").is_some_and(|t| t.eq_ignore_ascii_case("dpop+jwt")) {
            return Err(ProofProblem::WrongType.into());
        }
        // Check 5: an asymmetric algorithm on the allow-list; `none` cannot even be parsed.
        let alg = text(&header, "alg")
            .and_then(|a| a.parse::<Algorithm>().ok())
            .filter(|a| inner.algorithms.contains(*a))
            .ok_or(ProofProblem::DisallowedAlgorithm)?;
        if header.contains_key("crit") || header.contains_key("b64") {
            return Err(ProofProblem::UnsupportedHeader.into());
        }
        // Check 6: a public key that can verify `alg`.
        let key = proof_key(&header)?;
        if !key.key.algorithms().contains(alg) {
            return Err(ProofProblem::BadKey.into());
        }

        // Check 3: the required claims.
        let jti = text(&claims, "jti")
            .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_LENGTH)
            .ok_or(ProofProblem::MissingClaim("jti"))?;
        let htm = text(&claims, "htm").ok_or(ProofProblem::MissingClaim("htm"))?;
        let htu = text(&claims, "htu").ok_or(ProofProblem::MissingClaim("htu"))?;
        let iat = claims
            .get("iat")
            .and_then(Value::as_f64)
            .filter(|i| i.is_finite())
            .ok_or(ProofProblem::MissingClaim("iat"))?
            .floor() as i64;

        // Checks 8 and 9: method (case-sensitive, RFC 9110 §9.1) and URI.
        if htm != target.method.as_str() {
            return Err(ProofProblem::WrongMethod.into());
        }
        check_htu(htu, target.uri)?;

        // Check 11: iat within the window, either way.
        let now = inner.clock.now();
        let now_s = unix_seconds(now);
        let reach = (inner.iat_window + inner.leeway).as_secs() as i64;
        if iat < now_s.saturating_sub(reach) {
            return Err(ProofProblem::TooOld.into());
        }
        if iat > now_s.saturating_add(reach) {
            return Err(ProofProblem::InFuture.into());
        }

        // Check 12: ath, when the proof goes with an access token.
        if let Some(token) = target.access_token {
            let ath = text(&claims, "ath").ok_or(ProofProblem::MissingAth)?;
            if ath != access_token_hash(token) {
                return Err(ProofProblem::WrongAth.into());
            }
        }

        // Check 10: the server's nonce.
        let next_nonce = match &inner.nonces {
            None => None,
            Some(nonces) => match nonces.check(text(&claims, "nonce"), now) {
                NonceCheck::Current => None,
                NonceCheck::Previous => Some(nonces.current(now)),
                NonceCheck::Refused => {
                    return Err(DpopError::UseNonce {
                        nonce: nonces.current(now),
                    });
                }
            },
        };

        // Remembered until the proof leaves the window: iat + reach, at least a second.
        let ttl =
            Duration::from_secs(iat.saturating_add(reach).saturating_sub(now_s).max(1) as u64);
        Ok(PreparedProof {
            proof: Box::from(proof),
            signed_len,
            alg,
            verified: VerifiedProof {
                thumbprint: key.thumbprint.clone(),
                jti: jti.to_owned(),
                issued_at: iat,
                next_nonce,
            },
            key,
            ttl,
        })
    }

    /// The signature check (check 7) and the `jti` record (check 11's replay half).
    pub(crate) async fn finish(&self, prepared: PreparedProof) -> Result<VerifiedProof, DpopError> {
        let PreparedProof {
            proof,
            signed_len,
            alg,
            key,
            verified,
            ttl,
        } = prepared;
        let (signed, signature) = (&proof[..signed_len], &proof[signed_len + 1..]);
        let valid = jsonwebtoken::crypto::verify(
            signature,
            signed.as_bytes(),
            &key.key.decoding,
            alg.to_jsonwebtoken(),
        )
        .unwrap_or(false);
        if !valid {
            return Err(ProofProblem::BadSignature.into());
        }
        let replay_key = replay_key(&key.thumbprint, &verified.jti);
        match self.inner.store.record(&replay_key, ttl).await {
            Ok(Freshness::New) => Ok(verified),
            Ok(Freshness::Seen) => Err(DpopError::Replayed),
            Err(error) => Err(DpopError::StoreUnavailable {
                retry_after: error.retry_after,
            }),
        }
    }
}

/// `jti`s are unique per key (RFC 9449 §11.1): the key's thumbprint and the `jti`, hashed, so a
/// stored key has a fixed length whatever the `jti`.
fn replay_key(thumbprint: &str, jti: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(thumbprint.as_bytes());
    hash.update([0]);
    hash.update(jti.as_bytes());
    format!("dpop:jti:{}", URL_SAFE_NO_PAD.encode(hash.finalize()))
}

fn decode_json(segment: &str) -> Result<Map<String, Value>, ProofProblem> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| ProofProblem::Malformed)?;
    json::parse_object(&bytes).map_err(|_| ProofProblem::Malformed)
}

fn text<'m>(map: &'m Map<String, Value>, name: &str) -> Option<&'m str> {
    map.get(name).and_then(Value::as_str)
}
