//! A user's sessions, app passwords and remembered devices, as an administrator sees them
//! (never a secret or a token).

use serde::{Deserialize, Serialize};
use tessera_core::admin_ports::AppPasswordInfo;
use tessera_core::service::SessionView;
use utoipa::ToSchema;

use super::rfc3339;

/// A session, by a short, non-secret reference.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Session {
    /// A short, non-secret reference.
    #[schema(required)]
    pub id: String,
    #[schema(required)]
    pub created_at: String,
    #[schema(required)]
    pub last_seen_at: String,
    #[schema(required)]
    pub expires_at: String,
    /// `signed_in`, `mfa` or `register`.
    #[schema(required)]
    pub stage: String,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
}

impl From<SessionView> for Session {
    fn from(s: SessionView) -> Self {
        Self {
            id: s.id,
            created_at: rfc3339(s.created_at),
            last_seen_at: rfc3339(s.last_seen_at),
            expires_at: rfc3339(s.expires_at),
            stage: s.stage.to_owned(),
            source_ip: s.source_ip.as_ref().map(ToString::to_string),
            user_agent: s.user_agent,
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct SessionList {
    #[schema(required)]
    pub items: Vec<Session>,
}

/// The answer of "revoke all sessions".
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct Revoked {
    /// How many sessions and API tokens ended.
    pub revoked: u64,
}

/// An app password of a user: its name and times (the secret was shown once, to the user).
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct AppPassword {
    #[schema(required)]
    pub id: String,
    /// The name the user gave it, e.g. `Mail on my phone`.
    #[schema(required)]
    pub name: String,
    /// RFC 3339.
    #[schema(required)]
    pub created_at: String,
    /// RFC 3339; null when it was never used.
    pub last_used_at: Option<String>,
}

impl From<AppPasswordInfo> for AppPassword {
    fn from(a: AppPasswordInfo) -> Self {
        Self {
            id: a.id.to_string(),
            name: a.name,
            created_at: rfc3339(a.created_at),
            last_used_at: a.last_used_at.map(rfc3339),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct AppPasswordList {
    #[schema(required)]
    pub items: Vec<AppPassword>,
}

/// A browser where the user ticked "Don't ask again" at the MFA prompt (never its token).
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct RememberedDevice {
    #[schema(required)]
    pub id: String,
    /// RFC 3339: when "Don't ask again" was ticked.
    #[schema(required)]
    pub created_at: String,
    /// RFC 3339; null when it has not skipped a prompt yet.
    pub last_used_at: Option<String>,
    /// RFC 3339: the prompt comes back after this time.
    #[schema(required)]
    pub expires_at: String,
    /// Where and in which browser it was remembered.
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
}

impl From<tessera_core::credential_ports::RememberedDevice> for RememberedDevice {
    fn from(d: tessera_core::credential_ports::RememberedDevice) -> Self {
        Self {
            id: d.id.to_string(),
            created_at: rfc3339(d.created_at),
            last_used_at: d.last_used_at.map(rfc3339),
            expires_at: rfc3339(d.expires_at),
            source_ip: d.source_ip.as_ref().map(ToString::to_string),
            user_agent: d.user_agent,
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct RememberedDeviceList {
    #[schema(required)]
    pub items: Vec<RememberedDevice>,
}
