//! The attack corpus (issue #7): each row is one known way to slip a forged, confused, malformed
//! or oversized token past a JWT validator.
//!
//! Every row is sent through the real layer over HTTP (an axum app with `BearerAuthLayer` and
//! `require_scopes` on 127.0.0.1, keys from the dev issuer's JWKS) and through the layer's own
//! steps in process (`token::bearer_token`, then `Validator::validate` on a second validator), so
//! that the HTTP stack, the layer and the validator are each held to the row. SECURITY.md lists
//! the rows by name: keep the two in step.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::HeaderMap;
use http::header::{AUTHORIZATION, HeaderValue, WWW_AUTHENTICATE};
use scopegate::AuthError::{
    BadSignature, DisallowedAlgorithm, Expired, InvalidClaim, InvalidRequest, KeyAlgorithmMismatch,
    MalformedToken, MissingClaim, NotYetValid, UnknownKey, UnsupportedHeader, WrongAudience,
    WrongIssuer, WrongTokenType,
};
use scopegate::error::RequestProblem;
use scopegate::error::RequestProblem::{
    InvalidCharacters, NotOneToken, SeveralHeaders, WrongScheme,
};
use scopegate::error::TokenProblem::{Base64, Encrypted, Header, Json, NotJws, TooLong};
use scopegate::token::bearer_token;
use scopegate::{AuthError, BearerAuthLayer, Validator, require_scopes};
use scopegate_dev::{DevIssuer, SigningAlgorithm, b64, sign_hmac, unix_now};
use scopegate_tests::{RESOURCE, client, config_for, dev_issuer, parse_challenge, serve};
use serde_json::{Value, json};

/// No row may take longer than this, over HTTP or in process: a hang is a failure, not a wait.
const LIMIT: Duration = Duration::from_secs(20);

/// The JSON nesting bound of `crates/scopegate/src/json.rs` (`MAX_DEPTH`, crate-private); the
/// claim set itself is depth 1.
const MAX_DEPTH: usize = 16;

/// The default token length cap (`validate::DEFAULT_MAX_TOKEN_LENGTH`).
const MAX_TOKEN: usize = scopegate::validate::DEFAULT_MAX_TOKEN_LENGTH;

/// The order of P-384 (SEC 2), big-endian.
const P384_ORDER: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973";
/// The order of P-256 (SEC 2), big-endian.
const P256_ORDER: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";

/// What the layer must answer over HTTP.
#[derive(Debug, Clone, Copy)]
enum Http {
    /// This status, and this `error` attribute of `WWW-Authenticate` (`None`: no attribute, or
    /// no challenge at all for a 200).
    Status(u16, Option<&'static str>),
    /// hyper refuses the request head before any service runs: its read buffer (~400 KiB by
    /// default) is smaller than the request, so it answers 431 or closes the connection while the
    /// client is still writing. Either way no 2xx and no 5xx; the in-process check still holds
    /// the layer to 401 for the same header.
    RefusedByHyper,
}

struct Row {
    name: String,
    /// The `Authorization` header values sent (several values: several headers).
    values: Vec<Vec<u8>>,
    http: Http,
    /// What `bearer_token`, then `Validator::validate`, return in process: the layer's own steps.
    expected: Result<(), AuthError>,
    /// For rows the request syntax already refuses: the bare token and what
    /// `Validator::validate` alone says of it, so that the validator's own defence is held too.
    bare: Option<(String, AuthError)>,
}

fn bearer(token: &str) -> Vec<Vec<u8>> {
    vec![format!("Bearer {token}").into_bytes()]
}

/// A bad token: 401 `invalid_token`, and `Validator::validate` returns `error`.
fn bad(name: impl Into<String>, token: String, error: AuthError) -> Row {
    assert_eq!(error.status(), 401, "{error:?} is a token problem");
    Row {
        name: name.into(),
        values: bearer(&token),
        http: Http::Status(401, Some("invalid_token")),
        expected: Err(error),
        bare: None,
    }
}

/// A token outside RFC 6750's `b64token` syntax: 400 `invalid_request` from the extraction; the
/// validator alone refuses it with `error`.
fn unsyntactic(name: &str, token: String, problem: RequestProblem, error: AuthError) -> Row {
    Row {
        name: name.into(),
        values: bearer(&token),
        http: Http::Status(400, Some("invalid_request")),
        expected: Err(InvalidRequest(problem)),
        bare: Some((token, error)),
    }
}

/// A malformed `Authorization` header (the token inside, if any, is not the point): 400.
fn bad_request(name: &str, values: Vec<Vec<u8>>, problem: RequestProblem) -> Row {
    Row {
        name: name.into(),
        values,
        http: Http::Status(400, Some("invalid_request")),
        expected: Err(InvalidRequest(problem)),
        bare: None,
    }
}

/// Not an attack: a request that must be served (200), so that the attack rows next to it fail
/// for the reason they name and not for a broken fixture.
fn ok(name: &str, values: Vec<Vec<u8>>) -> Row {
    Row {
        name: name.into(),
        values,
        http: Http::Status(200, None),
        expected: Ok(()),
        bare: None,
    }
}

/// A request larger than hyper reads; in process the layer refuses it as too long.
fn too_large_for_hyper(name: &str, token: String) -> Row {
    Row {
        name: name.into(),
        values: bearer(&token),
        http: Http::RefusedByHyper,
        expected: Err(MalformedToken(TooLong)),
        bare: None,
    }
}

/// Token factory: the trusted dev issuer (ES384, plus published RSA, Ed25519 and P-256 keys), an
/// attacker with its own key, and a trap server that counts every request made to it.
struct Kit {
    issuer: DevIssuer,
    rsa: String,
    /// The RSA key's kid, SubjectPublicKeyInfo DER and JWK.
    rsa_public: (String, Vec<u8>, Value),
    ed: String,
    p256: String,
    attacker: DevIssuer,
    trap: String,
}

impl Kit {
    fn kid(&self) -> String {
        self.issuer.kid()
    }

    fn claims(&self) -> Value {
        self.issuer.claims("read-app", RESOURCE, "read:products")
    }

    fn good(&self) -> String {
        self.issuer.mint(self.claims())
    }

    fn header_with(&self, edit: impl FnOnce(&mut Value)) -> String {
        let mut header = self.issuer.header();
        edit(&mut header);
        self.issuer.mint_with_header(header, self.claims())
    }

    fn claims_with(&self, edit: impl FnOnce(&mut Value)) -> String {
        let mut claims = self.claims();
        edit(&mut claims);
        self.issuer.mint(claims)
    }

    fn without_claim(&self, name: &str) -> String {
        self.claims_with(|c| drop(c.as_object_mut().unwrap().remove(name)))
    }

    /// Exact header and claim bytes, signed by the trusted key: for JSON that `serde_json::Value`
    /// cannot hold (duplicate members, numbers beyond u64, invalid UTF-8).
    fn raw(&self, header: &[u8], claims: &[u8]) -> String {
        self.issuer.sign_raw(header, claims)
    }

    fn raw_claims(&self, claims: &str) -> String {
        self.raw(
            self.issuer.header().to_string().as_bytes(),
            claims.as_bytes(),
        )
    }

    /// The standard claims as JSON text with `member` (raw `"name":value` text) spliced in first;
    /// a member of the same name stays in too, later.
    fn claims_text_with(&self, member: &str) -> String {
        let rest = self.claims().to_string();
        format!("{{{member},{}", &rest[1..])
    }

    /// The standard claims with claim `name` replaced by the raw JSON text `value`.
    fn raw_claim(&self, name: &str, value: &str) -> String {
        let mut claims = self.claims();
        claims.as_object_mut().unwrap().remove(name);
        let rest = claims.to_string();
        self.raw_claims(&format!("{{\"{name}\":{value},{}", &rest[1..]))
    }

    /// A header naming `alg` and `kid` (if any), signed by the published key `key`, whatever the
    /// header says.
    fn signed_by(&self, key: &str, alg: &str, kid: Option<&str>) -> String {
        let mut header = json!({ "alg": alg, "typ": "at+jwt" });
        if let Some(kid) = kid {
            header["kid"] = json!(kid);
        }
        self.issuer
            .mint_with_key(key, header, self.claims())
            .unwrap()
    }

    /// `token`'s signing input with another signature.
    fn resigned(token: &str, signature: &[u8]) -> String {
        let (input, _) = token.rsplit_once('.').unwrap();
        format!("{input}.{}", b64(signature))
    }

    /// Signed by the attacker's key, with the trusted issuer's claims.
    fn attacker_signed(&self, header: Value) -> String {
        self.attacker.mint_with_header(header, self.claims())
    }

    /// A plain ES384 header naming `kid`; the rows add `jku`, `x5u`, `jwk` and `x5c` to it.
    fn attacker_header(&self, kid: Option<String>) -> Value {
        let mut header = json!({ "alg": "ES384", "typ": "at+jwt" });
        if let Some(kid) = kid {
            header["kid"] = json!(kid);
        }
        header
    }

    fn hmac(&self, alg: &str, kid: &str, secret: &[u8]) -> String {
        let header = json!({ "alg": alg, "typ": "at+jwt", "kid": kid });
        sign_hmac(secret, &header, &self.claims())
    }

    /// Claims carrying one value nested so that the deepest array is at `depth` (the claim set
    /// itself is depth 1).
    fn nested_claims(&self, depth: usize) -> String {
        let value = format!("{}1{}", "[".repeat(depth - 1), "]".repeat(depth - 1));
        self.raw_claims(&self.claims_text_with(&format!("\"deep\":{value}")))
    }

    fn nested_header(&self, depth: usize) -> String {
        let value = format!("{}1{}", "[".repeat(depth - 1), "]".repeat(depth - 1));
        let header = self.issuer.header().to_string();
        let header = format!("{{\"x-deep\":{value},{}", &header[1..]);
        self.raw(header.as_bytes(), self.claims().to_string().as_bytes())
    }

    /// Good tokens, made longer by a filler claim: the longest within `limit` bytes and the
    /// shortest beyond it.
    fn around_length(&self, limit: usize) -> (String, String) {
        let token = |n: usize| self.claims_with(|c| c["pad"] = json!("x".repeat(n)));
        let mut n = (limit - token(0).len()) * 3 / 4;
        while token(n).len() > limit {
            n -= 1;
        }
        while token(n + 1).len() <= limit {
            n += 1;
        }
        (token(n), token(n + 1))
    }
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn signature_of(token: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(token.rsplit_once('.').unwrap().1)
        .unwrap()
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// The three segments of a compact JWS.
fn segments(token: &str) -> (&str, &str, &str) {
    let mut parts = token.splitn(3, '.');
    let (h, p, s) = (parts.next(), parts.next(), parts.next());
    (h.unwrap(), p.unwrap(), s.unwrap())
}

/// SubjectPublicKeyInfo DER as PEM, the form an HMAC-confusion attacker feeds a library that
/// takes "the key" as bytes.
fn pem(der: &[u8]) -> Vec<u8> {
    let body = STANDARD.encode(der);
    let mut out = String::from("-----BEGIN PUBLIC KEY-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str("-----END PUBLIC KEY-----\n");
    out.into_bytes()
}

/// A loopback server that counts every request and answers with `jwks`, as an attacker's `jku`
/// or `x5u` host would.
async fn trap(hits: Arc<AtomicU64>, jwks: Value) -> String {
    let app = Router::new().fallback(move || {
        hits.fetch_add(1, Ordering::SeqCst);
        let jwks = jwks.clone();
        async move { axum::Json(jwks) }
    });
    format!("http://{}", serve(app).await)
}

/// Flips the lowest bit of the last base64url character: for a segment whose length leaves
/// unused trailing bits, this is the same bytes under another spelling.
fn flip_trailing_bit(segment: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let (head, last) = segment.split_at(segment.len() - 1);
    let index = ALPHABET
        .iter()
        .position(|c| *c == last.as_bytes()[0])
        .unwrap();
    format!("{head}{}", ALPHABET[index ^ 1] as char)
}

// One row per line, so the table reads as a table (and greps as one): rustfmt would split them.
#[rustfmt::skip]
fn rows(kit: &Kit) -> Vec<Row> {
    let good = kit.good();
    let (h, p, s) = segments(&good);
    let kid = kit.kid();
    let iss = kit.issuer.issuer().to_owned();
    let now = unix_now();
    let mut rows = Vec::new();

    // Controls: the fixture serves what it must, so the rows below fail for their own reason.
    let rsa_good = kit.signed_by(&kit.rsa, "RS256", Some(&kit.rsa));
    let p256_good = kit.signed_by(&kit.p256, "ES256", Some(&kit.p256));
    let (at_limit, over_limit) = kit.around_length(MAX_TOKEN);
    assert!((MAX_TOKEN - 1..=MAX_TOKEN).contains(&at_limit.len()));
    assert!((MAX_TOKEN + 1..=MAX_TOKEN + 2).contains(&over_limit.len()));
    rows.extend([
        ok("control: good ES384 token", bearer(&good)),
        ok("control: good RS256 token (published RSA key)", bearer(&rsa_good)),
        ok("control: good ES256 token (published P-256 key)", bearer(&p256_good)),
        ok("control: good EdDSA token (published Ed25519 key)", bearer(&kit.signed_by(&kit.ed, "EdDSA", Some(&kit.ed)))),
        ok("lowercase `bearer` scheme (RFC 9110 §11.1: case-insensitive)", vec![format!("bearer {good}").into_bytes()]),
        ok("uppercase `BEARER` scheme", vec![format!("BEARER {good}").into_bytes()]),
        ok("leading/trailing spaces around the header value (RFC 9110 OWS)", vec![format!("   Bearer {good}   ").into_bytes()]),
        // RFC 7519 §2: a NumericDate may be fractional; 0 and 10^15 are the bounds, both valid.
        ok("exp as a float in the future", bearer(&kit.claims_with(|c| c["exp"] = json!(now as f64 + 3600.5)))),
        ok("nbf 0, iat a float (valid NumericDates)", bearer(&kit.claims_with(|c| { c["nbf"] = json!(0); c["iat"] = json!(now as f64 - 0.5) }))),
        ok("exp 10^15 (the bound)", bearer(&kit.claims_with(|c| c["exp"] = json!(1_000_000_000_000_000_i64)))),
        ok("claims nested at the depth limit", bearer(&kit.nested_claims(MAX_DEPTH))),
        ok("token at the length limit (16 KiB)", bearer(&at_limit)),
    ]);

    // `alg: none` in its spellings, with the real signature left on and stripped.
    for alg in ["none", "None", "NONE", "nOnE"] {
        let signed = kit.header_with(|h| h["alg"] = json!(alg));
        let unsigned = format!("{}.", signed.rsplit_once('.').unwrap().0);
        rows.push(bad(format!("alg {alg}, signed"), signed, DisallowedAlgorithm));
        rows.push(bad(format!("alg {alg}, no signature"), unsigned, DisallowedAlgorithm));
    }
    let bare_none = format!("{}.{p}.", b64(br#"{"alg":"none","typ":"JWT"}"#));
    rows.extend([
        bad("alg none, no kid, no signature", bare_none, DisallowedAlgorithm),
        bad("alg missing", kit.header_with(|h| drop(h.as_object_mut().unwrap().remove("alg"))), MalformedToken(Header)),
        bad("alg empty", kit.header_with(|h| h["alg"] = json!("")), DisallowedAlgorithm),
        bad("alg lowercase es384", kit.header_with(|h| h["alg"] = json!("es384")), DisallowedAlgorithm),
        bad("alg as an array", kit.header_with(|h| h["alg"] = json!(["ES384"])), MalformedToken(Header)),
    ]);

    // HMAC confusion: HS* keyed with a published public key, in each form a library may take it,
    // the header naming that key.
    let es_public = (kid.clone(), kit.issuer.public_key_der(), kit.issuer.public_jwk());
    for (kind, (key, der, jwk)) in [("ES384", es_public), ("RSA", kit.rsa_public.clone())] {
        let jwk = jwk.to_string().into_bytes();
        for alg in ["HS256", "HS384", "HS512"] {
            for (form, secret) in [("PEM", pem(&der)), ("DER", der.clone()), ("JWK", jwk.clone())] {
                let name = format!("{alg} keyed with the {kind} public key as {form}");
                rows.push(bad(name, kit.hmac(alg, &key, &secret), DisallowedAlgorithm));
            }
        }
    }

    // Algorithm/key swaps: a header `alg` that the named key's type cannot verify.
    let (es, rsa, ed, p256) = (kid.as_str(), kit.rsa.as_str(), kit.ed.as_str(), kit.p256.as_str());
    rows.extend([
        bad("RS256 header naming the ES384 key", kit.signed_by(rsa, "RS256", Some(es)), KeyAlgorithmMismatch),
        bad("EdDSA header naming the ES384 key", kit.signed_by(ed, "EdDSA", Some(es)), KeyAlgorithmMismatch),
        bad("ES384 header naming the RSA key", kit.signed_by(es, "ES384", Some(rsa)), KeyAlgorithmMismatch),
        bad("EdDSA header naming the RSA key", kit.signed_by(ed, "EdDSA", Some(rsa)), KeyAlgorithmMismatch),
        bad("ES384 header naming the Ed25519 key", kit.signed_by(es, "ES384", Some(ed)), KeyAlgorithmMismatch),
        bad("RS256 header naming the Ed25519 key", kit.signed_by(rsa, "RS256", Some(ed)), KeyAlgorithmMismatch),
        bad("ES256 header naming the P-384 key", kit.signed_by(p256, "ES256", Some(es)), KeyAlgorithmMismatch),
        bad("ES384 header naming the P-256 key", kit.signed_by(es, "ES384", Some(p256)), KeyAlgorithmMismatch),
        bad("RS256 signature relabelled PS256", kit.signed_by(rsa, "PS256", Some(rsa)), BadSignature),
        bad("RS256 header, no kid, ES384 signature", kit.signed_by(es, "RS256", None), BadSignature),
        bad("EdDSA header, no kid, ES384 signature", kit.signed_by(es, "EdDSA", None), BadSignature),
    ]);

    // ECDSA "psychic signatures" (CVE-2022-21449) and out-of-range r/s: a verifier must check
    // 0 < r, s < n before any arithmetic.
    let sig = signature_of(&good);
    let (r, s384) = sig.split_at(48);
    let n = hex(P384_ORDER);
    let zero = [0u8; 48];
    let p256_n = hex(P256_ORDER);
    rows.extend([
        bad("ES384 r = 0, s = 0", Kit::resigned(&good, &[0; 96]), BadSignature),
        bad("ES384 r = 0, real s", Kit::resigned(&good, &cat(&[&zero, s384])), BadSignature),
        bad("ES384 real r, s = 0", Kit::resigned(&good, &cat(&[r, &zero])), BadSignature),
        bad("ES384 r = s = n (the curve order)", Kit::resigned(&good, &cat(&[&n, &n])), BadSignature),
        bad("ES384 r = n, real s", Kit::resigned(&good, &cat(&[&n, s384])), BadSignature),
        bad("ES384 real r, s = n", Kit::resigned(&good, &cat(&[r, &n])), BadSignature),
        bad("ES384 r = s = 2^384 - 1 (all 0xFF)", Kit::resigned(&good, &[0xff; 96]), BadSignature),
        bad("ES384 r = 0, s = 0 as DER", Kit::resigned(&good, &[0x30, 6, 2, 1, 0, 2, 1, 0]), BadSignature),
        bad("ES384 signature truncated to 95 bytes", Kit::resigned(&good, &sig[..95]), BadSignature),
        bad("ES384 signature with a byte prepended", Kit::resigned(&good, &cat(&[&[0], &sig])), BadSignature),
        bad("ES256 r = 0, s = 0", Kit::resigned(&p256_good, &[0; 64]), BadSignature),
        bad("ES256 r = s = n (the curve order)", Kit::resigned(&p256_good, &cat(&[&p256_n, &p256_n])), BadSignature),
    ]);

    // Tampering with what was signed, and with the signature's spelling.
    let other = kit.claims_with(|c| c["scope"] = json!("read:products write:products"));
    let (_, other_p, other_s) = segments(&other);
    let extended = kit.claims_with(|c| c["exp"] = json!(now + 86400 * 365));
    let mut tampered_header = kit.issuer.header();
    tampered_header["x"] = json!(1);
    let (rsa_input, rsa_sig) = rsa_good.rsplit_once('.').unwrap();
    rows.extend([
        bad("signature stripped", format!("{h}.{p}."), BadSignature),
        bad("signature of another token", format!("{h}.{p}.{other_s}"), BadSignature),
        bad("header tampered after signing", format!("{}.{p}.{s}", b64(tampered_header.to_string().as_bytes())), BadSignature),
        bad("payload swapped after signing (scope escalated)", format!("{h}.{other_p}.{s}"), BadSignature),
        bad("payload tampered after signing (exp extended)", format!("{h}.{}.{s}", segments(&extended).1), BadSignature),
        bad("padding '=' after the signature", format!("{good}="), BadSignature),
        bad("RS256 signature with its '==' padding", format!("{rsa_good}=="), BadSignature),
        bad("RS256 signature with non-zero trailing bits", format!("{rsa_input}.{}", flip_trailing_bit(rsa_sig)), BadSignature),
    ]);

    // `kid`: unknown, odd or hostile values are lookups that miss, never paths or queries.
    rows.extend([
        bad("kid unknown", kit.header_with(|h| h["kid"] = json!("rotated-away")), UnknownKey),
        bad("kid empty string", kit.header_with(|h| h["kid"] = json!("")), UnknownKey),
        bad("kid of 10 KB", kit.header_with(|h| h["kid"] = json!("k".repeat(10 * 1024))), UnknownKey),
        bad("kid path-like ../../dev/null", kit.header_with(|h| h["kid"] = json!("../../dev/null")), UnknownKey),
        bad("kid SQL-like ' OR 1=1 --", kit.header_with(|h| h["kid"] = json!("' OR 1=1 --")), UnknownKey),
        bad("kid with CR LF (log injection)", kit.header_with(|h| h["kid"] = json!("a\r\nlevel=error forged")), UnknownKey),
        bad("kid as a number", kit.header_with(|h| h["kid"] = json!(1)), MalformedToken(Header)),
        bad("kid null", kit.header_with(|h| h["kid"] = Value::Null), MalformedToken(Header)),
    ]);

    // Header-supplied keys: never fetched, never trusted. The attacker signs with its own key and
    // points `jku`/`x5u` at the trap (whose hits must stay 0) and embeds its key as `jwk`/`x5c`.
    let attacker_jwk = kit.attacker.public_jwk();
    let attacker_kid = Some(kit.attacker.kid());
    let x5c = json!([STANDARD.encode(kit.attacker.public_key_der())]);
    let with = |kid: Option<String>, name: &str, value: Value| {
        let mut header = kit.attacker_header(kid);
        header[name] = value;
        kit.attacker_signed(header)
    };
    let jku = json!(format!("{}/jwks", kit.trap));
    let jku_attacker = json!(kit.attacker.jwks_uri());
    let x5u = json!(format!("{}/cert.pem", kit.trap));
    let mut everything = kit.attacker_header(Some(kid.clone()));
    everything["jku"] = jku.clone();
    everything["x5u"] = x5u.clone();
    everything["jwk"] = attacker_jwk.clone();
    everything["x5c"] = x5c.clone();
    rows.extend([
        bad("jku to the trap, attacker kid", with(attacker_kid.clone(), "jku", jku.clone()), UnknownKey),
        bad("jku to the attacker's JWKS, attacker kid", with(attacker_kid.clone(), "jku", jku_attacker), UnknownKey),
        bad("x5u to the trap, attacker kid", with(attacker_kid.clone(), "x5u", x5u), UnknownKey),
        bad("jwk embedded, attacker kid", with(attacker_kid.clone(), "jwk", attacker_jwk.clone()), UnknownKey),
        bad("jwk embedded, trusted kid", with(Some(kid.clone()), "jwk", attacker_jwk.clone()), BadSignature),
        bad("jwk embedded, no kid", with(None, "jwk", attacker_jwk), BadSignature),
        bad("x5c embedded, trusted kid", with(Some(kid.clone()), "x5c", x5c), BadSignature),
        bad("jku + x5u + jwk + x5c, trusted kid", kit.attacker_signed(everything), BadSignature),
        bad("jku to the trap, no kid", with(None, "jku", jku), BadSignature),
    ]);

    // JWS extensions scopegate does not implement must refuse the token (RFC 7515 §4.1.11).
    rows.extend([
        bad("crit with an unknown extension", kit.header_with(|h| { h["crit"] = json!(["x-unknown"]); h["x-unknown"] = json!(true) }), UnsupportedHeader),
        bad("crit empty array", kit.header_with(|h| h["crit"] = json!([])), UnsupportedHeader),
        bad("b64: false (RFC 7797)", kit.header_with(|h| { h["b64"] = json!(false); h["crit"] = json!(["b64"]) }), UnsupportedHeader),
        bad("b64: false without crit", kit.header_with(|h| h["b64"] = json!(false)), UnsupportedHeader),
        bad("typ id+jwt (an ID token)", kit.header_with(|h| h["typ"] = json!("id+jwt")), WrongTokenType),
    ]);

    // Encrypted and nested tokens: a resource server cannot read a JWE, and a signed JWT whose
    // payload is another JWT has no claim set.
    let jwe_header = json!({ "alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": kid });
    let jwe = [b64(jwe_header.to_string().as_bytes()), b64(&[7; 256]), b64(&[1; 12]), b64(b"ciphertext"), b64(&[2; 16])].join(".");
    let nested_header = json!({ "alg": "ES384", "typ": "at+jwt", "cty": "JWT", "kid": kid });
    let nested = kit.raw(nested_header.to_string().as_bytes(), good.as_bytes());
    rows.extend([
        bad("JWE (five segments)", jwe, MalformedToken(Encrypted)),
        bad("nested JWT (cty: JWT, a JWT as payload)", nested, MalformedToken(Json)),
    ]);

    // Duplicate member names: refused at any depth, so no two parsers can read different claims.
    let header = kit.issuer.header().to_string();
    let header_dup = |member: &str| format!("{{{member},{}", &header[1..]);
    let claims = kit.claims().to_string();
    rows.extend([
        bad("duplicate alg in header (ES384, none)", kit.raw(header_dup(r#""alg":"none""#).as_bytes(), claims.as_bytes()), MalformedToken(Json)),
        bad("duplicate kid in header", kit.raw(header_dup(r#""kid":"rotated-away""#).as_bytes(), claims.as_bytes()), MalformedToken(Json)),
        bad("duplicate iss (evil first)", kit.raw_claims(&kit.claims_text_with(r#""iss":"https://evil.example/oidc""#)), MalformedToken(Json)),
        bad("duplicate iss (evil last)", kit.raw_claims(&format!(r#"{},"iss":"https://evil.example/oidc"}}"#, &claims[..claims.len() - 1])), MalformedToken(Json)),
        bad("duplicate iss spelled with a \\u escape", kit.raw_claims(&kit.claims_text_with(r#""i\u0073s":"https://evil.example/oidc""#)), MalformedToken(Json)),
        bad("duplicate aud", kit.raw_claims(&kit.claims_text_with(r#""aud":"https://other.api""#)), MalformedToken(Json)),
        bad("duplicate scope", kit.raw_claims(&kit.claims_text_with(r#""scope":"admin""#)), MalformedToken(Json)),
        bad("duplicate member in a nested claim", kit.raw_claims(&kit.claims_text_with(r#""org":{"roles":[],"roles":["admin"]}"#)), MalformedToken(Json)),
    ]);

    // NumericDates (RFC 7519 §2): JSON numbers, possibly fractional; anything else is malformed,
    // and values beyond any real date are refused rather than wrapped or saturated.
    rows.extend([
        bad("exp as a string", kit.claims_with(|c| c["exp"] = json!((now + 3600).to_string())), InvalidClaim("exp")),
        bad("nbf as a string", kit.claims_with(|c| c["nbf"] = json!(now.to_string())), InvalidClaim("nbf")),
        bad("iat as a string", kit.claims_with(|c| c["iat"] = json!(now.to_string())), InvalidClaim("iat")),
        bad("exp as a float in the past", kit.claims_with(|c| c["exp"] = json!(now as f64 - 3600.5)), Expired),
        bad("nbf as a float in the future", kit.claims_with(|c| c["nbf"] = json!(now as f64 + 3600.5)), NotYetValid),
        bad("exp negative", kit.claims_with(|c| c["exp"] = json!(-1)), InvalidClaim("exp")),
        bad("exp i64::MIN", kit.claims_with(|c| c["exp"] = json!(i64::MIN)), InvalidClaim("exp")),
        bad("exp i64::MAX (a token that never expires)", kit.claims_with(|c| c["exp"] = json!(i64::MAX)), InvalidClaim("exp")),
        bad("exp 10^15 + 1", kit.claims_with(|c| c["exp"] = json!(1_000_000_000_000_001_i64)), InvalidClaim("exp")),
        bad("exp u64::MAX", kit.claims_with(|c| c["exp"] = json!(u64::MAX)), InvalidClaim("exp")),
        bad("exp 1e16 as a float", kit.raw_claim("exp", "1e16"), InvalidClaim("exp")),
        bad("nbf negative", kit.claims_with(|c| c["nbf"] = json!(-1)), InvalidClaim("nbf")),
        bad("nbf -0.5", kit.raw_claim("nbf", "-0.5"), InvalidClaim("nbf")),
        bad("iat negative", kit.claims_with(|c| c["iat"] = json!(-86400)), InvalidClaim("iat")),
        bad("iat i64::MAX", kit.claims_with(|c| c["iat"] = json!(i64::MAX)), InvalidClaim("iat")),
        bad("exp = i64::MAX + 1", kit.raw_claim("exp", "9223372036854775808"), InvalidClaim("exp")),
        bad("exp beyond u64", kit.raw_claim("exp", "18446744073709551616"), InvalidClaim("exp")),
        bad("exp 1e300", kit.raw_claim("exp", "1e300"), InvalidClaim("exp")),
        bad("exp -1e300", kit.raw_claim("exp", "-1e300"), InvalidClaim("exp")),
        bad("nbf 1e300", kit.raw_claim("nbf", "1e300"), InvalidClaim("nbf")),
        bad("iat 1e300", kit.raw_claim("iat", "1e300"), InvalidClaim("iat")),
        bad("exp null", kit.claims_with(|c| c["exp"] = Value::Null), InvalidClaim("exp")),
        bad("exp true", kit.claims_with(|c| c["exp"] = json!(true)), InvalidClaim("exp")),
        bad("exp missing", kit.without_claim("exp"), MissingClaim("exp")),
    ]);

    // `iss` is compared exactly (no normalisation); `aud` is a string or an array of strings.
    rows.extend([
        bad("iss with a trailing slash", kit.claims_with(|c| c["iss"] = json!(format!("{iss}/"))), WrongIssuer),
        bad("iss in upper case", kit.claims_with(|c| c["iss"] = json!(iss.to_uppercase())), WrongIssuer),
        bad("iss as an array", kit.claims_with(|c| c["iss"] = json!([iss])), InvalidClaim("iss")),
        bad("iss missing", kit.without_claim("iss"), MissingClaim("iss")),
        bad("aud empty array", kit.claims_with(|c| c["aud"] = json!([])), WrongAudience),
        bad("aud a number", kit.claims_with(|c| c["aud"] = json!(42)), InvalidClaim("aud")),
        bad("aud an object", kit.claims_with(|c| c["aud"] = json!({ "aud": RESOURCE })), InvalidClaim("aud")),
        bad("aud null", kit.claims_with(|c| c["aud"] = Value::Null), InvalidClaim("aud")),
        bad("aud array with a number", kit.claims_with(|c| c["aud"] = json!([RESOURCE, 42])), InvalidClaim("aud")),
        bad("aud with a trailing slash", kit.claims_with(|c| c["aud"] = json!(format!("{RESOURCE}/"))), WrongAudience),
        bad("aud missing", kit.without_claim("aud"), MissingClaim("aud")),
    ]);

    // Encoding: segments that are not base64url, not UTF-8, not one JSON object.
    let header_bytes = kit.issuer.header().to_string();
    rows.extend([
        bad("header not UTF-8", kit.raw(b"\xff\xfe\xfd", claims.as_bytes()), MalformedToken(Json)),
        bad("claims with a non-UTF-8 byte in a string", kit.raw(header_bytes.as_bytes(), &[b"{\"x\":\"\xff\",", &claims.as_bytes()[1..]].concat()), MalformedToken(Json)),
        bad("claims with a lone surrogate escape", kit.raw_claims(&kit.claims_text_with(r#""x":"\ud800""#)), MalformedToken(Json)),
        bad("claims after a UTF-8 BOM", kit.raw(header_bytes.as_bytes(), format!("\u{feff}{claims}").as_bytes()), MalformedToken(Json)),
        bad("claims with trailing data", kit.raw_claims(&format!("{claims} {{}}")), MalformedToken(Json)),
        bad("claims a JSON array", kit.raw_claims(&format!("[{claims}]")), MalformedToken(Json)),
        bad("standard base64 '+' '/' in the header segment", format!("{h}+/.{p}.{s}"), MalformedToken(Base64)),
        bad("two segments", format!("{h}.{p}"), MalformedToken(NotJws)),
        bad("one segment", h.to_owned(), MalformedToken(NotJws)),
        bad("3 dots (four segments)", format!("{good}.{s}"), MalformedToken(NotJws)),
        bad("4 dots (five segments, not a JWE)", format!("{good}.{s}.{s}"), MalformedToken(Encrypted)),
        bad("empty segments ..", "..".to_owned(), MalformedToken(Json)),
        unsyntactic("padding '=' after the header segment", format!("{h}=.{p}.{s}"), InvalidCharacters, MalformedToken(Base64)),
        unsyntactic("'!' in the payload segment", format!("{h}.{p}!.{s}"), InvalidCharacters, MalformedToken(Base64)),
        unsyntactic("JWS JSON serialization", json!({ "payload": p, "signatures": [{ "protected": h, "signature": s }] }).to_string(), InvalidCharacters, MalformedToken(NotJws)),
    ]);

    // The request around the token.
    let forged = format!("{h}.{p}.{}", b64(&[0; 96]));
    let basic = format!("Basic {good}").into_bytes();
    rows.extend([
        bad_request("two Authorization headers (good, forged)", [bearer(&good), bearer(&forged)].concat(), SeveralHeaders),
        bad_request("two credentials in one header", vec![format!("Bearer {good}, Bearer {forged}").into_bytes()], NotOneToken),
        bad_request("tab between Bearer and the token", vec![format!("Bearer\t{good}").into_bytes()], WrongScheme),
        bad_request("Basic scheme carrying a JWT", vec![basic], WrongScheme),
        bad_request("Bearer with no token", vec![b"Bearer ".to_vec()], NotOneToken),
        bad_request("non-UTF-8 bytes in the header value", vec![b"Bearer \xff\xfe".to_vec()], InvalidCharacters),
    ]);

    // Limits: the token length cap comes before any decoding, JSON nesting is bounded.
    let mega = kit.claims_with(|c| c["pad"] = json!("x".repeat(768 * 1024)));
    let big = kit.claims_with(|c| c["pad"] = json!("x".repeat(48 * 1024)));
    rows.extend([
        bad("token just over the length limit (validly signed)", over_limit, MalformedToken(TooLong)),
        bad("Authorization header of 64 KB (validly signed token)", big, MalformedToken(TooLong)),
        too_large_for_hyper("token of 1 MB (validly signed)", mega),
        bad("claims nested one deeper than the limit", kit.nested_claims(MAX_DEPTH + 1), MalformedToken(Json)),
        bad("claims nested 5,000 deep", kit.nested_claims(5_000), MalformedToken(Json)),
        bad("header nested one deeper than the limit", kit.nested_header(MAX_DEPTH + 1), MalformedToken(Json)),
    ]);
    rows
}

/// Status, `error` attribute and body of one request.
async fn over_http(
    url: &str,
    values: &[Vec<u8>],
) -> Result<(u16, Option<Option<String>>, String), reqwest::Error> {
    let mut headers = HeaderMap::new();
    for value in values {
        headers.append(AUTHORIZATION, HeaderValue::from_bytes(value).unwrap());
    }
    let response = client().get(url).headers(headers).send().await?;
    let status = response.status().as_u16();
    let challenge = response.headers().get(WWW_AUTHENTICATE).map(|value| {
        let challenge = parse_challenge(value.to_str().unwrap());
        assert_eq!(challenge.scheme, "Bearer");
        challenge.get("error").map(str::to_owned)
    });
    Ok((status, challenge, response.text().await?))
}

/// The layer's own steps, in process: extraction, then validation.
async fn in_process(validator: &Validator, values: &[Vec<u8>]) -> Result<(), AuthError> {
    let mut headers = HeaderMap::new();
    for value in values {
        headers.append(AUTHORIZATION, HeaderValue::from_bytes(value).unwrap());
    }
    let token = bearer_token(&headers)?;
    validator.validate(token).await.map(drop)
}

async fn check(row: &Row, url: &str, validator: &Validator) {
    let name = &row.name;
    let outcome = tokio::time::timeout(LIMIT, in_process(validator, &row.values))
        .await
        .unwrap_or_else(|_| panic!("{name}: validation hangs"));
    assert_eq!(outcome, row.expected, "{name}: in process");
    if let Some((token, error)) = &row.bare {
        let outcome = tokio::time::timeout(LIMIT, validator.validate(token))
            .await
            .unwrap_or_else(|_| panic!("{name}: validation hangs"));
        assert_eq!(outcome.map(drop).as_ref(), Err(error), "{name}: bare token");
    }

    let reply = tokio::time::timeout(LIMIT, over_http(url, &row.values))
        .await
        .unwrap_or_else(|_| panic!("{name}: the server hangs"));
    // `cargo test attack_table -- --nocapture` prints the table as observed (SECURITY.md's).
    match &reply {
        Ok((status, challenge, _)) => {
            let error = challenge.clone().flatten().unwrap_or_else(|| "-".into());
            println!("{name:<64} | {status} | {error:<15} | {outcome:?}");
        }
        Err(error) => println!("{name:<64} | {error} | {outcome:?}"),
    }
    match (row.http, reply) {
        (Http::Status(status, error), Ok((got, challenge, body))) => {
            assert_eq!(got, status, "{name}: status; body {body}");
            if status == 200 {
                assert_eq!(challenge, None, "{name}: no challenge on success");
            } else {
                assert_eq!(
                    challenge,
                    Some(error.map(str::to_owned)),
                    "{name}: error attribute"
                );
            }
            let echoed = row
                .values
                .iter()
                .any(|v| v.len() > 16 && body.as_bytes().windows(v.len()).any(|w| w == v));
            assert!(!echoed, "{name}: the body never echoes the credentials");
        }
        (Http::RefusedByHyper, Ok((got, challenge, _))) => {
            assert_eq!((got, challenge), (431, None), "{name}: hyper's answer");
        }
        (Http::RefusedByHyper, Err(error)) => {
            assert!(!error.is_timeout(), "{name}: {error}");
        }
        (Http::Status(..), Err(error)) => panic!("{name}: no answer: {error}"),
    }
}

/// The table: every row over HTTP and in process; the trap must never be contacted and unknown
/// `kid`s must not cost a JWKS fetch each.
#[tokio::test]
async fn attack_table() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let rsa = issuer.add_key(SigningAlgorithm::RS256).unwrap();
    let ed = issuer.add_key(SigningAlgorithm::EdDSA).unwrap();
    let p256 = issuer.add_key(SigningAlgorithm::ES256).unwrap();
    let es384 = issuer.kid();
    issuer.use_key(&rsa);
    let rsa_public = (rsa.clone(), issuer.public_key_der(), issuer.public_jwk());
    issuer.use_key(&es384);
    let attacker = DevIssuer::builder().start().await.unwrap();
    let hits = Arc::new(AtomicU64::new(0));
    let trap_url = trap(Arc::clone(&hits), attacker.jwks()).await;
    let kit = Kit {
        issuer,
        rsa,
        rsa_public,
        ed,
        p256,
        attacker,
        trap: trap_url,
    };

    let validator = || Validator::new(config_for(&kit.issuer).build().unwrap()).unwrap();
    let served = validator();
    let direct = validator();
    served.warm_up().await.unwrap();
    direct.warm_up().await.unwrap();
    let app = Router::new()
        .route(
            "/read",
            get(|| async { "ok" }).route_layer(require_scopes(["read:products"])),
        )
        .route_layer(BearerAuthLayer::new(served));
    let url = format!("http://{}/read", serve(app).await);

    let started = Instant::now();
    let rows = rows(&kit);
    let mut names = std::collections::HashSet::new();
    for row in &rows {
        assert!(
            names.insert(row.name.as_str()),
            "duplicate row {}",
            row.name
        );
        check(row, &url, &direct).await;
    }

    assert_eq!(hits.load(Ordering::SeqCst), 0, "jku/x5u were fetched");
    // The trap does count: the zero above is not a broken counter.
    client().get(&kit.trap).send().await.unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(
        kit.attacker.jwks_requests(),
        0,
        "the attacker's JWKS was fetched"
    );
    assert_eq!(kit.issuer.discovery_requests(), 0);
    // Two validators: each one initial fetch, then at most one per unknown-kid cooldown (10 s).
    let allowed = 2 * (2 + started.elapsed().as_secs() / 10);
    assert!(
        kit.issuer.jwks_requests() <= allowed,
        "{} JWKS fetches for {} rows",
        kit.issuer.jwks_requests(),
        rows.len()
    );
}

/// The length cap is the first check: a validly signed 1 MB token is refused without being
/// decoded or verified, so refusing it costs about what refusing an empty string does.
#[tokio::test]
async fn the_length_cap_comes_before_any_decoding() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let validator = Validator::new(config_for(&issuer).build().unwrap()).unwrap();
    let mut claims = issuer.claims("read-app", RESOURCE, "read:products");
    claims["pad"] = json!("x".repeat(768 * 1024));
    let mega = issuer.mint(claims);
    let started = Instant::now();
    for _ in 0..1_000 {
        assert_eq!(
            validator.validate(&mega).await.unwrap_err(),
            MalformedToken(TooLong)
        );
    }
    // Decoding and verifying 1 MB takes milliseconds; a thousand refusals at the door take far
    // less than one second even on a loaded debug build.
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
    assert_eq!(issuer.jwks_requests(), 0, "no key was even looked up");
}

/// With a configured HMAC secret, HS* tokens are checked against that secret only: keyed with
/// the issuer's public key (in any form) they fail, and never reach the JWKS.
#[tokio::test]
async fn hmac_tokens_keyed_with_the_public_key_fail_even_when_hmac_is_allowed() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let config = config_for(&issuer)
        .symmetric_secret([7u8; 32])
        .build()
        .unwrap();
    let validator = Validator::new(config).unwrap();
    let claims = issuer.claims("read-app", RESOURCE, "read:products");
    let der = issuer.public_key_der();
    let jwk = issuer.public_jwk().to_string().into_bytes();
    for alg in ["HS256", "HS384", "HS512"] {
        let header = json!({ "alg": alg, "typ": "at+jwt", "kid": issuer.kid() });
        for secret in [pem(&der), der.clone(), jwk.clone()] {
            let token = sign_hmac(&secret, &header, &claims);
            assert_eq!(
                validator.validate(&token).await.unwrap_err(),
                BadSignature,
                "{alg}"
            );
        }
        let honest = sign_hmac(&[7u8; 32], &header, &claims);
        validator.validate(&honest).await.unwrap();
    }
    assert_eq!(issuer.jwks_requests(), 0);
}

/// Not a forgery but worth knowing: an ECDSA signature (r, s) has a twin (r, n - s) that
/// verifies too (JWS does not require low-s), on both crypto backends. Whoever holds a valid
/// token can respell it, so a token string is no identity: replay detection must key on `jti`.
#[tokio::test]
async fn ecdsa_twins_verify_so_token_strings_are_not_identities() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let validator = Validator::new(config_for(&issuer).build().unwrap()).unwrap();
    let good = issuer.mint(issuer.claims("read-app", RESOURCE, "read:products"));
    let sig = signature_of(&good);
    let (r, s) = sig.split_at(48);
    let n = hex(P384_ORDER);
    let mut twin_s = vec![0u8; 48];
    let mut borrow = 0;
    for i in (0..48).rev() {
        let d = i16::from(n[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(d < 0);
        twin_s[i] = d.rem_euclid(256) as u8;
    }
    let twin = Kit::resigned(&good, &cat(&[r, &twin_s]));
    assert_ne!(twin, good);
    let first = validator.validate(&good).await.unwrap();
    let second = validator.validate(&twin).await.unwrap();
    assert_eq!(first.claims().jwt_id(), second.claims().jwt_id());
}
