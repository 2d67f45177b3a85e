//! Beyond one issuer, over real HTTP: several issuers behind one layer, Logto organizations,
//! other issuers' scope claims, tokens from cookies and custom headers.

use axum::Router;
use axum::routing::get;
use http::HeaderName;
use scopegate::extract::Auth;
use scopegate::logto::{OrganizationFrom, organization_audience, require_organization};
use scopegate::token::TokenLocation;
use scopegate::{AuthConfig, BearerAuthLayer, ScopeSource, Validator, require_scopes};
use scopegate_dev::{DevIssuer, SigningAlgorithm};
use scopegate_tests::{RESOURCE, Reply, client, config_for, get as get_url, send, serve};
use serde_json::json;

async fn whoami(auth: Auth) -> String {
    format!("{} {}", auth.issuer(), auth.scopes())
}

async fn served(layer: BearerAuthLayer) -> String {
    let app = Router::new()
        .route("/me", get(whoami))
        .route(
            "/read",
            get(whoami).route_layer(require_scopes(["read:products"])),
        )
        .route_layer(layer);
    format!("http://{}", serve(app).await)
}

async fn issuer_with_kid(kid: &str, algorithm: SigningAlgorithm) -> DevIssuer {
    DevIssuer::builder()
        .algorithm(algorithm)
        .key_id(kid)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn two_issuers_behind_one_layer_stay_apart() {
    let a = issuer_with_kid("shared-kid", SigningAlgorithm::ES384).await;
    let b = issuer_with_kid("shared-kid", SigningAlgorithm::ES384).await;
    let validator = Validator::builder()
        .issuer(config_for(&a).build().unwrap())
        .issuer(
            config_for(&b)
                .scope_sources([ScopeSource::Permissions])
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let base = served(BearerAuthLayer::new(validator)).await;

    // A token naming an issuer nobody configured: refused before any key lookup.
    let stranger = issuer_with_kid("shared-kid", SigningAlgorithm::ES384).await;
    let foreign = stranger.mint(stranger.claims("x", RESOURCE, "read:products"));
    let reply = get_url(&format!("{base}/read"), Some(&foreign)).await;
    assert_eq!((reply.status, reply.error()), (401, Some("invalid_token")));
    assert_eq!(
        (
            a.jwks_requests(),
            b.jwks_requests(),
            stranger.jwks_requests()
        ),
        (0, 0, 0)
    );

    let from_a = a.mint(a.claims("app", RESOURCE, "read:products"));
    let reply = get_url(&format!("{base}/read"), Some(&from_a)).await;
    assert_eq!(
        (reply.status, reply.text.as_str()),
        (200, format!("{} read:products", a.issuer()).as_str())
    );
    let mut claims = b.claims("app", RESOURCE, "");
    claims["permissions"] = json!(["read:products"]);
    let from_b = b.mint(claims.clone());
    let reply = get_url(&format!("{base}/read"), Some(&from_b)).await;
    assert_eq!(
        (reply.status, reply.text.as_str()),
        (200, format!("{} read:products", b.issuer()).as_str())
    );

    // B's key under the shared kid, claiming to come from A: A's key must not verify it.
    claims["iss"] = json!(a.issuer());
    let forged = b.mint(claims);
    let reply = get_url(&format!("{base}/read"), Some(&forged)).await;
    assert_eq!((reply.status, reply.error()), (401, Some("invalid_token")));
    assert_eq!((a.jwks_requests(), b.jwks_requests()), (1, 1));
}

#[tokio::test]
async fn logto_organization_tokens_and_the_organization_guard() {
    let issuer = DevIssuer::builder().start().await.unwrap();
    let config = scopegate::logto::config(&issuer.endpoint(), RESOURCE)
        .audience_matcher(scopegate::logto::organization_audiences())
        .build()
        .unwrap();
    assert_eq!(config.issuer(), issuer.issuer());
    let layer = BearerAuthLayer::new(Validator::new(config).unwrap());
    let app = Router::new()
        .route(
            "/orgs/{org_id}/orders",
            get(|auth: Auth| async move { auth.organization_id().unwrap_or("-").to_owned() })
                .route_layer(require_organization(OrganizationFrom::path("org_id"))),
        )
        .route(
            "/by-header",
            get(|| async { "ok" }).route_layer(require_organization(OrganizationFrom::Header(
                HeaderName::from_static("x-organization-id"),
            ))),
        )
        .route_layer(layer);
    let base = format!("http://{}", serve(app).await);

    // An organization token: aud = urn:logto:organization:<id>.
    let org_token =
        issuer.mint(issuer.claims("app", &organization_audience("acme"), "read:orders"));
    // A token for an organization-level API resource: aud = the API, plus organization_id.
    let mut claims = issuer.claims("app", RESOURCE, "read:orders");
    claims["organization_id"] = json!("acme");
    let resource_token = issuer.mint(claims);
    let plain = issuer.mint(issuer.claims("app", RESOURCE, "read:orders"));

    for token in [&org_token, &resource_token] {
        let reply = get_url(&format!("{base}/orgs/acme/orders"), Some(token)).await;
        assert_eq!((reply.status, reply.text.as_str()), (200, "acme"));
        let reply = get_url(&format!("{base}/orgs/globex/orders"), Some(token)).await;
        assert_eq!(
            (reply.status, reply.error()),
            (403, Some("insufficient_scope"))
        );
    }
    let reply = get_url(&format!("{base}/orgs/acme/orders"), Some(&plain)).await;
    assert_eq!(reply.status, 403, "a token without organization");
    let empty_org = issuer.mint(issuer.claims("app", "urn:logto:organization:", ""));
    assert_eq!(
        get_url(&format!("{base}/orgs/acme/orders"), Some(&empty_org))
            .await
            .status,
        401
    );

    let with_header = |org: &str| {
        client()
            .get(format!("{base}/by-header"))
            .bearer_auth(&org_token)
            .header("x-organization-id", org)
    };
    assert_eq!(send(with_header("acme")).await.status, 200);
    assert_eq!(send(with_header("globex")).await.status, 403);
}

/// Another vendor's preset, written here without touching scopegate: Auth0 organizations name
/// the organization in `org_id`, and one audience per organization could be matched by a function.
mod auth0 {
    use scopegate::guard::{OrganizationFrom, OrganizationLayer, require_organization};
    use scopegate::organization::OrganizationSource;
    use scopegate::{AudienceMatcher, AuthConfig, AuthConfigBuilder};

    pub(super) fn config(issuer: &str, audience: &str) -> AuthConfigBuilder {
        AuthConfig::builder(issuer, audience)
            .organization_sources([OrganizationSource::claim("org_id")])
            .audience_matcher(AudienceMatcher::function(|aud| {
                aud.strip_prefix("https://shopping.api/orgs/")
                    .is_some_and(|org| org.starts_with("org_") && org.len() > 4)
            }))
    }

    pub(super) fn require_org(param: &str) -> OrganizationLayer {
        require_organization(OrganizationFrom::path(param))
    }
}

#[tokio::test]
async fn a_vendor_preset_outside_the_core_and_a_header_organization_requirement() {
    use scopegate::GuardLayer;
    use scopegate::guard::OrganizationRequirement;

    let issuer = DevIssuer::builder().start().await.unwrap();
    let config = auth0::config(issuer.issuer(), RESOURCE)
        .jwks_uri(issuer.jwks_uri())
        .build()
        .unwrap();
    let layer = BearerAuthLayer::new(Validator::new(config).unwrap());
    let header = HeaderName::from_static("x-org");
    let app = Router::new()
        .route(
            "/orgs/{org}/orders",
            get(|auth: Auth| async move { auth.organization_id().unwrap_or("-").to_owned() })
                .route_layer(auth0::require_org("org")),
        )
        .route(
            "/by-header",
            get(|| async { "ok" })
                .route_layer(GuardLayer::new(OrganizationRequirement::header(header))),
        )
        .route_layer(layer);
    let base = format!("http://{}", serve(app).await);

    let mut claims = issuer.claims("app", "https://shopping.api/orgs/org_acme", "");
    claims["org_id"] = json!("org_acme");
    let token = issuer.mint(claims);
    let reply = get_url(&format!("{base}/orgs/org_acme/orders"), Some(&token)).await;
    assert_eq!((reply.status, reply.text.as_str()), (200, "org_acme"));
    let reply = get_url(&format!("{base}/orgs/org_globex/orders"), Some(&token)).await;
    assert_eq!(
        (reply.status, reply.error()),
        (403, Some("insufficient_scope"))
    );
    // The function refuses this audience family member: no org after the prefix's "org_".
    let odd = issuer.mint(issuer.claims("app", "https://shopping.api/orgs/org_", ""));
    let reply = get_url(&format!("{base}/orgs/org_/orders"), Some(&odd)).await;
    assert_eq!((reply.status, reply.error()), (401, Some("invalid_token")));

    let with_header = |org: &str| {
        client()
            .get(format!("{base}/by-header"))
            .bearer_auth(&token)
            .header("x-org", org)
    };
    assert_eq!(send(with_header("org_acme")).await.status, 200);
    assert_eq!(send(with_header("org_globex")).await.status, 403);
    // Two headers naming the organization are no answer: refused.
    let twice = with_header("org_acme").header("x-org", "org_acme");
    assert_eq!(send(twice).await.status, 403);
}

#[tokio::test]
async fn scope_claims_of_other_issuers_fill_the_same_guard() {
    let issuer = DevIssuer::builder().start().await.unwrap();
    // issuer → claim: Logto/Auth0/oidc-provider `scope`, Entra ID `scp` string, Okta `scp`
    // array, Auth0 RBAC `permissions`, Keycloak realm and client roles.
    let config = config_for(&issuer)
        .scope_sources([
            ScopeSource::Scope,
            ScopeSource::Scp,
            ScopeSource::Permissions,
            ScopeSource::KeycloakRealmRoles,
            ScopeSource::KeycloakClientRoles("shopping".into()),
        ])
        .build()
        .unwrap();
    let base = served(BearerAuthLayer::new(Validator::new(config).unwrap())).await;
    let shapes = [
        json!({ "scope": "read:products" }),
        json!({ "scp": "read:products" }),
        json!({ "scp": ["read:products"] }),
        json!({ "permissions": ["read:products"] }),
        json!({ "realm_access": { "roles": ["read:products"] } }),
        json!({ "resource_access": { "shopping": { "roles": ["read:products"] } } }),
    ];
    for shape in shapes {
        let mut claims = issuer.claims("app", RESOURCE, "");
        claims.as_object_mut().unwrap().remove("scope");
        for (name, value) in shape.as_object().unwrap() {
            claims[name] = value.clone();
        }
        let reply = get_url(&format!("{base}/read"), Some(&issuer.mint(claims))).await;
        assert_eq!(reply.status, 200, "{shape}");
    }
    // Roles of another Keycloak client grant nothing here.
    let mut claims = issuer.claims("app", RESOURCE, "");
    claims.as_object_mut().unwrap().remove("scope");
    claims["resource_access"] = json!({ "billing": { "roles": ["read:products"] } });
    assert_eq!(
        get_url(&format!("{base}/read"), Some(&issuer.mint(claims)))
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn a_custom_scope_mapper() {
    let issuer = DevIssuer::builder().start().await.unwrap();
    let mapper = ScopeSource::Custom(std::sync::Arc::new(|claims: &scopegate::Claims| {
        let groups: Vec<String> = claims
            .get("groups")
            .map_err(|_| scopegate::claims::ScopeShapeError)?
            .unwrap_or_default();
        Ok(groups
            .into_iter()
            .map(|g| format!("{g}:products"))
            .collect())
    }));
    let config = config_for(&issuer).scope_sources([mapper]).build().unwrap();
    let base = served(BearerAuthLayer::new(Validator::new(config).unwrap())).await;
    let mut claims = issuer.claims("app", RESOURCE, "");
    claims["groups"] = json!(["read"]);
    assert_eq!(
        get_url(&format!("{base}/read"), Some(&issuer.mint(claims.clone())))
            .await
            .status,
        200
    );
    claims["groups"] = json!("read");
    let reply = get_url(&format!("{base}/read"), Some(&issuer.mint(claims))).await;
    assert_eq!((reply.status, reply.error()), (401, Some("invalid_token")));
}

#[tokio::test]
async fn tokens_from_a_cookie_or_a_custom_header_and_never_from_two_places() {
    let issuer = DevIssuer::builder().start().await.unwrap();
    let validator = Validator::new(config_for(&issuer).build().unwrap()).unwrap();
    let layer = BearerAuthLayer::new(validator)
        .token_location(TokenLocation::Cookie("access_token".into()))
        .token_location(TokenLocation::Header(HeaderName::from_static(
            "x-access-token",
        )));
    let base = served(layer).await;
    let token = issuer.mint(issuer.claims("app", RESOURCE, "read:products"));
    let request = || client().get(format!("{base}/read"));
    let check = |reply: Reply, status: u16, error: Option<&str>| {
        assert_eq!((reply.status, reply.error()), (status, error), "{reply:?}");
    };
    check(
        send(request().header("cookie", format!("theme=dark; access_token={token}"))).await,
        200,
        None,
    );
    check(
        send(request().header("x-access-token", &token)).await,
        200,
        None,
    );
    check(send(request().bearer_auth(&token)).await, 200, None);
    check(
        send(
            request()
                .bearer_auth(&token)
                .header("cookie", format!("access_token={token}")),
        )
        .await,
        400,
        Some("invalid_request"),
    );
    check(
        send(
            request()
                .header("x-access-token", &token)
                .header("cookie", format!("access_token={token}")),
        )
        .await,
        400,
        Some("invalid_request"),
    );
    check(
        send(request().header("cookie", "access_token=not.a.jwt")).await,
        401,
        Some("invalid_token"),
    );

    // The default reads the Authorization header only.
    let plain = served(BearerAuthLayer::new(
        Validator::new(
            AuthConfig::builder(issuer.issuer(), RESOURCE)
                .jwks_uri(issuer.jwks_uri())
                .build()
                .unwrap(),
        )
        .unwrap(),
    ))
    .await;
    let reply = send(
        client()
            .get(format!("{plain}/read"))
            .header("cookie", format!("access_token={token}")),
    )
    .await;
    check(reply, 401, None);
}
