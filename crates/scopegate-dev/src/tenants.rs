//! Several issuers on one port, each under its own path: the tenants of a multi-tenant SaaS
//! issuer (one Logto Cloud tenant per customer), for tests of issuers resolved at run time.

use std::sync::Arc;
#[cfg(feature = "testing")]
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
#[cfg(feature = "testing")]
use axum::http::StatusCode;

use crate::{DevIssuer, DevIssuerBuilder, DevIssuerError, server};

/// The server task, aborted when the last issuer it serves is dropped.
#[derive(Debug)]
pub(crate) struct ServerTask {
    task: tokio::task::JoinHandle<()>,
    /// Requests no route matched (404): for tenants, those naming a tenant that is not there.
    #[cfg(feature = "testing")]
    unrouted: Arc<AtomicU64>,
}

impl ServerTask {
    pub(crate) fn spawn(listener: tokio::net::TcpListener, app: Router) -> Arc<ServerTask> {
        // A counter like the others (feature `testing`): the plain issuer answers 404 unrouted.
        #[cfg(feature = "testing")]
        let (app, unrouted) = {
            let unrouted = Arc::new(AtomicU64::new(0));
            let counted = Arc::clone(&unrouted);
            let app = app.fallback(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                std::future::ready(StatusCode::NOT_FOUND)
            });
            (app, unrouted)
        };
        let task = tokio::spawn(server::serve(listener, app));
        Arc::new(ServerTask {
            task,
            #[cfg(feature = "testing")]
            unrouted,
        })
    }
}

impl Drop for ServerTask {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
impl DevIssuer {
    /// Requests to this issuer's port that no route matched (answered 404): with
    /// [`start_tenants`](DevIssuerBuilder::start_tenants), the discovery and JWKS requests for
    /// tenants that do not exist. Shared by the tenants of one port.
    pub fn unrouted_requests(&self) -> u64 {
        self.server.unrouted.load(Ordering::SeqCst)
    }
}

impl DevIssuerBuilder {
    /// Starts one issuer per tenant name, all on one loopback port: tenant `acme` is the issuer
    /// `http://127.0.0.1:<port>/t/acme/oidc`, with its own signing key (the same `kid` at every
    /// tenant when [`key_id`](Self::key_id) is set), clients, endpoints and request counters.
    /// Serving stops when the last of them is dropped.
    ///
    /// A name must be a non-empty path segment of ASCII letters, digits, `-` and `_`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), scopegate_dev::DevIssuerError> {
    /// let tenants = scopegate_dev::DevIssuer::builder().start_tenants(["acme", "globex"]).await?;
    /// let port = tenants[0].addr().port();
    /// assert_eq!(tenants[1].issuer(), format!("http://127.0.0.1:{port}/t/globex/oidc"));
    /// # Ok(()) }
    /// ```
    pub async fn start_tenants<I, S>(self, names: I) -> Result<Vec<DevIssuer>, DevIssuerError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let listener = tokio::net::TcpListener::bind(self.bind).await?;
        let addr = listener.local_addr()?;
        let mut app = Router::new();
        let mut states = Vec::new();
        for name in names {
            let name = name.as_ref();
            let segment = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !segment || states.iter().any(|(n, _)| n == name) {
                return Err(DevIssuerError::InvalidTenant(name.to_owned()));
            }
            let state = self.state(format!("http://{addr}/t/{name}/oidc"))?;
            app = app.nest(&format!("/t/{name}"), server::app(Arc::clone(&state))?);
            states.push((name.to_owned(), state));
        }
        let server = ServerTask::spawn(listener, app);
        tracing::info!(target: "scopegate_dev", %addr, tenants = states.len(), "dev tenants listening");
        Ok(states
            .into_iter()
            .map(|(_, state)| DevIssuer {
                state,
                addr,
                server: Arc::clone(&server),
            })
            .collect())
    }
}
