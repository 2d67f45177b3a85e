//! A `reqwest` client builder whose TLS uses the provider of the chosen crypto backend.
//!
//! reqwest's `rustls` feature brings aws-lc-rs (and the C library aws-lc-sys, built with cmake)
//! as rustls's provider, whatever the rest of the build chose. With `rust-crypto` alone, reqwest
//! is built without a provider (`rustls-no-provider`) and each client is given one here: the
//! application's process default if it installed one (e.g. a pure-Rust provider), else ring,
//! which rustls supports first-hand and which builds with a C compiler only. Nothing is
//! installed process-wide: an application's own `install_default` still succeeds.

/// A `reqwest::ClientBuilder` with TLS set up for the enabled backend: reqwest's own aws-lc-rs
/// setup when `aws-lc-rs` is on, otherwise a rustls config on the application's default
/// provider or ring, verifying servers against the platform's roots like reqwest does.
///
/// ```no_run
/// let client = scopegate_http::client_builder()?.build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn client_builder() -> Result<reqwest::ClientBuilder, rustls::Error> {
    #[cfg(feature = "aws-lc-rs")]
    {
        Ok(reqwest::Client::builder())
    }
    #[cfg(not(feature = "aws-lc-rs"))]
    {
        use std::sync::Arc;

        use rustls_platform_verifier::BuilderVerifierExt as _;

        let provider = rustls::crypto::CryptoProvider::get_default()
            .cloned()
            .unwrap_or_else(|| Arc::new(default_provider()));
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_platform_verifier()?
            .with_no_client_auth();
        // The clients here speak HTTP/1.1 only (reqwest without `http2`).
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(reqwest::Client::builder().tls_backend_preconfigured(tls))
    }
}

#[cfg(all(not(feature = "aws-lc-rs"), feature = "rust-crypto"))]
fn default_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

#[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
compile_error!(
    "scopegate-http: the `reqwest` feature needs a TLS provider: enable `aws-lc-rs` or `rust-crypto`"
);
