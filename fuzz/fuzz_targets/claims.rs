//! Mutated headers and claims, signed inside the harness with keys it holds (an ES256 key
//! published in the validator's key set, and the configured HMAC secret), so that inputs get past
//! the signature and reach `exp`/`nbf`/`iat`, `aud`, the string claims and the scope shapes.
//!
//! Every answer is compared with a small reference model written here from the rules in
//! SECURITY.md, not from the validator's code: the same refusal for the same reason, or the same
//! scopes when accepted.
#![no_main]

use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use scopegate::error::TokenProblem;
use scopegate::{Algorithm, AuthConfig, AuthError, CacheConfig, KeySet, Validator};
use serde_json::{Map, Number, Value, json};

const ISSUER: &str = "https://issuer.fuzz.invalid/oidc";
const AUDIENCE: &str = "https://api.fuzz.invalid";
const KID: &str = "harness-es256";
const SECRET: &[u8] = b"a harness secret of at least 32 bytes";
const LEEWAY: i64 = 60;
/// RFC 7519 §2 NumericDates, bounded as SECURITY.md says: 0 to 10^15 seconds.
const DATE_LIMIT: i64 = 1_000_000_000_000_000;
/// Every `alg` the header may name (exact spellings and near misses).
const ALGS: [&str; 9] = [
    "ES256", "HS256", "HS384", "HS512", "ES384", "RS256", "none", "es256", "EdDSA",
];

struct Harness {
    runtime: tokio::runtime::Runtime,
    validator: Validator,
    key: SigningKey,
    /// Signs with the right algorithm but is published nowhere.
    stranger: SigningKey,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let key = SigningKey::from_slice(&[0x5a; 32]).expect("a P-256 scalar");
        let stranger = SigningKey::from_slice(&[0x3c; 32]).expect("a P-256 scalar");
        let point = key.verifying_key().to_encoded_point(false);
        let jwk = json!({ "keys": [{
            "kty": "EC", "crv": "P-256", "kid": KID, "alg": "ES256", "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(point.x().expect("x")),
            "y": URL_SAFE_NO_PAD.encode(point.y().expect("y")),
        }]});
        let keys = KeySet::from_jwks(&jwk, 10).expect("the harness key set");
        let config = AuthConfig::builder(ISSUER, AUDIENCE)
            .jwks_static(keys)
            .algorithms([Algorithm::ES256])
            .symmetric_secret(SECRET)
            .build()
            .expect("valid config");
        // No caches: the model knows nothing of earlier inputs.
        let validator = Validator::builder()
            .issuer(config)
            .cache(CacheConfig::disabled())
            .build()
            .expect("valid validator");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a tokio runtime");
        Harness {
            runtime,
            validator,
            key,
            stranger,
        }
    })
}

/// A JSON value for a claim, shaped to hit the interesting cases often.
#[derive(Arbitrary, Debug)]
enum Claim {
    Absent,
    Null,
    Bool(bool),
    /// Seconds from now, in steps of 10 s plus 5: never on a boundary of the 60 s leeway.
    FromNow(i16),
    /// Seconds from now plus a fraction.
    FromNowFloat(i16, u8),
    Int(i64),
    Unsigned(u64),
    Float(f64),
    Text(String),
    /// The expected value (issuer or audience), or a word list for scopes.
    Expected,
    Words(Vec<Word>),
    List(Vec<Item>),
    Object,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Word {
    Read,
    Write,
    Empty,
    Space,
}

#[derive(Arbitrary, Debug)]
enum Item {
    Expected,
    Text(String),
    Number(i32),
    Null,
}

#[derive(Arbitrary, Debug)]
enum Signer {
    /// The published key (or the configured secret) for the header's `alg`.
    Right,
    /// A key of the right type that the validator does not know.
    Stranger,
    /// Whatever bytes.
    Bytes(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Case {
    alg: u8,
    kid: Claim,
    typ: Claim,
    crit: bool,
    signer: Signer,
    iss: Claim,
    aud: Claim,
    exp: Claim,
    nbf: Claim,
    iat: Claim,
    sub: Claim,
    client_id: Claim,
    jti: Claim,
    scope: Claim,
    scp: Claim,
}

fn words(words: &[Word]) -> String {
    let mut text = String::new();
    for word in words {
        text.push_str(match word {
            Word::Read => "read:products",
            Word::Write => "write:products",
            Word::Empty => "",
            Word::Space => " ",
        });
        text.push(' ');
    }
    text
}

/// The JSON for `claim`; `expected` is what `Claim::Expected` stands for.
fn value(claim: &Claim, now: i64, expected: &str) -> Option<Value> {
    Some(match claim {
        Claim::Absent => return None,
        Claim::Null => Value::Null,
        Claim::Bool(b) => json!(b),
        Claim::FromNow(steps) => json!(now + i64::from(*steps) * 10 + 5),
        Claim::FromNowFloat(steps, frac) => {
            json!((now + i64::from(*steps) * 10 + 5) as f64 + f64::from(*frac) / 256.0)
        }
        Claim::Int(i) => json!(i),
        Claim::Unsigned(u) => json!(u),
        Claim::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Claim::Text(s) => json!(s),
        Claim::Expected => json!(expected),
        Claim::Words(list) => json!(words(list)),
        Claim::List(items) => Value::Array(
            items
                .iter()
                .map(|item| match item {
                    Item::Expected => json!(expected),
                    Item::Text(s) => json!(s),
                    Item::Number(n) => json!(n),
                    Item::Null => Value::Null,
                })
                .collect(),
        ),
        Claim::Object => json!({ "value": expected }),
    })
}

// ---- The reference model: what SECURITY.md says the validator decides. ----

/// A NumericDate: an integer or float from 0 to 10^15; floats count whole seconds.
fn date(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, AuthError> {
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    let seconds = match value {
        Value::Number(n) if n.is_i64() => n.as_i64(),
        Value::Number(n) if n.is_f64() => n
            .as_f64()
            .filter(|f| *f >= 0.0 && *f <= DATE_LIMIT as f64)
            .map(|f| f.floor() as i64),
        _ => None,
    };
    match seconds {
        Some(s) if (0..=DATE_LIMIT).contains(&s) => Ok(Some(s)),
        _ => Err(AuthError::InvalidClaim(name)),
    }
}

/// `scope` (space-delimited) and `scp` (space-delimited, or an array of strings).
fn scopes(claims: &Map<String, Value>) -> Result<BTreeSet<String>, AuthError> {
    let mut out = BTreeSet::new();
    let split = |s: &str, out: &mut BTreeSet<String>| {
        out.extend(s.split(' ').filter(|w| !w.is_empty()).map(str::to_owned))
    };
    match claims.get("scope") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => split(s, &mut out),
        Some(_) => return Err(AuthError::InvalidClaim("scope")),
    }
    match claims.get("scp") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => split(s, &mut out),
        Some(Value::Array(items)) => {
            for item in items {
                let Value::String(s) = item else {
                    return Err(AuthError::InvalidClaim("scope"));
                };
                out.insert(s.clone());
            }
        }
        Some(_) => return Err(AuthError::InvalidClaim("scope")),
    }
    Ok(out)
}

fn model(
    header: &Map<String, Value>,
    claims: &Map<String, Value>,
    signed_right: bool,
    now: i64,
) -> Result<BTreeSet<String>, AuthError> {
    let header_text = |name| match header.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(AuthError::MalformedToken(TokenProblem::Header)),
    };
    // The header: a known alg (exact spelling), no extensions, string kid and typ.
    let alg = header_text("alg")?.unwrap_or("");
    let known = [
        "ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA", "HS256",
        "HS384", "HS512",
    ];
    if !known.contains(&alg) {
        return Err(AuthError::DisallowedAlgorithm);
    }
    if header.contains_key("crit") {
        return Err(AuthError::UnsupportedHeader);
    }
    let kid = header_text("kid")?;
    let typ = header_text("typ")?;
    // The issuer, by exact match, before anything else of the claims.
    match claims.get("iss") {
        None => return Err(AuthError::MissingClaim("iss")),
        Some(Value::String(iss)) if iss == ISSUER => {}
        Some(Value::String(_)) => return Err(AuthError::WrongIssuer),
        Some(_) => return Err(AuthError::InvalidClaim("iss")),
    }
    // This issuer allows ES256 and, with its secret, HS256/384/512.
    if !["ES256", "HS256", "HS384", "HS512"].contains(&alg) {
        return Err(AuthError::DisallowedAlgorithm);
    }
    let typ_ok = match typ {
        None => true,
        Some(t) => {
            ["at+jwt", "application/at+jwt", "jwt"].contains(&t.to_ascii_lowercase().as_str())
        }
    };
    if !typ_ok {
        return Err(AuthError::WrongTokenType);
    }
    // ES256 needs the published key: by its kid, or as the only ES256 key when there is none.
    if alg == "ES256" && kid.is_some_and(|k| k != KID) {
        return Err(AuthError::UnknownKey);
    }
    if !signed_right {
        return Err(AuthError::BadSignature);
    }
    let exp = date(claims, "exp")?.ok_or(AuthError::MissingClaim("exp"))?;
    if now >= exp + LEEWAY {
        return Err(AuthError::Expired);
    }
    if date(claims, "nbf")?.is_some_and(|nbf| now < nbf - LEEWAY) {
        return Err(AuthError::NotYetValid);
    }
    date(claims, "iat")?;
    let audiences: Vec<&str> = match claims.get("aud") {
        None => return Err(AuthError::MissingClaim("aud")),
        Some(Value::String(aud)) => vec![aud],
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().ok_or(AuthError::InvalidClaim("aud")))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(AuthError::InvalidClaim("aud")),
    };
    if !audiences.contains(&AUDIENCE) {
        return Err(AuthError::WrongAudience);
    }
    for name in ["sub", "client_id", "jti"] {
        if !matches!(claims.get(name), None | Some(Value::String(_))) {
            return Err(AuthError::InvalidClaim(name));
        }
    }
    scopes(claims)
}

// ---- The target. ----

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// HMAC of `input` with the configured secret, for an `HS*` alg.
fn hmac(alg: &str, input: &[u8]) -> Vec<u8> {
    macro_rules! mac {
        ($hash:ty) => {{
            let mut mac = Hmac::<$hash>::new_from_slice(SECRET).expect("any key length");
            mac.update(input);
            mac.finalize().into_bytes().to_vec()
        }};
    }
    match alg {
        "HS256" => mac!(sha2::Sha256),
        "HS384" => mac!(sha2::Sha384),
        _ => mac!(sha2::Sha512),
    }
}

fuzz_target!(|case: Case| {
    let harness = harness();
    let before = unix_now();
    let alg = ALGS[usize::from(case.alg) % ALGS.len()];
    let mut header = Map::new();
    header.insert("alg".into(), json!(alg));
    for (name, claim) in [("kid", &case.kid), ("typ", &case.typ)] {
        if let Some(v) = value(claim, before, if name == "kid" { KID } else { "at+jwt" }) {
            header.insert(name.into(), v);
        }
    }
    if case.crit {
        header.insert("crit".into(), json!(["exp"]));
    }
    let mut claims = Map::new();
    for (name, claim, expected) in [
        ("iss", &case.iss, ISSUER),
        ("aud", &case.aud, AUDIENCE),
        ("exp", &case.exp, ""),
        ("nbf", &case.nbf, ""),
        ("iat", &case.iat, ""),
        ("sub", &case.sub, "fuzz-app"),
        ("client_id", &case.client_id, "fuzz-app"),
        ("jti", &case.jti, "jti"),
        ("scope", &case.scope, "read:products"),
        ("scp", &case.scp, "write:products"),
    ] {
        if let Some(v) = value(claim, before, expected) {
            claims.insert(name.into(), v);
        }
    }
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(Value::Object(header.clone()).to_string()),
        URL_SAFE_NO_PAD.encode(Value::Object(claims.clone()).to_string())
    );
    let ecdsa = |key: &SigningKey| {
        let signature: Signature = key.sign(signing_input.as_bytes());
        signature.to_bytes().to_vec()
    };
    let (signature, signed_right) = match (&case.signer, alg) {
        (Signer::Right, "ES256") => (ecdsa(&harness.key), true),
        (Signer::Right, "HS256" | "HS384" | "HS512") => (hmac(alg, signing_input.as_bytes()), true),
        (Signer::Right | Signer::Stranger, _) => (ecdsa(&harness.stranger), false),
        (Signer::Bytes(bytes), _) => (bytes.clone(), false),
    };
    let token = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(&signature));

    let actual = harness
        .runtime
        .block_on(harness.validator.validate(&token))
        .map(|auth| {
            auth.scopes()
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect()
        });
    // The validator read the clock between `before` and `after`: either answer is right.
    let after = unix_now();
    let expected = [before, after].map(|now| model(&header, &claims, signed_right, now));
    assert!(
        expected.contains(&actual),
        "model {:?}, validator {actual:?}\nheader {header:?}\nclaims {claims:?}",
        expected[0]
    );
});
