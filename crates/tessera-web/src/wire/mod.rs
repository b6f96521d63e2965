//! The JSON of `/api/v1`: the bodies the handlers send and accept, apart from the core's
//! types, so that the core knows no HTTP field names and the OpenAPI document is derived
//! from what really goes over the wire. Each type is built from the core's by `From`.
//!
//! The types also deserialize, for clients (the `tessera` CLI): a missing field takes its
//! default and an unknown one is ignored, so an older or newer server still answers.
//! Deserializing changes nothing in what the server sends.

mod bulk;
mod credentials;
mod logs;
mod settings;
mod users;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

pub use bulk::{BulkRejected, BulkReport, BulkRow, BulkSummary, RowError};
pub use credentials::{
    AppPassword, AppPasswordList, RememberedDevice, RememberedDeviceList, Revoked, Session, SessionList,
};
pub use logs::{AuditPage, AuditRecord, SignInPage, SignInRecord};
pub(crate) use settings::field_name as settings_field_name;
pub use settings::{MfaSettings, MfaSettingsPatch};
pub use users::{User, UserPage};

/// The answer of `POST /api/v1/auth/token`. Not `Debug`: it holds a bearer token.
#[derive(Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct TokenResponse {
    #[schema(required)]
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(required)]
    pub token_type: String,
    /// Seconds until the token expires.
    #[schema(required)]
    pub expires_in: i64,
}

/// A time as the API writes it: RFC 3339.
fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// A change record (audit, bulk) as JSON; `None` for none.
fn json_of<T: Serialize>(v: &T) -> Option<serde_json::Value> {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::Null) | Err(_) => None,
        Ok(v) => Some(v),
    }
}
