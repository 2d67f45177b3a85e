//! Issuers resolved at run time, over real HTTP: dev-issuer tenants on one port
//! (`http://127.0.0.1:<port>/t/<tenant>/oidc`) chosen by a pattern, with a per-tenant audience.
//! Fetches are counted at the dev issuer: per tenant, and for tenants that do not exist (its
//! unrouted requests). The creation rate runs on a `TestClock`: no test waits for it.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use scopegate::extract::Auth;
use scopegate::resolver::{IssuerPattern, IssuerResolver, IssuerTrust, Tenant};
use scopegate::{AuthConfig, BearerAuthLayer, TestClock, Validator, VerifyPoolConfig};
use scopegate_dev::{DevIssuer, JwksFault};
use scopegate_tests::{Reply, client, send, serve};
use serde_json::{Value, json};

/// Each tenant's API is its own audience: the policy comes from the same rule as the trust.
fn audience(tenant: &str) -> String {
    format!("https://api.example/{tenant}")
}

/// Tenants `names` on one port, every one signing with the same `kid` (so that only the key
/// itself tells them apart), and the pattern that trusts them.
async fn tenants(names: &[&str]) -> (Vec<DevIssuer>, IssuerPattern) {
    let tenants = DevIssuer::builder()
        .key_id("shared-kid")
        .start_tenants(names)
        .await
        .unwrap();
    let port = tenants[0].addr().port();
    let pattern =
        IssuerPattern::new(&format!("http://127.0.0.1:{port}/t/{{tenant}}/oidc")).unwrap();
    (tenants, pattern)
}

fn resolver(pattern: IssuerPattern) -> IssuerResolver {
    IssuerResolver::new(pattern, |tenant: &Tenant| {
        AuthConfig::builder(tenant.issuer(), audience(tenant.id())).build()
    })
}

/// The validator behind a layer on a loopback port; `GET /me` answers the token's issuer.
async fn served(validator: Validator) -> String {
    let app = Router::new()
        .route(
            "/me",
            get(|auth: Auth| async move { auth.issuer().to_owned() }),
        )
        .route_layer(BearerAuthLayer::new(validator));
    format!("http://{}/me", serve(app).await)
}

/// A token of `tenant` for its own API.
fn token_of(tenant: &DevIssuer, id: &str) -> String {
    tenant.mint(tenant.claims("app", &audience(id), "read:products"))
}

/// A token signed by `signer` that claims whatever `iss` and `aud` are given.
fn forged(signer: &DevIssuer, iss: &str, aud: &str) -> String {
    let mut claims = signer.claims("app", aud, "read:products");
    claims["iss"] = Value::from(iss);
    signer.mint(claims)
}

async fn call(client: &reqwest::Client, url: &str, token: &str) -> Reply {
    send(client.get(url).bearer_auth(token)).await
}

/// (discovery, JWKS) requests each tenant served.
fn fetches(tenants: &[DevIssuer]) -> Vec<(u64, u64)> {
    tenants
        .iter()
        .map(|t| (t.discovery_requests(), t.jwks_requests()))
        .collect()
}

#[tokio::test]
async fn three_tenants_resolved_by_pattern_stay_apart() {
    let names = ["acme", "globex", "initech"];
    let (tenants, pattern) = tenants(&names).await;
    let validator = Validator::builder()
        .resolver(resolver(pattern))
        .build()
        .unwrap();
    let url = served(validator.clone()).await;
    let client = client();

    // Untrusted issuers cost no fetch at all: another issuer on loopback, and crafted spellings
    // of a tenant's issuer (another case, a dot segment, percent-encoding, a trailing slash,
    // userinfo).
    let stranger = DevIssuer::builder().start().await.unwrap();
    let acme_iss = tenants[0].issuer().to_owned();
    let port = tenants[0].addr().port();
    let crafted = [
        stranger.issuer().to_owned(),
        acme_iss.replace("acme", "ACME"),
        acme_iss.replace("/t/acme/", "/t/globex/../acme/"),
        acme_iss.replace("acme", "%61cme"),
        format!("{acme_iss}/"),
        acme_iss.replace("127.0.0.1", "u@127.0.0.1"),
        format!("http://127.0.0.1:{port}/t/acme.globex/oidc"),
    ];
    for iss in &crafted {
        let reply = call(&client, &url, &forged(&tenants[0], iss, &audience("acme"))).await;
        assert_eq!(
            (reply.status, reply.error()),
            (401, Some("invalid_token")),
            "{iss}"
        );
    }
    let stranger_token = stranger.mint(stranger.claims("app", &audience("acme"), ""));
    assert_eq!(call(&client, &url, &stranger_token).await.status, 401);
    assert_eq!(fetches(&tenants), vec![(0, 0); 3]);
    assert_eq!(
        (stranger.discovery_requests(), stranger.jwks_requests()),
        (0, 0)
    );
    assert_eq!(tenants[0].unrouted_requests(), 0);
    let stats = validator.resolver_stats().unwrap();
    assert_eq!(
        (stats.untrusted, stats.created, stats.live),
        (crafted.len() as u64 + 1, 0, 0)
    );

    // Each tenant is discovered on its first token, once, and its tokens are accepted.
    for (tenant, id) in tenants.iter().zip(names) {
        for _ in 0..2 {
            let reply = call(&client, &url, &token_of(tenant, id)).await;
            assert_eq!((reply.status, reply.text.as_str()), (200, tenant.issuer()));
        }
    }
    assert_eq!(fetches(&tenants), vec![(1, 1); 3]);
    assert_eq!(validator.resolver_stats().unwrap().live, 3);

    // A tenant's keys never verify another tenant's token: globex's key, same kid, signing a
    // token that names acme (acme's tokens are verified and cached by now) is a bad signature.
    let reply = call(
        &client,
        &url,
        &forged(&tenants[1], &acme_iss, &audience("acme")),
    )
    .await;
    assert_eq!((reply.status, reply.error()), (401, Some("invalid_token")));
    // A genuine acme token for globex's API: acme's policy does not accept that audience.
    let reply = call(
        &client,
        &url,
        &tenants[0].mint(tenants[0].claims("app", &audience("globex"), "")),
    )
    .await;
    assert_eq!((reply.status, reply.error()), (401, Some("invalid_token")));
    // Neither cost a fetch: acme's set has the kid (it is the key that does not verify), and
    // globex was never asked about a token that does not name it.
    assert_eq!(fetches(&tenants), vec![(1, 1); 3]);
}

#[tokio::test]
async fn a_flood_of_made_up_tenants_costs_a_bounded_number_of_fetches() {
    let (tenants, pattern) = tenants(&["acme"]).await;
    let clock = TestClock::at_system_time();
    let validator = Validator::builder()
        .resolver(resolver(pattern.clone()).new_issuers_per_second(5))
        .clock(clock.clone())
        .build()
        .unwrap();
    let url = served(validator.clone()).await;
    let client = client();
    let acme = token_of(&tenants[0], "acme");
    assert_eq!(call(&client, &url, &acme).await.status, 200);
    // The bucket is back to full a second later.
    clock.advance(Duration::from_secs(1));

    // 1,000 tokens, each naming another tenant that does not exist, all at one instant.
    let flood: Vec<String> = (0..1_000)
        .map(|i| {
            let iss = pattern.issuer_of(&format!("ghost-{i}")).unwrap();
            forged(&tenants[0], &iss, &audience("acme"))
        })
        .collect();
    let mut statuses = std::collections::BTreeMap::<u16, u32>::new();
    for token in &flood {
        let reply = call(&client, &url, token).await;
        if reply.status == 503 {
            assert!(reply.retry_after.is_some(), "a 503 says when to retry");
        }
        *statuses.entry(reply.status).or_default() += 1;
    }
    // Five issuers created (the rate), each one OIDC and one RFC 8414 discovery request,
    // both 404; every other token was refused without a fetch. None is answered 500.
    assert_eq!(statuses, [(503, 1_000)].into());
    let made_up_fetches = tenants[0].unrouted_requests();
    assert_eq!(made_up_fetches, 10);
    let stats = validator.resolver_stats().unwrap();
    // Created: acme, then five made-up tenants.
    assert_eq!(
        (stats.created, stats.failed, stats.rate_limited),
        (1 + 5, 5, 995)
    );
    // The live tenant is not disturbed (its token is cached; a new one of it is verified).
    assert_eq!(call(&client, &url, &acme).await.status, 200);
    let fresh = tenants[0].mint(tenants[0].claims("other", &audience("acme"), ""));
    assert_eq!(call(&client, &url, &fresh).await.status, 200);

    // A second later, the same flood: the five failed tenants are refused from the negative
    // cache, five more are tried; still five issuers (ten requests) a second.
    clock.advance(Duration::from_secs(1));
    for token in &flood {
        assert_eq!(call(&client, &url, token).await.status, 503);
    }
    assert_eq!(tenants[0].unrouted_requests(), 2 * made_up_fetches);
    let stats = validator.resolver_stats().unwrap();
    assert_eq!(
        (stats.created, stats.known_failed, stats.live),
        (1 + 10, 5, 1)
    );
    assert_eq!(fetches(&tenants), vec![(1, 1)]);
    println!(
        "1,000 tokens naming made-up tenants: {made_up_fetches} discovery requests a second \
         at 5 new issuers a second ({} statuses: {statuses:?})",
        flood.len()
    );
}

#[tokio::test]
async fn the_least_recently_used_tenant_is_evicted_at_the_bound() {
    let names = ["acme", "globex", "initech"];
    let (tenants, pattern) = tenants(&names).await;
    let validator = Validator::builder()
        .resolver(resolver(pattern).max_issuers(2))
        .build()
        .unwrap();
    let url = served(validator.clone()).await;
    let client = client();
    let tokens: Vec<String> = tenants
        .iter()
        .zip(names)
        .map(|(t, id)| token_of(t, id))
        .collect();
    let live = || validator.resolver_stats().unwrap();

    assert_eq!(call(&client, &url, &tokens[0]).await.status, 200);
    assert_eq!(call(&client, &url, &tokens[1]).await.status, 200);
    assert_eq!((live().live, live().evicted), (2, 0));
    // acme is used again (a cache hit counts as a use), so globex is the least recently used.
    assert_eq!(call(&client, &url, &tokens[0]).await.status, 200);
    assert_eq!(live().live, 2);
    assert_eq!(call(&client, &url, &tokens[2]).await.status, 200);
    assert_eq!((live().live, live().evicted), (2, 1));
    assert!(
        validator.jwks_stats(tenants[1].issuer()).is_none(),
        "globex was evicted"
    );
    assert!(
        validator.jwks_stats(tenants[0].issuer()).is_some(),
        "acme stays live"
    );

    // globex's cached token is verified afresh: globex is discovered again, acme is not.
    assert_eq!(call(&client, &url, &tokens[1]).await.status, 200);
    assert_eq!(fetches(&tenants), vec![(1, 1), (2, 2), (1, 1)]);
    assert_eq!((live().live, live().evicted, live().created), (2, 2, 4));
}

#[tokio::test]
async fn the_logto_preset_resolves_tenants_by_their_jwks_url() {
    let names = ["acme", "globex"];
    let (tenants, pattern) = tenants(&names).await;
    let validator = Validator::builder()
        .resolver(scopegate::logto::tenant_resolver(
            pattern,
            "https://shopping.api",
        ))
        .build()
        .unwrap();
    let url = served(validator).await;
    let client = client();
    for tenant in &tenants {
        let token = tenant.mint(tenant.claims("app", "https://shopping.api", ""));
        assert_eq!(call(&client, &url, &token).await.status, 200);
    }
    // `<endpoint>/oidc/jwks` directly: no discovery round trip.
    assert_eq!(fetches(&tenants), vec![(0, 1), (0, 1)]);
    let mut claims = tenants[0].claims("app", "https://shopping.api", "");
    claims["organization_id"] = json!("org-1");
    assert_eq!(
        call(&client, &url, &tenants[0].mint(claims)).await.status,
        200
    );
}

#[tokio::test]
async fn concurrent_first_tokens_of_a_tenant_share_one_fetch() {
    let (tenants, pattern) = tenants(&["acme"]).await;
    // 20 first-sight signature checks at once: on the RustCrypto backend (~6x slower than
    // aws-lc-rs) and a loaded machine they can outwait the pool's 100 ms queue deadline and be
    // shed with 503. Shedding is not what this test is about: give the queue time.
    let patient = VerifyPoolConfig::default().queue_deadline(Duration::from_secs(10));
    let validator = Validator::builder()
        .resolver(resolver(pattern))
        .verify_pool(patient)
        .build()
        .unwrap();
    let url = served(validator).await;
    let client = client();
    let calls = (0..20).map(|i| {
        let token = tenants[0].mint(tenants[0].claims(&format!("app-{i}"), &audience("acme"), ""));
        let (client, url) = (client.clone(), url.clone());
        tokio::spawn(async move { call(&client, &url, &token).await.status })
    });
    for status in futures_util::future::join_all(calls).await {
        assert_eq!(status.unwrap(), 200);
    }
    assert_eq!(fetches(&tenants), vec![(1, 1)]);
}

#[tokio::test]
async fn a_policy_that_answers_for_another_issuer_is_refused() {
    let (tenants, pattern) = tenants(&["acme", "globex"]).await;
    let acme = tenants[0].issuer().to_owned();
    // A buggy policy: every tenant gets acme's config, which would let acme's keys verify
    // tokens naming globex.
    let validator = Validator::builder()
        .resolver(IssuerResolver::new(pattern, move |_: &Tenant| {
            AuthConfig::builder(acme.as_str(), audience("acme")).build()
        }))
        .build()
        .unwrap();
    let url = served(validator).await;
    let client = client();
    assert_eq!(
        call(&client, &url, &token_of(&tenants[0], "acme"))
            .await
            .status,
        200
    );
    let as_globex = forged(&tenants[0], tenants[1].issuer(), &audience("acme"));
    let reply = call(&client, &url, &as_globex).await;
    assert_eq!((reply.status, reply.error()), (401, Some("invalid_token")));
    assert_eq!(fetches(&tenants), vec![(1, 1), (0, 0)]);
}

#[tokio::test]
async fn a_tenant_down_at_first_sight_is_refused_without_fetches_until_its_ttl() {
    let (tenants, pattern) = tenants(&["acme"]).await;
    let clock = TestClock::at_system_time();
    let validator = Validator::builder()
        .resolver(resolver(pattern).failed_issuer_ttl(Duration::from_secs(60)))
        .clock(clock.clone())
        .build()
        .unwrap();
    let url = served(validator).await;
    let client = client();
    let token = token_of(&tenants[0], "acme");

    tenants[0].set_jwks_fault(Some(JwksFault::Status(500)));
    for _ in 0..10 {
        let reply = call(&client, &url, &token).await;
        assert_eq!(reply.status, 503);
        assert!(reply.retry_after.is_some());
    }
    // One creation, one failed fetch; the nine tokens after it cost nothing.
    assert_eq!(fetches(&tenants), vec![(1, 1)]);

    tenants[0].set_jwks_fault(None);
    clock.advance(Duration::from_secs(59));
    assert_eq!(call(&client, &url, &token).await.status, 503);
    assert_eq!(fetches(&tenants), vec![(1, 1)]);
    clock.advance(Duration::from_secs(2));
    assert_eq!(call(&client, &url, &token).await.status, 200);
    assert_eq!(fetches(&tenants), vec![(2, 2)]);
}

#[tokio::test]
async fn an_allow_list_trusts_only_what_it_lists() {
    let (tenants, _) = tenants(&["acme", "globex"]).await;
    let acme = tenants[0].issuer().to_owned();
    let trust = IssuerTrust::allow_list(move |iss: &str| (iss == acme).then(|| "acme".to_owned()));
    let validator = Validator::builder()
        .resolver(IssuerResolver::new(trust, |tenant: &Tenant| {
            AuthConfig::builder(tenant.issuer(), audience(tenant.id())).build()
        }))
        .build()
        .unwrap();
    let url = served(validator).await;
    let client = client();
    assert_eq!(
        call(&client, &url, &token_of(&tenants[0], "acme"))
            .await
            .status,
        200
    );
    let reply = call(&client, &url, &token_of(&tenants[1], "globex")).await;
    assert_eq!((reply.status, reply.error()), (401, Some("invalid_token")));
    assert_eq!(fetches(&tenants), vec![(1, 1), (0, 0)]);
}
