//! Integration tests over real HTTP on 127.0.0.1: the dev issuer, the validator, the layer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod architecture;
mod attacks;
mod cache;
mod challenges;
mod cross_site;
mod dpop_attacks;
mod dpop_client;
mod dpop_interop;
mod dpop_redis;
mod guidance;
mod interop;
mod introspection;
mod introspection_interop;
mod issuers;
mod jwks_lifecycle;
mod key_identity;
mod keyset;
mod kidless;
mod layer;
mod management_interop;
mod metadata;
mod openapi;
mod readiness;
mod redirects;
mod refresh_task;
mod resolver;
mod secrets;
mod validator;
mod verdicts;
