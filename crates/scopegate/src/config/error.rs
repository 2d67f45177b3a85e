//! [`ConfigError`]: what can be wrong with a configuration, each in the words that point to the
//! fix.

use super::{MAX_LEEWAY, MIN_SECRET_LEN};

/// A mistake in the configuration, found when it is built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The issuer is empty.
    #[error("the issuer must not be empty")]
    EmptyIssuer,
    /// Discovery needs the issuer to be an https URL (http for loopback only).
    #[error(
        "issuer {0:?} is plain http on a host that is not loopback, so its keys would be fetched \
         in clear text: use https, or on a closed test network call \
         AuthConfigBuilder::allow_insecure_http() (anyone on the path could then swap the keys)"
    )]
    IssuerNotDiscoverable(String),
    /// The issuer has no `https://` (or `http://`) scheme, so its keys cannot be discovered.
    #[error("issuer {0:?} is missing a scheme: write it as a URL, e.g. \"https://{0}\"")]
    IssuerMissingScheme(String),
    /// The issuer is not a URL, so its keys cannot be discovered.
    #[error("issuer {0:?} is not an http(s) URL, so its keys cannot be discovered; set a JWKS URL")]
    IssuerNotAUrl(String),
    /// No audience, or an empty one.
    #[error("at least one non-empty audience is required")]
    NoAudience,
    /// A JWKS URL is not https (plain http is allowed for loopback hosts only).
    #[error(
        "JWKS URL {0} must be https (or, on a closed test network only, call \
         AuthConfigBuilder::allow_insecure_http())"
    )]
    InsecureJwksUrl(String),
    /// A JWKS URL does not parse.
    #[error("JWKS URL {0:?} is not a URL")]
    InvalidJwksUrl(String),
    /// The algorithm allow-list is empty after removing what cannot be used.
    #[error("no usable algorithm is allowed")]
    NoAlgorithms,
    /// HS* allowed without a secret, or a secret without HS*.
    #[error("HMAC algorithms need a symmetric secret, and a secret needs an HMAC algorithm")]
    SymmetricMismatch,
    /// A symmetric secret shorter than [`MIN_SECRET_LEN`].
    #[error("the symmetric secret must be at least {MIN_SECRET_LEN} bytes")]
    WeakSecret,
    /// A leeway above [`MAX_LEEWAY`].
    #[error("leeway must not exceed {MAX_LEEWAY:?}")]
    LeewayTooLarge,
    /// No scope source.
    #[error("at least one scope source is required")]
    NoScopeSources,
    /// Two configs for one issuer in one validator.
    #[error("issuer {0:?} is configured twice")]
    DuplicateIssuer(String),
    /// A validator with no issuer.
    #[error("a validator needs at least one issuer")]
    NoIssuers,
    /// The issuer or JWKS URL carries a username or password. It would be printed wherever the
    /// URL is (`Debug`, logs, errors); give credentials through your own
    /// [`http_client`](crate::AuthConfigBuilder::http_client) instead. The URL is not repeated here.
    #[error("the {0} must not carry a username or password")]
    CredentialsInUrl(&'static str),
    /// An audience to be compared as a URI ([`AudienceMatcher::uri`](crate::AudienceMatcher::uri),
    /// [`normalize_uri_audiences`](crate::AuthConfigBuilder::normalize_uri_audiences)) is not an
    /// absolute URI.
    #[error("audience {0:?} is not an absolute URI, so it cannot be compared as one")]
    AudienceNotAUri(String),
    /// The `resource` of a protected-resource document is not an audience the validator accepts
    /// byte for byte (RFC 9728 §2: it is the identifier tokens are issued for).
    #[error(
        "resource {0:?} is not an audience of any configured issuer, byte for byte: \
         the metadata must name the audience the tokens are checked for"
    )]
    ResourceNotAnAudience(String),
    /// The `resource` of a protected-resource document is not an https URL without a fragment
    /// (RFC 9728 §2; plain http only for a loopback host).
    #[error(
        "resource {0:?} must be an https URL without a fragment (http only on a loopback host)"
    )]
    InvalidResource(String),
    /// The metadata URL is not an absolute http(s) URL.
    #[error("metadata URL {0:?} is not an absolute http(s) URL")]
    InvalidMetadataUrl(String),
    /// A gRPC method path of [`GrpcMethods`](crate::grpc::GrpcMethods) is not
    /// `/package.Service/Method` (the `:path` of a gRPC call).
    #[error(
        "gRPC method {0:?} is not a full method path like \"/shop.v1.Products/AddProduct\" \
         (a leading slash, the package-qualified service, a slash, the method)"
    )]
    InvalidGrpcMethodPath(String),
    /// A gRPC method is listed twice, so one of its two scope sets would be ignored.
    #[error("gRPC method {0:?} is listed twice")]
    DuplicateGrpcMethod(String),
    /// A scope is empty or holds a space, `"` or `\` (RFC 6749 §3.3); several scopes are given
    /// as several items.
    #[error("scope {0:?} is not one scope token: give each scope as its own item")]
    InvalidGrpcScope(String),
    /// The default of unlisted gRPC methods requires no scope: every method not listed would be
    /// open to any valid token.
    #[error(
        "unlisted gRPC methods would be open to any token: require at least one scope, or \
         refuse them (UnknownMethods::Refuse, the default)"
    )]
    OpenGrpcDefault,
    /// A limit of zero or an inverted range in the JWKS policy.
    #[error("invalid JWKS policy: {0}")]
    InvalidPolicy(&'static str),
    /// An introspection endpoint does not parse.
    #[error("introspection URL {0:?} is not a URL")]
    InvalidIntrospectionUrl(String),
    /// An introspection endpoint is not https (plain http is allowed for loopback hosts only):
    /// tokens and the client secret would cross the network in clear text.
    #[error(
        "introspection URL {0} must be https (or, on a closed test network only, call \
         AuthConfigBuilder::allow_insecure_http())"
    )]
    InsecureIntrospectionUrl(String),
    /// A limit of zero, or an empty client id, in the introspection config.
    #[error("invalid introspection config: {0}")]
    InvalidIntrospection(&'static str),
    /// More than one issuer introspects: an opaque token names no issuer, so only one may.
    #[error(
        "issuers {0:?} and {1:?} both introspect tokens: an opaque token names no issuer, so \
         at most one issuer of a validator may have an introspection config"
    )]
    SeveralIntrospectingIssuers(String, String),
    /// The keys would be fetched (discovery or a JWKS URL), but scopegate was built without its
    /// `remote` feature, so it has no HTTP client.
    #[error(
        "the issuer's keys would be fetched over HTTP, but scopegate was built without its \
         `remote` feature: enable it, or give the keys with AuthConfigBuilder::jwks_static \
         (or an HMAC secret with symmetric_secret)"
    )]
    RemoteDisabled,
    /// Tokens would be introspected (RFC 7662, an HTTP call to the issuer), but scopegate was
    /// built without its `remote` feature, so it has no HTTP client.
    #[error(
        "tokens would be introspected over HTTP, but scopegate was built without its `remote` \
         feature: enable it, or drop AuthConfigBuilder::introspection"
    )]
    IntrospectionWithoutRemote,
    /// The default HTTP client for JWKS and discovery could not be built (e.g. no TLS roots);
    /// pass your own with [`AuthConfigBuilder::http_client`](crate::AuthConfigBuilder::http_client).
    #[error("cannot build an HTTP client: {0}")]
    HttpClient(String),
}
