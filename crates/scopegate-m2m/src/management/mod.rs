//! [`ManagementApi`]: the Logto Management API preset. A
//! [`ClientCredentials`](crate::ClientCredentials) source for the Management API's resource with
//! `scope=all`, and the `reqwest` helper pointed at `<endpoint>/api/`.
//!
//! Logto serves its Management API under `<endpoint>/api/` and protects it with one permission,
//! `all`, on the resource `https://<tenant-id>.logto.app/api`:
//!
//! | Logto | endpoint | resource (derived) |
//! |---|---|---|
//! | Cloud | `https://<tenant-id>.logto.app` | `https://<tenant-id>.logto.app/api` |
//! | Cloud, custom domain | `https://auth.example.com` | set [`tenant_id`](ManagementApiBuilder::tenant_id) |
//! | OSS | e.g. `http://localhost:3001` | `https://default.logto.app/api` |
//!
//! The app needs a machine-to-machine role holding `all` (in the console: the built-in "Logto
//! Management API access" role). Without it Logto still issues a token, with no `all` in it, and
//! every call is refused: [`ManagementError::MissingPermission`].
//!
//! ```no_run
//! use scopegate_m2m::management::ManagementApi;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let api = ManagementApi::logto("https://abc123.logto.app", "app-id", "app-secret").build()?;
//! assert_eq!(api.token_source().resources(), ["https://abc123.logto.app/api"]);
//! for app in api.list_applications().await? {
//!     println!("{} {} {}", app.id, app.kind, app.name);
//! }
//! // Any other route: a request builder on <endpoint>/api/..., sent with the token.
//! let response = api.send(api.get("roles")?).await?;
//! println!("{}", response.text().await?);
//! # Ok(()) }
//! ```

mod applications;
mod builder;
mod client;
mod error;
mod tenant;
#[cfg(test)]
mod tests;

use std::time::Duration;

pub use applications::Application;
pub use builder::ManagementApiBuilder;
pub use client::ManagementApi;
pub use error::ManagementError;
pub use tenant::{resource_for_tenant, tenant_id_of};

/// The one permission of the Logto Management API.
pub const MANAGEMENT_SCOPE: &str = "all";
/// The tenant id of Logto OSS, whose Management API resource is `https://default.logto.app/api`.
pub const OSS_TENANT_ID: &str = "default";
/// The default time limit of one Management API call (the token request has its own).
pub const DEFAULT_API_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest Management API answer read.
pub const MAX_API_RESPONSE_BYTES: usize = 8 * 1024 * 1024;
