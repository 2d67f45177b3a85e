//! Opaque tokens by RFC 7662 introspection, over loopback against the dev issuer: the verdicts
//! on every kind of response, one call per token under concurrency, revocation within the
//! cache TTL (on a `TestClock`), and the bound on calls in flight under a flood.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use futures_util::StreamExt as _;
use scopegate::extract::Auth;
use scopegate::introspect::{ClientAuthMethod, IntrospectionConfig, IntrospectionPolicy};
use scopegate::{AuthError, BearerAuthLayer, TestClock, Validator, require_scopes};
use scopegate_dev::{DevClient, DevIssuer, JwksFault, OpaqueTokens, unix_now};
use scopegate_tests::dpop::ProofKey;
use scopegate_tests::{
    Counters, RESOURCE, client, client_credentials, config_for, get as get_with, serve,
};
use serde_json::{Value, json};

/// The API's own credentials at the issuer, for introspection.
const API_ID: &str = "shopping-api";
const API_SECRET: &str = "shopping-api-secret";

async fn issuer() -> DevIssuer {
    DevIssuer::builder()
        .client(DevClient::new(
            "read-app",
            "read-secret",
            RESOURCE,
            ["read:products"],
        ))
        .client(DevClient::new(API_ID, API_SECRET, RESOURCE, [""; 0]))
        .opaque_tokens(OpaqueTokens::WithoutResource)
        .start()
        .await
        .unwrap()
}

fn introspection() -> IntrospectionConfig {
    IntrospectionConfig::new(API_ID, API_SECRET)
}

fn validator(issuer: &DevIssuer, config: IntrospectionConfig, clock: &TestClock) -> Validator {
    Validator::builder()
        .issuer(config_for(issuer).introspection(config).build().unwrap())
        .clock(clock.clone())
        .build()
        .unwrap()
}

/// `/products` needs `read:products` and answers with the context's client id.
async fn api(validator: Validator) -> String {
    let app = Router::new()
        .route(
            "/products",
            get(|auth: Auth| async move { auth.client_id().unwrap_or("?").to_owned() })
                .route_layer(require_scopes(["read:products"])),
        )
        .route_layer(BearerAuthLayer::new(validator));
    format!("http://{}/products", serve(app).await)
}

/// An opaque token by the client_credentials grant without `resource`, as Logto issues one.
async fn opaque_token(issuer: &DevIssuer, id: &str, secret: &str) -> String {
    let body = client_credentials(&issuer.token_endpoint(), id, secret, &[]).await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(token.matches('.').count(), 0, "opaque, not a JWT: {token}");
    token
}

/// What the endpoint answers in a row of the table.
enum Answer {
    /// The issuer's real answer for a real token.
    Real,
    /// The issuer's real answer for a token it never issued.
    Unknown,
    /// This JSON document, with status 200.
    Document(Value),
    /// A fault of the endpoint.
    Fault(JwksFault),
    /// Nobody listens at the endpoint.
    Down,
    /// The answer comes after the validator's timeout.
    Slow,
}

#[tokio::test]
async fn every_kind_of_answer_gets_its_status() {
    let issuer = issuer().await;
    let now = unix_now();
    let active = |extra: Value| {
        let mut doc = json!({
            "active": true, "iss": issuer.issuer(), "client_id": "read-app",
            "scope": "read:products", "exp": now + 600, "aud": RESOURCE,
        });
        for (name, value) in extra.as_object().unwrap() {
            if value.is_null() {
                doc.as_object_mut().unwrap().remove(name);
            } else {
                doc[name] = value.clone();
            }
        }
        Answer::Document(doc)
    };
    let huge = json!({ "active": true, "padding": "x".repeat(70 * 1024) });
    // (what, answer, strict audience, status, RFC 6750 error)
    let invalid = Some("invalid_token");
    #[rustfmt::skip]
    let rows: Vec<(&str, Answer, bool, u16, Option<&str>)> = vec![
        ("active with scopes", Answer::Real, false, 200, None),
        ("inactive", Answer::Unknown, false, 401, invalid),
        ("wrong iss", active(json!({"iss": "https://evil.example"})), false, 401, invalid),
        ("aud missing, strict", active(json!({"aud": null})), true, 401, invalid),
        ("aud missing, lenient", active(json!({"aud": null})), false, 200, None),
        ("aud wrong", active(json!({"aud": "https://other.api"})), false, 401, invalid),
        ("aud wrong, strict", active(json!({"aud": "https://other.api"})), true, 401, invalid),
        ("expired exp", active(json!({"exp": now - 3600})), false, 401, invalid),
        ("nbf ahead", active(json!({"nbf": now + 3600})), false, 401, invalid),
        ("active as a string", active(json!({"active": "true"})), false, 401, invalid),
        ("no active", active(json!({"active": null})), false, 401, invalid),
        ("scope as an array", active(json!({"scope": ["read:products"]})), false, 401, invalid),
        ("a refresh token", active(json!({"token_type": "refresh_token"})), false, 401, invalid),
        ("bound (cnf.jkt), sent as Bearer", active(json!({"cnf": {"jkt": "abc"}})), false, 401, invalid),
        ("bound by mTLS (cnf.x5t#S256)", active(json!({"cnf": {"x5t#S256": "abc"}})), false, 401, invalid),
        ("cnf not an object", active(json!({"cnf": "abc"})), false, 401, invalid),
        ("without the scope", active(json!({"scope": "write:products"})), false, 403, Some("insufficient_scope")),
        ("malformed JSON", Answer::Fault(JwksFault::Body(b"{\"active\": tru".to_vec())), false, 503, None),
        ("an array, not an object", Answer::Fault(JwksFault::Body(b"[true]".to_vec())), false, 503, None),
        ("duplicate members", Answer::Fault(JwksFault::Body(br#"{"active":false,"active":true}"#.to_vec())), false, 503, None),
        ("oversized", Answer::Document(huge), false, 503, None),
        ("5xx", Answer::Fault(JwksFault::Status(502)), false, 503, None),
        ("credentials refused (401)", Answer::Fault(JwksFault::Status(401)), false, 503, None),
        ("endpoint down", Answer::Down, false, 503, None),
        ("slow", Answer::Slow, false, 503, None),
    ];
    let clock = TestClock::at_system_time();
    for (what, answer, strict, status, error) in rows {
        let mut config = introspection().timeout(Duration::from_millis(500));
        if strict {
            config = config.require_audience();
        }
        issuer.set_introspection_fault(None);
        issuer.set_introspection_delay(Duration::ZERO);
        let token = match answer {
            Answer::Real => opaque_token(&issuer, "read-app", "read-secret").await,
            Answer::Unknown => "never-issued-0123456789abcdef".to_owned(),
            Answer::Document(doc) => {
                let body = serde_json::to_vec(&doc).unwrap();
                issuer.set_introspection_fault(Some(JwksFault::Body(body)));
                format!("opaque-{}", what.len())
            }
            Answer::Fault(fault) => {
                issuer.set_introspection_fault(Some(fault));
                "opaque-fault".to_owned()
            }
            Answer::Down => {
                let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                let closed = listener.local_addr().unwrap();
                drop(listener);
                config = config.endpoint(format!("http://{closed}/oidc/token/introspection"));
                "opaque-down".to_owned()
            }
            Answer::Slow => {
                issuer.set_introspection_delay(Duration::from_secs(5));
                "opaque-slow".to_owned()
            }
        };
        let url = api(validator(&issuer, config, &clock)).await;
        let reply = get_with(&url, Some(&token)).await;
        assert_eq!(reply.status, status, "{what}: {}", reply.text);
        assert_eq!(reply.error(), error, "{what}");
        assert_eq!(reply.retry_after.is_some(), status == 503, "{what}");
        if status == 200 {
            assert_eq!(reply.text, "read-app", "{what}");
        }
    }
}

/// An answer's `cnf.jkt` binds the opaque token as a JWT's does (RFC 9449 §6.2): it works with
/// a fresh proof of that key, and not with a replayed proof, another key's proof, or as Bearer.
#[tokio::test]
async fn an_introspected_binding_needs_a_proof_of_its_key() {
    let issuer = issuer().await;
    let key = ProofKey::generate();
    let doc = json!({
        "active": true, "iss": issuer.issuer(), "client_id": "read-app",
        "scope": "read:products", "exp": unix_now() + 600, "aud": RESOURCE,
        "cnf": {"jkt": key.thumbprint()},
    });
    issuer.set_introspection_fault(Some(JwksFault::Body(serde_json::to_vec(&doc).unwrap())));
    let clock = TestClock::at_system_time();
    let url = api(validator(&issuer, introspection(), &clock)).await;
    let token = "opaque-bound-token";
    let http = client();
    let send = |scheme: &'static str, proof: Option<String>| {
        let mut request = http
            .get(&url)
            .header("authorization", format!("{scheme} {token}"));
        if let Some(proof) = proof {
            request = request.header("dpop", proof);
        }
        request.send()
    };
    let proof = key.proof("GET", &url, Some(token));
    let accepted = send("DPoP", Some(proof.clone())).await.unwrap();
    assert_eq!(accepted.status(), 200);
    assert_eq!(accepted.text().await.unwrap(), "read-app");
    let replayed = send("DPoP", Some(proof)).await.unwrap();
    assert_eq!(replayed.status(), 401, "a replayed proof");
    let other = ProofKey::generate().proof("GET", &url, Some(token));
    let stranger = send("DPoP", Some(other)).await.unwrap();
    assert_eq!(stranger.status(), 401, "another key's proof");
    let bearer = send("Bearer", None).await.unwrap();
    assert_eq!(bearer.status(), 401, "a bound token as Bearer");
    assert!(
        bearer.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
}

#[tokio::test]
async fn client_secret_post_and_discovery_both_work() {
    let issuer = issuer().await;
    let clock = TestClock::at_system_time();
    let token = opaque_token(&issuer, "read-app", "read-secret").await;
    let config = introspection()
        .auth_method(ClientAuthMethod::ClientSecretPost)
        .endpoint(issuer.introspection_endpoint());
    let context = validator(&issuer, config, &clock)
        .validate(&token)
        .await
        .unwrap();
    assert!(context.is_introspected());
    assert_eq!(context.algorithm(), None);
    assert!(context.has_scope("read:products"));
    // Wrong credentials: the endpoint refuses us, which is no verdict on the token.
    let wrong = IntrospectionConfig::new(API_ID, "not-the-secret");
    let error = validator(&issuer, wrong, &clock)
        .validate(&token)
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::IntrospectionUnavailable { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_first_sights_make_one_call() {
    let issuer = issuer().await;
    let clock = TestClock::at_system_time();
    let url = api(validator(&issuer, introspection(), &clock)).await;
    let token = opaque_token(&issuer, "read-app", "read-secret").await;
    // The one call takes a while, so that the requests really overlap it.
    issuer.set_introspection_delay(Duration::from_millis(300));
    let http = client();
    let replies = futures_util::future::join_all((0..200).map(|_| {
        let request = http.get(&url).bearer_auth(&token);
        async move { request.send().await.unwrap().status().as_u16() }
    }))
    .await;
    assert!(replies.iter().all(|s| *s == 200), "{replies:?}");
    assert_eq!(issuer.introspection_requests(), 1);
}

#[tokio::test]
async fn a_revoked_token_is_refused_within_the_ttl_and_not_before() {
    let issuer = issuer().await;
    let clock = TestClock::at_system_time();
    let ttl = Duration::from_secs(60);
    let cached = validator(&issuer, introspection().cache_ttl(ttl), &clock);
    let uncached = validator(&issuer, introspection().cache_ttl(Duration::ZERO), &clock);
    let token = opaque_token(&issuer, "read-app", "read-secret").await;
    cached.validate(&token).await.unwrap();
    uncached.validate(&token).await.unwrap();
    assert_eq!(issuer.introspection_requests(), 2);

    // Revoked by its own client, RFC 7009.
    let revoked = client()
        .post(issuer.revocation_endpoint())
        .basic_auth("read-app", Some("read-secret"))
        .form(&[
            ("token", token.as_str()),
            ("token_type_hint", "access_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);

    // Without a cache: refused at once.
    assert_eq!(
        uncached.validate(&token).await.unwrap_err(),
        AuthError::InactiveToken
    );
    // With the cache: accepted until the TTL has passed, not one call more...
    clock.advance(ttl - Duration::from_secs(1));
    cached
        .validate(&token)
        .await
        .expect("cached, within the TTL");
    assert_eq!(issuer.introspection_requests(), 3);
    // ...and refused once it has.
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        cached.validate(&token).await.unwrap_err(),
        AuthError::InactiveToken
    );
    assert_eq!(issuer.introspection_requests(), 4);
}

#[tokio::test]
async fn always_introspects_jwts_too_and_sees_their_revocation() {
    let issuer = issuer().await;
    let clock = TestClock::at_system_time();
    let config = introspection()
        .policy(IntrospectionPolicy::Always)
        .cache_ttl(Duration::from_secs(10));
    let validator = validator(&issuer, config, &clock);
    let (endpoint, resource) = (issuer.token_endpoint(), [("resource", RESOURCE)]);
    let body = client_credentials(&endpoint, "read-app", "read-secret", &resource).await;
    let jwt = body["access_token"].as_str().unwrap();
    let context = validator.validate(jwt).await.unwrap();
    assert!(context.is_introspected());
    assert!(context.algorithm().is_some(), "verified locally first");
    assert!(issuer.revoke(jwt));
    validator.validate(jwt).await.expect("cached for 10 s");
    clock.advance(Duration::from_secs(10));
    assert_eq!(
        validator.validate(jwt).await.unwrap_err(),
        AuthError::InactiveToken
    );
    // A JWT the issuer never issued is still judged locally first: no call for a forgery.
    let calls = issuer.introspection_requests();
    // ES384: 96 signature bytes, no spare bits in the last character.
    let last = if jwt.ends_with('A') { "B" } else { "A" };
    let forged = format!("{}{last}", &jwt[..jwt.len() - 1]);
    assert!(validator.validate(&forged).await.is_err());
    assert_eq!(issuer.introspection_requests(), calls);
}

#[tokio::test]
async fn rfc9701_jwt_answers_are_verified_with_the_issuers_keys() {
    let issuer = issuer().await;
    let clock = TestClock::at_system_time();
    let validator = validator(&issuer, introspection().jwt_response(), &clock);
    let token = opaque_token(&issuer, "read-app", "read-secret").await;
    let context = validator.validate(&token).await.unwrap();
    assert_eq!(context.client_id(), Some("read-app"));
    assert_eq!(
        validator.validate("never-issued").await.unwrap_err(),
        AuthError::InactiveToken
    );
    // A JSON answer where a signed one was asked for is no answer.
    let body = serde_json::to_vec(&json!({"active": true, "scope": "read:products"})).unwrap();
    issuer.set_introspection_fault(Some(JwksFault::Body(body)));
    let fresh = opaque_token(&issuer, "read-app", "read-secret").await;
    assert!(matches!(
        validator.validate(&fresh).await.unwrap_err(),
        AuthError::IntrospectionUnavailable { .. }
    ));
    // Signed by someone else: refused too.
    let foreign = issuer_with_other_keys().await;
    let forged = foreign.mint_with_header(
        json!({"alg": "ES384", "typ": "token-introspection+jwt", "kid": issuer.kid()}),
        json!({"iss": issuer.issuer(), "aud": API_ID, "iat": unix_now(),
               "token_introspection": {"active": true, "scope": "read:products"}}),
    );
    issuer.set_introspection_fault(Some(JwksFault::Body(forged.into_bytes())));
    let another = opaque_token(&issuer, "read-app", "read-secret").await;
    assert!(matches!(
        validator.validate(&another).await.unwrap_err(),
        AuthError::IntrospectionUnavailable { .. }
    ));
}

async fn issuer_with_other_keys() -> DevIssuer {
    DevIssuer::builder().start().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_random_tokens_keeps_calls_in_flight_bounded() {
    const TOKENS: usize = 5_000;
    const MAX_IN_FLIGHT: usize = 32;
    let issuer = issuer().await;
    let clock = TestClock::at_system_time();
    let config = introspection().max_in_flight(MAX_IN_FLIGHT);
    let counters = Arc::new(Counters::default());
    let validator = counters.build(
        Validator::builder()
            .issuer(config_for(&issuer).introspection(config).build().unwrap())
            .clock(clock.clone()),
    );
    let url = Arc::new(api(validator).await);
    // Each call takes a little while, as at a real authorization server, so that calls pile up.
    issuer.set_introspection_delay(Duration::from_millis(20));
    let http = client();
    let started = Instant::now();
    let statuses: Vec<u16> = futures_util::stream::iter(0..TOKENS)
        .map(|i| {
            let request = http
                .get(url.as_str())
                .bearer_auth(format!("random-{i}-{}", unix_now()));
            async move { request.send().await.unwrap().status().as_u16() }
        })
        .buffer_unordered(1_000)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let count = |status: u16| statuses.iter().filter(|s| **s == status).count();
    let (unauthorized, unavailable) = (count(401), count(503));
    eprintln!(
        "flood of {TOKENS} random opaque tokens (1,000 concurrent): {unauthorized} × 401, \
         {unavailable} × 503, {} introspection calls, at most {} in flight (bound \
         {MAX_IN_FLIGHT}), {elapsed:?}",
        issuer.introspection_requests(),
        issuer.max_concurrent_introspections(),
    );
    assert_eq!(unauthorized + unavailable, TOKENS, "only 401 or 503");
    assert!(issuer.max_concurrent_introspections() <= MAX_IN_FLIGHT as u64);
    // Every 401 is one call's `active: false`; a 503 is a token refused before its call (or,
    // on a starved machine, a call past the timeout).
    let calls = issuer.introspection_requests() as usize;
    assert!(unauthorized > 0 && calls >= unauthorized && calls <= TOKENS);
    // One outcome per token, each counted: refused (401), shed or failed (503).
    assert_eq!(
        counters.total("scopegate_introspections_total"),
        TOKENS as u64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shopping_api_on_its_dev_issuer_takes_opaque_tokens_as_the_readme_says() {
    let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let settings = shopping_api::Settings::from_lookup(|name| match name {
        "INTROSPECTION_CLIENT_ID" => Some("shopping-api".into()),
        "INTROSPECTION_CLIENT_SECRET" => Some("api-secret".into()),
        _ => None,
    })
    .unwrap();
    let introspection = settings.introspection.clone().unwrap();
    assert_eq!(
        introspection.cache,
        shopping_api::DEFAULT_INTROSPECTION_CACHE
    );
    assert!(!introspection.always);
    let shop = shopping_api::start(shopping_api::Settings {
        bind: loopback,
        dev_issuer_bind: loopback,
        ..settings
    })
    .await
    .unwrap();
    let dev = shop.dev_issuer.as_ref().unwrap();
    let token = opaque_token(dev, "shopping-reader", "reader-secret").await;
    let products = format!("http://{}/products", shop.addr);
    assert_eq!(get_with(&products, Some(&token)).await.status, 200);
    let refused = client()
        .post(&products)
        .bearer_auth(&token)
        .json(&json!({"name": "tea", "price_cents": 100}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403, "read:products only");
    assert_eq!(
        dev.introspection_requests(),
        1,
        "the second request hit the cache"
    );
}
