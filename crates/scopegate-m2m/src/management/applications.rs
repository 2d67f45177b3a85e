//! The typed routes of the Management API: its resource types and the calls that return them.
//! Apart from the client, which knows no route, so that each route added here stays a few lines
//! on top of [`get_json`](super::ManagementApi::get_json).

use super::{ManagementApi, ManagementError};

/// One application, as listed by `GET /api/applications` (the fields every Logto version sends;
/// the others, the secret included, are not kept).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[non_exhaustive]
pub struct Application {
    /// The app id.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Its type: `MachineToMachine`, `Traditional`, `SPA`, `Native`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// Its description, if any.
    #[serde(default)]
    pub description: Option<String>,
}

impl ManagementApi {
    /// `GET /api/applications`: every application of the tenant.
    pub async fn list_applications(&self) -> Result<Vec<Application>, ManagementError> {
        self.get_json("applications").await
    }
}
