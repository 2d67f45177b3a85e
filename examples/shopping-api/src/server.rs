//! What the example servers share around their app: binding the port, the validator of an
//! issuer with a bounded wait for its keys, and the task that serves (stopped when dropped).

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use scopegate::{AuthConfig, Validator};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::{SetupError, setting_of};

/// Binds `addr`; returns the listener and the address it got (a free port for port 0).
pub async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), SetupError> {
    let failed = |source| SetupError::Bind { addr, source };
    let listener = TcpListener::bind(addr).await.map_err(failed)?;
    let local = listener.local_addr().map_err(failed)?;
    Ok((listener, local))
}

/// The validator of tokens from `issuer` for `audience` (keys from `jwks_uri`, or by discovery),
/// once it has its keys or `warm_up` has passed: an issuer that cannot be reached is no
/// configuration error, and until its keys come, tokens get 503 (`UNAVAILABLE` over gRPC).
pub async fn validator(
    issuer: &str,
    audience: &str,
    jwks_uri: Option<&str>,
    warm_up: Duration,
) -> Result<Validator, SetupError> {
    let mut config = AuthConfig::builder(issuer, audience);
    if let Some(jwks_uri) = jwks_uri {
        config = config.jwks_uri(jwks_uri);
    }
    let validator =
        config
            .build()
            .and_then(Validator::new)
            .map_err(|source| SetupError::Config {
                setting: setting_of(&source),
                source,
            })?;
    let readiness = validator.warm_up_for(warm_up).await;
    for issuer in readiness.not_ready() {
        tracing::warn!(issuer = %issuer.issuer, "no keys yet; tokens get 503 until they come");
    }
    Ok(validator)
}

/// The task serving an app on a listener; dropping it stops the server.
#[derive(Debug)]
pub struct Served(JoinHandle<()>);

impl Served {
    /// Serves `app` on `listener` (HTTP/1.1, and HTTP/2 where axum's `http2` feature is on).
    pub fn spawn(listener: TcpListener, app: Router) -> Served {
        Served(tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "server stopped");
            }
        }))
    }

    /// Serves until the process is stopped.
    pub async fn wait(mut self) {
        let _ = (&mut self.0).await;
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.0.abort();
    }
}
