//! Which Logto tenant an endpoint belongs to, and the Management API resource that follows from
//! it. Apart from the client because the rule is Logto's naming, not HTTP, and both the builder
//! and callers who configure a token source themselves need it.

use url::Url;

/// The Management API's resource indicator for `tenant_id`: `https://<tenant-id>.logto.app/api`.
///
/// ```
/// assert_eq!(
///     scopegate_m2m::management::resource_for_tenant("default"),
///     "https://default.logto.app/api"
/// );
/// ```
pub fn resource_for_tenant(tenant_id: &str) -> String {
    format!("https://{tenant_id}.logto.app/api")
}

/// The tenant id of a Logto Cloud endpoint (`https://<tenant-id>.logto.app`), or `None` for
/// any other host (Logto OSS, or a custom domain).
pub fn tenant_id_of(endpoint: &Url) -> Option<&str> {
    let tenant = endpoint.host_str()?.strip_suffix(".logto.app")?;
    valid_tenant_id(tenant).then_some(tenant)
}

/// Tenant ids are one DNS label of lowercase letters, digits and `-`; anything else would change
/// the resource URI's host (`a/b` would make it `https://a/...`).
pub(super) fn valid_tenant_id(tenant: &str) -> bool {
    !tenant.is_empty()
        && tenant.len() <= 63
        && tenant
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}
