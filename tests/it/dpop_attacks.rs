//! The DPoP refusal table (RFC 9449, issue 15): each row is one request, sent over HTTP to an
//! axum app behind `BearerAuthLayer` on 127.0.0.1, and checked for its exact status, the
//! challenge carrying the error (scheme and `error`), and the exact `AuthError` (the body's
//! `error_description` is its text). The proofs are made by hand (`scopegate_tests::dpop`).
//! SECURITY.md lists the rows by name: keep the two in step.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::get;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use scopegate::dpop::{DpopConfig, DpopMode, Nonces, ProofProblem, ProofVerifier};
use scopegate::error::RequestProblem;
use scopegate::{AuthError, BearerAuthLayer, DpopRefusal, TestClock, Validator, require_scopes};
use scopegate_dev::{DevIssuer, SigningAlgorithm};
use scopegate_tests::dpop::{Proof, ProofKey, corrupt_signature};
use scopegate_tests::{RESOURCE, client, config_for, dev_issuer, parse_challenge, serve};
use serde_json::{Value, json};

/// One app per DPoP setting, all trusting the same dev issuer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum App {
    Allowed,
    Nonce,
    Disabled,
    Required,
}

struct Fixture {
    issuer: DevIssuer,
    addrs: [(App, SocketAddr); 4],
    clock: TestClock,
    nonce_verifier: ProofVerifier,
    key: ProofKey,
}

/// What a row must get.
#[derive(Debug)]
enum Expect {
    Ok,
    /// The refusal, and the scheme of the challenge that carries its error.
    Refused(AuthError, &'static str),
}

struct Row {
    name: &'static str,
    app: App,
    method: &'static str,
    authorization: Vec<String>,
    proofs: Vec<String>,
    expect: Expect,
}

async fn app(issuer: &DevIssuer, dpop: DpopConfig) -> SocketAddr {
    let validator = Validator::new(config_for(issuer).build().unwrap()).unwrap();
    let layer = BearerAuthLayer::new(validator).realm("shopping").dpop(dpop);
    let ok = || async { "ok" };
    let router = Router::new()
        .route(
            "/products",
            get(ok)
                .post(ok)
                .route_layer(require_scopes(["read:products"])),
        )
        .route_layer(layer);
    serve(router).await
}

impl Fixture {
    async fn start() -> Fixture {
        let issuer = dev_issuer(SigningAlgorithm::ES384).await;
        let clock = TestClock::at_system_time();
        let nonce_verifier = ProofVerifier::builder()
            .clock(clock.clone())
            .nonces(Nonces::with_secret(
                b"test nonce secret",
                Duration::from_secs(60),
            ))
            .build();
        let allowed = app(&issuer, DpopConfig::new(DpopMode::Allowed)).await;
        let nonce = app(
            &issuer,
            DpopConfig::new(DpopMode::Allowed).verifier(nonce_verifier.clone()),
        )
        .await;
        let disabled = app(&issuer, DpopConfig::new(DpopMode::Disabled)).await;
        let required = app(&issuer, DpopConfig::new(DpopMode::Required)).await;
        Fixture {
            issuer,
            addrs: [
                (App::Allowed, allowed),
                (App::Nonce, nonce),
                (App::Disabled, disabled),
                (App::Required, required),
            ],
            clock,
            nonce_verifier,
            key: ProofKey::generate(),
        }
    }

    fn url(&self, app: App) -> String {
        let addr = self.addrs.iter().find(|(a, _)| *a == app).unwrap().1;
        format!("http://{addr}/products")
    }

    /// A token with `read:products`, plus `cnf` when given.
    fn token(&self, cnf: Option<Value>) -> String {
        let mut claims = self.issuer.claims("read-app", RESOURCE, "read:products");
        if let Some(cnf) = cnf {
            claims["cnf"] = cnf;
        }
        self.issuer.mint(claims)
    }

    fn bound(&self) -> String {
        self.token(Some(json!({ "jkt": self.key.thumbprint() })))
    }
}

fn dpop(token: &str) -> Vec<String> {
    vec![format!("DPoP {token}")]
}

fn bearer(token: &str) -> Vec<String> {
    vec![format!("Bearer {token}")]
}

fn invalid(problem: ProofProblem) -> Expect {
    Expect::Refused(AuthError::Dpop(DpopRefusal::InvalidProof(problem)), "DPoP")
}

fn refused(refusal: DpopRefusal, scheme: &'static str) -> Expect {
    Expect::Refused(AuthError::Dpop(refusal), scheme)
}

fn unix(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

struct Answer {
    status: u16,
    challenges: Vec<String>,
    nonce: Option<String>,
    body: Value,
}

async fn send(url: &str, row: &Row) -> Answer {
    let method = http::Method::from_bytes(row.method.as_bytes()).unwrap();
    let mut request = client().request(method, url);
    for value in &row.authorization {
        request = request.header(AUTHORIZATION, value);
    }
    for proof in &row.proofs {
        request = request.header("dpop", proof);
    }
    let response = request.send().await.expect("answered");
    let headers = response.headers();
    let challenges = headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let nonce = headers
        .get("dpop-nonce")
        .map(|v| v.to_str().unwrap().to_owned());
    let status = response.status().as_u16();
    let body = serde_json::from_str(&response.text().await.unwrap()).unwrap_or(Value::Null);
    Answer {
        status,
        challenges,
        nonce,
        body,
    }
}

/// Checks one answer against its row; returns a line for the printed table.
fn check(row: &Row, answer: &Answer, algs: &str) -> String {
    let name = row.name;
    let schemes: Vec<_> = answer
        .challenges
        .iter()
        .map(|c| parse_challenge(c))
        .collect();
    // The challenges a mode sends: both where both schemes are accepted (RFC 9449 §7.1).
    let offered: Vec<_> = schemes.iter().map(|c| c.scheme.as_str()).collect();
    match &row.expect {
        Expect::Ok => {
            assert_eq!(answer.status, 200, "{name}: {:?}", answer.body);
            assert!(schemes.is_empty(), "{name}");
            format!("| {name} | 200 | accepted |")
        }
        Expect::Refused(error, scheme) => {
            assert_eq!(
                answer.status,
                error.status().as_u16(),
                "{name}: {:?}",
                answer.body
            );
            let expected_offer: &[&str] = match row.app {
                _ if error.retry_after().is_some() => &[],
                App::Disabled => &["Bearer"],
                App::Required => &["DPoP"],
                App::Allowed | App::Nonce => &["Bearer", "DPoP"],
            };
            assert_eq!(offered, expected_offer, "{name}: challenges");
            for challenge in &schemes {
                if challenge.scheme == "DPoP" {
                    assert_eq!(challenge.get("algs"), Some(algs), "{name}");
                }
                assert_eq!(challenge.get("realm"), Some("shopping"), "{name}");
                let carries = challenge.get("error");
                if challenge.scheme == *scheme {
                    assert_eq!(carries, error.code().map(|c| c.as_str()), "{name}");
                } else {
                    assert_eq!(carries, None, "{name}: the error is on one challenge only");
                }
            }
            assert_eq!(
                answer.body["error_description"],
                json!(error.to_string()),
                "{name}"
            );
            if let AuthError::Dpop(DpopRefusal::UseNonce { .. }) = error {
                assert!(
                    answer.nonce.is_some(),
                    "{name}: DPoP-Nonce with use_dpop_nonce"
                );
            }
            let code = error.code().map_or("none", |c| c.as_str());
            format!(
                "| {name} | {} `{code}` on `{scheme}` | `{error:?}` |",
                answer.status
            )
        }
    }
}

#[tokio::test]
async fn dpop_attack_table() {
    let f = Fixture::start().await;
    let algs = ProofVerifier::default().algs().to_owned();
    let url = f.url(App::Allowed);
    let bound = f.bound();
    let unbound = f.token(None);
    let proof = |method: &str, htu: &str, token: &str| f.key.proof(method, htu, Some(token));
    let good = proof("GET", &url, &bound);
    let now = scopegate_dev::unix_now();
    let other_key = ProofKey::generate();
    let port = url.split(':').nth(2).unwrap().split('/').next().unwrap();
    let other_port = port.parse::<u16>().unwrap().wrapping_add(1);

    let mut rows = vec![
        Row {
            name: "control: bound token, good proof",
            app: App::Allowed,
            method: "GET",
            authorization: dpop(&bound),
            proofs: vec![good.clone()],
            expect: Expect::Ok,
        },
        Row {
            name: "control: the same (now cached) token with a fresh proof",
            app: App::Allowed,
            method: "GET",
            authorization: dpop(&bound),
            proofs: vec![proof("GET", &url, &bound)],
            expect: Expect::Ok,
        },
        Row {
            name: "control: unbound token as Bearer",
            app: App::Allowed,
            method: "GET",
            authorization: bearer(&unbound),
            proofs: vec![],
            expect: Expect::Ok,
        },
        Row {
            name: "replayed jti (the control's proof again)",
            app: App::Allowed,
            method: "GET",
            authorization: dpop(&bound),
            proofs: vec![good.clone()],
            expect: refused(DpopRefusal::Replayed, "DPoP"),
        },
        Row {
            name: "proof missing",
            app: App::Allowed,
            method: "GET",
            authorization: dpop(&bound),
            proofs: vec![],
            expect: invalid(ProofProblem::Missing),
        },
        Row {
            name: "two DPoP headers",
            app: App::Allowed,
            method: "GET",
            authorization: dpop(&bound),
            proofs: vec![proof("GET", &url, &bound), proof("GET", &url, &bound)],
            expect: invalid(ProofProblem::SeveralHeaders),
        },
        Row {
            name: "proof not a JWT",
            app: App::Allowed,
            method: "GET",
            authorization: dpop(&bound),
            proofs: vec!["not.a-proof".into()],
            expect: invalid(ProofProblem::Malformed),
        },
        Row {
            name: "typ JWT instead of dpop+jwt",
            app: App::Allowed,
            method: "GET",
            authorization: dpop(&bound),
            proofs: vec![Proof::new(&f.key, "GET", &url, Some(&bound))
                .header("typ", json!("JWT"))
                .sign()],
            expect: invalid(ProofProblem::WrongType),
        },
        Row {
            name: "typ missing",
            app: App::Allowed,
            method: "GET",
            authorization: dpop(&bound),
            proofs: vec![Proof::new(&f.key, "GET", &url, Some(&bound))
                .header("typ", Value::Null)
                .sign()],
            expect: invalid(ProofProblem::WrongType),
        },
        Row {
            name: "alg none, no signature",
            app: App::Allowed,
            method: "GET",
            authorization: dpop(&bound),
            proofs: vec![Proof::new(&f.key, "GET", &url, Some(&bound))
                .header("alg", json!("none"))
                .unsigned()],
            expect: invalid(ProofProblem::DisallowedAlgorithm),
        },
        Row {
            name: "alg HS256 keyed with the public JWK",
            app: App::Allowed,
            method: "GET",
            authorization: dpop(&bound),
            proofs: vec![Proof::new(&f.key, "GET", &url, Some(&bound))
                .header("alg", json!("HS256"))
                .sign_hmac(f.key.public_jwk().to_string().as_bytes())],
            expect: invalid(ProofProblem::DisallowedAlgorithm),
        },
        Row {
            name: "alg ES384 with a P-256 key",
            app: App::Allowed,
            method: "GET",
            authorization: dpop(&bound),
            proofs: vec![Proof::new(&f.key, "GET", &url, Some(&bound))
                .header("alg", json!("ES384"))
                .sign()],
            expect: invalid(ProofProblem::BadKey),
        },
        Row {
            name: "private key in jwk",
            app: App::Allowed,
            method: "GET",
            authorization: dpop(&bound),
            proofs: vec![Proof::new(&f.key, "GET", &url, Some(&bound))
                .header("jwk", f.key.private_jwk())
                .sign()],
            expect: invalid(ProofProblem::PrivateKey),
        },
        Row {
            name: "jwk missing",
            app: App::Allowed,
            method: "GET",
            authorization: dpop(&bound),
            proofs: vec![Proof::new(&f.key, "GET", &url, Some(&bound))
                .header("jwk", Value::Null)
                .sign()],
            expect: invalid(ProofProblem::BadKey),
        },
        Row {
            name: "bad signature",
            app: App::Allowed,
            method: "GET",
            authorization: dpop(&bound),
            proofs: vec![corrupt_signature(&proof("GET", &url, &bound))],
            expect: invalid(ProofProblem::BadSignature),
        },
        Row {
            name: "jwk of another key than the signer's",
            app: App::Allowed,
            method: "GET",
            authorization: dpop(&bound),
            proofs: vec![Proof::new(&other_key, "GET", &url, Some(&bound))
                .header("jwk", f.key.public_jwk())
                .sign()],
            expect: invalid(ProofProblem::BadSignature),
        },
        Row {
            name: "wrong htm (POST proof on GET)",
            app: App::Allowed,
            method: "GET",
            authorization: dpop(&bound),
            proofs: vec![proof("POST", &url, &bound)],
            expect: invalid(ProofProblem::WrongMethod),
        },
        Row {
            name: "wrong htu (another path)",
            app: App::Allowed,
            method: "GET",
            authorization: dpop(&bound),
            proofs: vec![proof("GET", &url.replace("/products", "/orders"), &bound)],
            expect: invalid(ProofProblem::WrongUri),
        },
        Row {
            name: "htu with a query",
            app: App::Allowed,
            method: "GET",
            authorization: dpop(&bound),
            proofs: vec![proof("GET", &format!("{url}?limit=1"), &bound)],
            expect: invalid(ProofProblem::UriWithQuery),
        },
        Row {
            name: "htu with a different port",
            app: App::Allowed,
            method: "GET",
            authorization: dpop(&bound),
            proofs: vec![proof(
                "GET",
                &url.replace(&format!(":{port}/"), &format!(":{other_port}/")),
                &bound,
            )],
            expect: invalid(ProofProblem::WrongUri),
        },
        Row {
            name: "htu https for an http request",
            app: App::Allowed,
            method: "GET",
            authorization: dpop(&bound),
            proofs: vec![proof("GET", &url.replace("http:", "https:"), &bound)],
            expect: invalid(ProofProblem::WrongUri),
        },
        Row {
            name: "iat too old (now - 120 s)",
            app: App::Allowed,
            method: "GET",
            authorization: dpop(&bound),
            proofs: vec![Proof::new(&f.key, "GET", &url, Some(&bound))
                .claim("iat", json!(now - 120))
                .sign()],
            expect: invalid(ProofProblem::TooOld),
        },
        Row {
            name: "iat too far in the future (now + 120 s)",
            app: App::Allowed,
            method: "GET",
            authorization: dpop(&bound),
            proofs: vec![Proof::new(&f.key, "GET", &url, Some(&bound))
                .claim("iat", json!(now + 120))
                .sign()],
            expect: invalid(ProofProblem::InFuture),
        },
        Row {
            name: "jti missing",
            app: App::Allowed,
            method: "GET",
            authorization: dpop(&bound),
            proofs: vec![Proof::new(&f.key, "GET", &url, Some(&bound))
                .claim("jti", Value::Null)
                .sign()],
            expect: invalid(ProofProblem::MissingClaim("jti")),
        },
        Row {
            name: "ath missing",
            app: App::Allowed,
            method: "GET",
            authorization: dpop(&bound),
            proofs: vec![f.key.proof("GET", &url, None)],
            expect: invalid(ProofProblem::MissingAth),
        },
        Row {
            name: "ath of another token",
            app: App::Allowed,
            method: "GET",
            authorization: dpop(&bound),
            proofs: vec![proof("GET", &url, &unbound)],
            expect: invalid(ProofProblem::WrongAth),
        },
        Row {
            name: "proof key different from cnf.jkt",
            app: App::Allowed,
            method: "GET",
            authorization: dpop(&bound),
            proofs: vec![other_key.proof("GET", &url, Some(&bound))],
            expect: refused(DpopRefusal::KeyMismatch, "DPoP"),
        },
        Row {
            name: "bound token sent as Bearer",
            app: App::Allowed,
            method: "GET",
            authorization: bearer(&bound),
            proofs: vec![],
            expect: refused(DpopRefusal::BoundTokenAsBearer, "Bearer"),
        },
        Row {
            name: "bound token sent as Bearer, with a good proof",
            app: App::Allowed,
            method: "GET",
            authorization: bearer(&bound),
            proofs: vec![proof("GET", &url, &bound)],
            expect: refused(DpopRefusal::BoundTokenAsBearer, "Bearer"),
        },
        Row {
            name: "DPoP scheme with an unbound token",
            app: App::Allowed,
            method: "GET",
            authorization: dpop(&unbound),
            proofs: vec![proof("GET", &url, &unbound)],
            expect: refused(DpopRefusal::UnboundToken, "DPoP"),
        },
        Row {
            name: "cnf x5t#S256 (mTLS binding, not checkable here) with the DPoP scheme",
            app: App::Allowed,
            method: "GET",
            authorization: dpop(&f.token(Some(json!({ "x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2" })))),
            proofs: vec![],
            expect: refused(DpopRefusal::UnsupportedConfirmation, "DPoP"),
        },
        Row {
            name: "cnf jkt and x5t#S256 together",
            app: App::Allowed,
            method: "GET",
            authorization: bearer(&f.token(Some(json!({ "jkt": f.key.thumbprint(), "x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2" })))),
            proofs: vec![],
            expect: refused(DpopRefusal::UnsupportedConfirmation, "Bearer"),
        },
        Row {
            name: "cnf not an object",
            app: App::Allowed,
            method: "GET",
            authorization: bearer(&f.token(Some(json!("jkt")))),
            proofs: vec![],
            expect: Expect::Refused(AuthError::InvalidClaim("cnf"), "Bearer"),
        },
        Row {
            name: "Authorization: DPoP with two tokens",
            app: App::Allowed,
            method: "GET",
            authorization: vec![format!("DPoP {bound} {bound}")],
            proofs: vec![proof("GET", &url, &bound)],
            expect: Expect::Refused(
                AuthError::InvalidRequest(RequestProblem::NotOneToken),
                "Bearer",
            ),
        },
        // disabled: Bearer only, and still never fail open on cnf.
        Row {
            name: "disabled: bound token sent as Bearer",
            app: App::Disabled,
            method: "GET",
            authorization: bearer(&bound),
            proofs: vec![],
            expect: refused(DpopRefusal::BoundTokenAsBearer, "Bearer"),
        },
        Row {
            name: "disabled: cnf x5t#S256 sent as Bearer",
            app: App::Disabled,
            method: "GET",
            authorization: bearer(&f.token(Some(json!({ "x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2" })))),
            proofs: vec![],
            expect: refused(DpopRefusal::UnsupportedConfirmation, "Bearer"),
        },
        Row {
            name: "disabled: the DPoP scheme",
            app: App::Disabled,
            method: "GET",
            authorization: dpop(&bound),
            proofs: vec![f.key.proof("GET", &f.url(App::Disabled), Some(&bound))],
            expect: Expect::Refused(
                AuthError::InvalidRequest(RequestProblem::WrongScheme),
                "Bearer",
            ),
        },
        Row {
            name: "disabled control: unbound token as Bearer",
            app: App::Disabled,
            method: "GET",
            authorization: bearer(&unbound),
            proofs: vec![],
            expect: Expect::Ok,
        },
        // required: DPoP only.
        Row {
            name: "required: unbound token as Bearer",
            app: App::Required,
            method: "GET",
            authorization: bearer(&unbound),
            proofs: vec![],
            expect: refused(DpopRefusal::Required, "DPoP"),
        },
        Row {
            name: "required: no token at all",
            app: App::Required,
            method: "GET",
            authorization: vec![],
            proofs: vec![],
            expect: Expect::Refused(AuthError::MissingToken, "DPoP"),
        },
        Row {
            name: "required control: bound token, good proof",
            app: App::Required,
            method: "GET",
            authorization: dpop(&bound),
            proofs: vec![f.key.proof("GET", &f.url(App::Required), Some(&bound))],
            expect: Expect::Ok,
        },
    ];

    // Server nonces: missing, stale, then current.
    let nonce_url = f.url(App::Nonce);
    let with_nonce = |nonce: Option<String>| {
        let iat = unix(scopegate::Clock::now(&f.clock));
        let mut proof =
            Proof::new(&f.key, "GET", &nonce_url, Some(&bound)).claim("iat", json!(iat));
        if let Some(nonce) = nonce {
            proof = proof.claim("nonce", json!(nonce));
        }
        proof.sign()
    };
    rows.push(Row {
        name: "nonce missing",
        app: App::Nonce,
        method: "GET",
        authorization: dpop(&bound),
        proofs: vec![with_nonce(None)],
        expect: refused(
            DpopRefusal::UseNonce {
                nonce: f.nonce_verifier.current_nonce().unwrap().into(),
            },
            "DPoP",
        ),
    });
    rows.push(Row {
        name: "nonce of another server",
        app: App::Nonce,
        method: "GET",
        authorization: dpop(&bound),
        proofs: vec![with_nonce(Some(
            ProofVerifier::builder()
                .nonces(Nonces::new(Duration::from_secs(60)))
                .build()
                .current_nonce()
                .unwrap(),
        ))],
        expect: refused(
            DpopRefusal::UseNonce {
                nonce: f.nonce_verifier.current_nonce().unwrap().into(),
            },
            "DPoP",
        ),
    });
    rows.push(Row {
        name: "nonce control: current nonce",
        app: App::Nonce,
        method: "GET",
        authorization: dpop(&bound),
        proofs: vec![with_nonce(f.nonce_verifier.current_nonce())],
        expect: Expect::Ok,
    });

    let mut table = vec![
        "| row | answer | AuthError |".to_owned(),
        "|---|---|---|".to_owned(),
    ];
    for row in &rows {
        let answer = send(&f.url(row.app), row).await;
        table.push(check(row, &answer, &algs));
    }

    // Stale: the nonce of two periods ago.
    let old = f.nonce_verifier.current_nonce().unwrap();
    f.clock.advance(Duration::from_secs(120));
    let stale = Row {
        name: "nonce stale (two periods old)",
        app: App::Nonce,
        method: "GET",
        authorization: dpop(&bound),
        proofs: vec![with_nonce(Some(old))],
        expect: refused(
            DpopRefusal::UseNonce {
                nonce: f.nonce_verifier.current_nonce().unwrap().into(),
            },
            "DPoP",
        ),
    };
    let answer = send(&nonce_url, &stale).await;
    table.push(check(&stale, &answer, &algs));
    let fresh = answer.nonce.clone().unwrap();
    assert_eq!(Some(fresh.clone()), f.nonce_verifier.current_nonce());

    // Rotated: the previous period's nonce is accepted, and the answer carries the new one.
    f.clock.advance(Duration::from_secs(60));
    let rotated = Row {
        name: "nonce control: previous nonce accepted, the new one sent",
        app: App::Nonce,
        method: "GET",
        authorization: dpop(&bound),
        proofs: vec![with_nonce(Some(fresh.clone()))],
        expect: Expect::Ok,
    };
    let answer = send(&nonce_url, &rotated).await;
    table.push(check(&rotated, &answer, &algs));
    let next = answer
        .nonce
        .expect("DPoP-Nonce on the success after a rotation");
    assert_ne!(next, fresh);
    assert_eq!(Some(next), f.nonce_verifier.current_nonce());

    println!("{}", table.join("\n"));
}

/// The verified-token cache still spares the access token's signature on DPoP requests, while
/// every proof is checked and recorded: five requests, one token verification, five proofs, and
/// the first proof sent again is refused although its token is cached.
#[tokio::test]
async fn the_token_is_verified_once_and_every_proof_every_time() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let counters = std::sync::Arc::new(scopegate_tests::Counters::default());
    let validator =
        counters.build(Validator::builder().issuer(config_for(&issuer).build().unwrap()));
    let router = Router::new()
        .route(
            "/products",
            get(|| async { "ok" }).route_layer(require_scopes(["read:products"])),
        )
        .route_layer(BearerAuthLayer::new(validator));
    let url = format!("http://{}/products", serve(router).await);
    let key = ProofKey::generate();
    let token = bound_reader_token(&issuer, &key);
    let first = key.proof("GET", &url, Some(&token));
    let send = |proof: String| dpop_get(&url, &token, proof);
    assert_eq!(send(first.clone()).await.unwrap().status(), 200);
    for _ in 0..4 {
        let fresh = key.proof("GET", &url, Some(&token));
        assert_eq!(send(fresh).await.unwrap().status(), 200);
    }
    assert_eq!(
        counters.signature_checks(),
        1,
        "the token's signature, once"
    );
    assert_eq!(send(first).await.unwrap().status(), 401);
    assert_eq!(counters.signature_checks(), 1);
}

/// A route's own scoped layer on a DPoP request: the scopes are judged once the token and its
/// proof hold, so a bad proof is a 401 whatever the token's scopes, and a good proof with a
/// token lacking the route's scope is a 403 on the `DPoP` challenge.
#[tokio::test]
async fn a_scoped_route_judges_scopes_after_the_proof() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let validator = Validator::new(config_for(&issuer).build().unwrap()).unwrap();
    let auth = BearerAuthLayer::new(validator);
    let router = Router::new().route(
        "/products",
        get(|| async { "ok" }).route_layer(auth.require_scopes(["write:products"])),
    );
    let url = format!("http://{}/products", serve(router).await);
    let key = ProofKey::generate();
    let token = bound_reader_token(&issuer, &key);
    let send = |proof: String| dpop_get(&url, &token, proof);
    let other_key = ProofKey::generate();
    let wrong_key = send(other_key.proof("GET", &url, Some(&token)))
        .await
        .unwrap();
    assert_eq!(wrong_key.status(), 401);
    for _ in 0..2 {
        // First sight, then the token from the cache: the same answer.
        let lacking = send(key.proof("GET", &url, Some(&token))).await.unwrap();
        assert_eq!(lacking.status(), 403);
        // The error goes on the challenge of the scheme the request used (RFC 9449 §7.1).
        let challenges: Vec<&str> = lacking
            .headers()
            .get_all("www-authenticate")
            .iter()
            .map(|value| value.to_str().unwrap())
            .collect();
        let dpop = challenges.iter().find(|c| c.starts_with("DPoP "));
        assert!(
            dpop.is_some_and(|c| c.contains(r#"error="insufficient_scope""#)
                && c.contains(r#"scope="write:products""#)),
            "{challenges:?}"
        );
    }
}

/// A `read:products` token bound to `key` (`cnf.jkt`).
fn bound_reader_token(issuer: &DevIssuer, key: &ProofKey) -> String {
    let mut claims = issuer.claims("read-app", RESOURCE, "read:products");
    claims["cnf"] = json!({ "jkt": key.thumbprint() });
    issuer.mint(claims)
}

/// `GET url` with `token` on the `DPoP` scheme and `proof`.
async fn dpop_get(url: &str, token: &str, proof: String) -> reqwest::Result<reqwest::Response> {
    client()
        .get(url)
        .header(AUTHORIZATION, format!("DPoP {token}"))
        .header("dpop", proof)
        .send()
        .await
}
