use serde_json::{Value, json};
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::{OpenApiBuilder, PathItem, PathsBuilder};

use super::*;
use crate::AuthConfig;

const A: &str = "https://a.example.com/oidc";
const B: &str = "https://b.example.com/oidc";
const AUDIENCE: &str = "https://api.example.com";

fn auth(issuers: &[&str]) -> BearerAuthLayer {
    let mut builder = Validator::builder();
    for issuer in issuers {
        let config = AuthConfig::builder(*issuer, AUDIENCE)
            .build()
            .expect("a valid config");
        builder = builder.issuer(config);
    }
    BearerAuthLayer::new(builder.build().expect("a valid validator"))
}

fn token_url(issuer: &str) -> String {
    format!("{issuer}/token")
}

/// The document with an open `GET /health`, as a user's annotations would give it, after
/// `security` was applied, as JSON.
fn document(security: &OpenApiSecurity) -> Value {
    let health = PathItem::new(HttpMethod::Get, OperationBuilder::new().build());
    let mut doc = OpenApiBuilder::new()
        .paths(PathsBuilder::new().path("/health", health))
        .build();
    security.modify(&mut doc);
    serde_json::to_value(&doc).expect("serializable")
}

/// The security of `auth`, whose one issuer is `A`, with A's token URL.
fn security_for_a(auth: &BearerAuthLayer) -> OpenApiSecurity {
    OpenApiSecurity::builder(auth)
        .token_url(A, token_url(A))
        .build()
        .expect("complete")
}

fn security_of(doc: &Value, path: &str, method: &str) -> Value {
    doc["paths"][path][method]["security"].clone()
}

#[test]
fn an_all_of_route_is_one_requirement_with_every_scope() {
    let auth = auth(&[A]);
    let route = GuardedRoute::post("/orders").require_scopes(["write:orders", "read:orders"]);
    let _layer = auth.guard(&route);
    let security = security_for_a(&auth);
    let doc = document(&security);
    assert_eq!(
        security_of(&doc, "/orders", "post"),
        json!([{ "oauth2": ["write:orders", "read:orders"] }])
    );
}

#[test]
fn an_any_of_route_is_one_requirement_per_scope() {
    let auth = auth(&[A]);
    let route = GuardedRoute::get("/reports").require_any_scope(["admin", "audit"]);
    let _layer = auth.guard(&route);
    let security = security_for_a(&auth);
    assert_eq!(
        security_of(&document(&security), "/reports", "get"),
        json!([{ "oauth2": ["admin"] }, { "oauth2": ["audit"] }])
    );
}

#[test]
fn a_route_without_scopes_needs_a_token_and_nothing_else() {
    let auth = auth(&[A]);
    let _all = auth.guard(&GuardedRoute::get("/me"));
    // An empty alternative list is the same requirement, at run time too.
    let _any = auth.guard(&GuardedRoute::delete("/me").require_any_scope([""; 0]));
    let security = security_for_a(&auth);
    let doc = document(&security);
    assert_eq!(security_of(&doc, "/me", "get"), json!([{ "oauth2": [] }]));
    assert_eq!(
        security_of(&doc, "/me", "delete"),
        json!([{ "oauth2": [] }])
    );
    // The guard's refusals are documented on the operation.
    let responses = &doc["paths"]["/me"]["get"]["responses"];
    assert!(responses["401"]["description"].is_string());
    assert!(responses["403"]["description"].is_string());
}

#[test]
fn several_issuers_are_alternative_schemes_each_with_its_token_url() {
    let auth = auth(&[A, B]);
    let _read = auth.guard(&GuardedRoute::get("/products").require_scopes(["read:products"]));
    let _any = auth.guard(&GuardedRoute::put("/products/{id}").require_any_scope(["w", "admin"]));
    let security = OpenApiSecurity::builder(&auth)
        .token_url(A, token_url(A))
        .token_url(B, token_url(B))
        .scheme_name(B, "partner")
        .build()
        .expect("complete");
    let doc = document(&security);
    // OR across issuers, and across the alternatives of each.
    assert_eq!(
        security_of(&doc, "/products", "get"),
        json!([{ "oauth2_1": ["read:products"] }, { "partner": ["read:products"] }])
    );
    assert_eq!(
        security_of(&doc, "/products/{id}", "put"),
        json!([
            { "oauth2_1": ["w"] }, { "oauth2_1": ["admin"] },
            { "partner": ["w"] }, { "partner": ["admin"] }
        ])
    );
    let schemes = &doc["components"]["securitySchemes"];
    for (name, issuer) in [("oauth2_1", A), ("partner", B)] {
        let flow = &schemes[name]["flows"]["clientCredentials"];
        assert_eq!(schemes[name]["type"], "oauth2");
        assert_eq!(flow["tokenUrl"], token_url(issuer), "{name}");
        assert_eq!(
            flow["scopes"],
            json!({ "admin": "", "read:products": "", "w": "" })
        );
    }
}

#[test]
fn the_flow_lists_every_scope_required_anywhere_with_the_descriptions_given() {
    let auth = auth(&[A]);
    let _read = auth.guard(&GuardedRoute::get("/products").require_scopes(["read:products"]));
    // A scope checked in a handler, recorded by hand, has no route but is still offered.
    auth.required_scopes().record(["export:products"]);
    let security = OpenApiSecurity::builder(&auth)
        .token_url(A, token_url(A))
        .scope_description("read:products", "Read the catalogue")
        .build()
        .expect("complete");
    let doc = document(&security);
    assert_eq!(
        doc["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]["scopes"],
        json!({ "export:products": "", "read:products": "Read the catalogue" })
    );
}

#[test]
fn open_routes_get_no_requirement_and_no_document_wide_one_to_inherit() {
    let auth = auth(&[A]);
    let _read = auth.guard(&GuardedRoute::get("/products").require_scopes(["read:products"]));
    let security = security_for_a(&auth);
    let mut doc = OpenApiBuilder::new()
        .paths(PathsBuilder::new().path(
            "/health",
            PathItem::new(HttpMethod::Get, OperationBuilder::new().build()),
        ))
        .security(Some([SecurityRequirement::new(
            "oauth2",
            ["read:products"],
        )]))
        .build();
    security.modify(&mut doc);
    let doc = serde_json::to_value(&doc).expect("serializable");
    assert_eq!(doc.get("security"), None);
    assert_eq!(doc["paths"]["/health"]["get"].get("security"), None);
    assert_eq!(
        doc["paths"]["/health"]["get"].get("responses"),
        Some(&json!({}))
    );
}

#[test]
fn an_existing_operation_keeps_what_it_had() {
    let auth = auth(&[A]);
    let _read = auth.guard(&GuardedRoute::get("/products").require_scopes(["read:products"]));
    let security = security_for_a(&auth);
    let operation = OperationBuilder::new()
        .operation_id(Some("list_products"))
        .response("200", Response::new("A page of products"))
        .build();
    let mut doc = OpenApiBuilder::new()
        .paths(PathsBuilder::new().path("/products", PathItem::new(HttpMethod::Get, operation)))
        .build();
    security.modify(&mut doc);
    let doc = serde_json::to_value(&doc).expect("serializable");
    let get = &doc["paths"]["/products"]["get"];
    assert_eq!(get["operationId"], "list_products");
    assert_eq!(get["responses"]["200"]["description"], "A page of products");
    assert_eq!(get["security"], json!([{ "oauth2": ["read:products"] }]));
}

#[test]
fn a_catch_all_path_becomes_a_template() {
    assert_eq!(template("/files/{*rest}"), "/files/{rest}");
    assert_eq!(template("/products/{id}"), "/products/{id}");
}

#[test]
fn an_issuer_without_a_token_url_is_an_error_not_an_empty_string() {
    let auth = auth(&[A, B]);
    let error = OpenApiSecurity::builder(&auth)
        .token_url(A, token_url(A))
        .build()
        .expect_err("B has no token URL");
    assert!(
        matches!(&error, OpenApiError::NoTokenUrl { issuer } if issuer == B),
        "{error}"
    );
}

#[test]
fn bad_settings_are_refused_by_name() {
    let auth = auth(&[A, B]);
    let refused = |builder: OpenApiSecurityBuilder| builder.build().expect_err("refused");
    let both = |builder: OpenApiSecurityBuilder| {
        builder
            .token_url(A, token_url(A))
            .token_url(B, token_url(B))
    };
    for url in [
        "/oidc/token",
        "ftp://a.example.com/token",
        "https://u:p@a.example.com/t",
    ] {
        let error = refused(both(OpenApiSecurity::builder(&auth)).token_url(A, url));
        assert!(
            matches!(&error, OpenApiError::InvalidTokenUrl { url: u, .. } if u == url),
            "{error}"
        );
    }
    let error = refused(both(OpenApiSecurity::builder(&auth)).token_url("https://c.example", "x"));
    assert!(
        matches!(error, OpenApiError::UnknownIssuer { .. }),
        "{error}"
    );
    let error = refused(
        both(OpenApiSecurity::builder(&auth))
            .scheme_name(A, "oauth")
            .scheme_name(B, "oauth"),
    );
    assert!(
        matches!(error, OpenApiError::DuplicateSchemeName { .. }),
        "{error}"
    );
}
