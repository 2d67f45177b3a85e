//! [`ClientCredentialsBuilder`]: where to ask for tokens, as whom, for what, and when to refresh.
//!
//! | setting | default | why |
//! |---|---|---|
//! | client authentication | HTTP Basic (`client_secret_basic`) | RFC 6749 §2.3.1: servers must support it |
//! | refresh margin | 60 s before expiry, at most half the lifetime | a token is never sent seconds before it dies, and short tokens are still reused |
//! | assumed lifetime | 300 s, when the server sends no `expires_in` | RFC 6749 §5.1 makes `expires_in` optional |
//! | timeout | 10 s for the whole exchange | a hanging token endpoint must not hang the caller |
//! | error backoff | 1 s | a failing token endpoint is asked at most about once a second |
//! | token URL | https (http only to loopback) | the client secret must not travel in clear text |
//! | redirects | not followed (own client); with your client, an answer from another origin is refused | a token endpoint has no business redirecting a POST with credentials |
//! | API destinations | https, or http to loopback; optionally an allow-list of origins | the access token must not travel in clear text, nor to hosts you did not mean |
//! | lifetime bounds | at least 10 s, at most 365 days | `expires_in: 0` must not disable the cache; `Duration::MAX` must not overflow |
//! | rejection backoff | 10 s, doubling to 10 min | an API that rejects fresh tokens must not turn every request into a token request |

use std::time::Duration;

mod builder;
mod checks;
mod settings;
#[cfg(test)]
mod tests;

pub use builder::{ClientAuthMethod, ClientCredentialsBuilder};
pub(crate) use settings::{Config, bound_lifetime};

/// The default [`refresh_margin`](ClientCredentialsBuilder::refresh_margin).
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// The default [`max_margin_ratio`](ClientCredentialsBuilder::max_margin_ratio).
pub const DEFAULT_MAX_MARGIN_RATIO: f64 = 0.5;
/// The default [`assumed_lifetime`](ClientCredentialsBuilder::assumed_lifetime).
pub const DEFAULT_ASSUMED_LIFETIME: Duration = Duration::from_secs(300);
/// The default [`timeout`](ClientCredentialsBuilder::timeout).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default [`error_backoff`](ClientCredentialsBuilder::error_backoff).
pub const DEFAULT_ERROR_BACKOFF: Duration = Duration::from_secs(1);
/// The default [`rejection_backoff`](ClientCredentialsBuilder::rejection_backoff).
pub const DEFAULT_REJECTION_BACKOFF: Duration = Duration::from_secs(10);
/// The longest pause after repeated rejections of fresh tokens.
pub const MAX_REJECTION_BACKOFF: Duration = Duration::from_secs(600);
/// The largest token response read; a bigger one is an [`InvalidResponse`](crate::TokenError::InvalidResponse).
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Shorter lifetimes (`expires_in: 0` included) are taken as this: a token is reused for at
/// least this long (less its refresh margin), so that a server answering `0` does not turn
/// every call into a token request. Far below the usual validator leeway (60 s in scopegate),
/// and an API that rejects such a token gets a new one through the 401 path.
pub const MIN_LIFETIME: Duration = Duration::from_secs(10);
/// Longer lifetimes (from `expires_in` or [`assumed_lifetime`](ClientCredentialsBuilder::assumed_lifetime))
/// are cut to this, which keeps `Instant` arithmetic far from overflow.
pub const MAX_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);
