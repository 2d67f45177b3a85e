//! `cargo run -p m2m-client -- --management`: gets a Logto Management API token
//! (`resource=https://<tenant-id>.logto.app/api`, `scope=all`) and lists the applications.
//!
//! | variable | default (the shopping API's embedded dev issuer) |
//! |---|---|
//! | `LOGTO_ENDPOINT` | `http://127.0.0.1:3010` (API base: `${LOGTO_ENDPOINT}/api/`) |
//! | `APP_ID` / `APP_SECRET` | `dev-management` / `management-secret` |
//! | `TENANT_ID` | from a `https://<tenant-id>.logto.app` endpoint, else `default` (Logto OSS) |

use scopegate_m2m::ManagementApi;
use scopegate_m2m::management::Application;

use crate::var;

/// The dev issuer's management app, as the shopping API registers and prints it.
const DEV_APP: (&str, &str) = ("dev-management", "management-secret");

/// The banner (to stderr) and the applications, one per line.
pub(crate) async fn run() -> Result<String, String> {
    let endpoint = var("LOGTO_ENDPOINT", crate::DEFAULT_ENDPOINT);
    let app_id = std::env::var("APP_ID").ok().filter(|v| !v.is_empty());
    let app_secret = std::env::var("APP_SECRET").ok().filter(|v| !v.is_empty());
    let (dev, app_id, app_secret) = match (app_id, app_secret) {
        (None, None) => (true, DEV_APP.0.to_owned(), DEV_APP.1.to_owned()),
        (Some(id), Some(secret)) => (false, id, secret),
        _ => return Err("set both APP_ID and APP_SECRET, or neither (the dev app)".to_owned()),
    };
    let mut builder = ManagementApi::logto(&endpoint, &app_id, app_secret);
    if let Some(tenant) = std::env::var("TENANT_ID").ok().filter(|v| !v.is_empty()) {
        builder = builder.tenant_id(tenant);
    }
    let api = builder
        .build()
        .map_err(|e| format!("invalid settings: {e}"))?;

    let resource = api.token_source().resources().join(" ");
    eprintln!("Logto Management API at {}", api.base_url());
    eprintln!("  resource: {resource}, scope: all");
    if dev {
        // Only the dev app's secret is printed: it is a published dev value.
        eprintln!(
            "  app:      {} / {} (the shopping API's dev issuer; set APP_ID and APP_SECRET for a real tenant)",
            DEV_APP.0, DEV_APP.1
        );
    } else {
        eprintln!("  app:      {app_id}");
    }

    let applications = api
        .list_applications()
        .await
        .map_err(|e| format!("GET {}applications: {e}", api.base_url()))?;
    Ok(table(&applications))
}

/// `id  type  name`, aligned, after a count.
fn table(applications: &[Application]) -> String {
    let width =
        |f: fn(&Application) -> &str| applications.iter().map(|a| f(a).len()).max().unwrap_or(0);
    let (id, kind) = (width(|a| &a.id), width(|a| &a.kind));
    let mut text = format!("{} applications:", applications.len());
    for app in applications {
        text.push_str(&format!(
            "\n  {:<id$}  {:<kind$}  {}",
            app.id, app.kind, app.name
        ));
    }
    text
}
