//! The audit and sign-in logs.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tessera_core::audit::Page;
use utoipa::ToSchema;

/// One change, as written in the audit log: who, when, from where, to whom, before → after.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct AuditRecord {
    #[schema(required)]
    pub id: String,
    /// RFC 3339.
    #[schema(required)]
    pub time: String,
    pub actor_id: Option<String>,
    #[schema(required)]
    pub actor_upn: String,
    pub source_ip: Option<String>,
    #[schema(required)]
    pub action: String,
    pub target_id: Option<String>,
    pub target_upn: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    #[schema(required)]
    pub correlation_id: String,
}

impl From<tessera_core::audit::AuditRecord> for AuditRecord {
    fn from(r: tessera_core::audit::AuditRecord) -> Self {
        let (before, after) = r.json();
        Self {
            id: r.id.to_string(),
            time: super::rfc3339(r.time),
            actor_id: r.actor_id.map(|i| i.to_string()),
            actor_upn: r.actor_upn,
            source_ip: r.source_ip.as_ref().map(ToString::to_string),
            action: r.action.as_str().to_owned(),
            target_id: r.target_id.map(|i| i.to_string()),
            target_upn: r.target_upn,
            before: super::json_of(&before),
            after: super::json_of(&after),
            correlation_id: r.correlation_id.to_string(),
        }
    }
}

/// One page of the audit log, newest first.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct AuditPage {
    #[schema(required)]
    pub items: Vec<AuditRecord>,
    /// Cursor of the next page; null on the last page.
    pub next: Option<String>,
}

impl From<Page<tessera_core::audit::AuditRecord>> for AuditPage {
    fn from(p: Page<tessera_core::audit::AuditRecord>) -> Self {
        Self { items: p.items.into_iter().map(Into::into).collect(), next: p.next }
    }
}

/// One sign-in attempt, as written in the sign-in log.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct SignInRecord {
    #[schema(required)]
    pub id: String,
    /// RFC 3339.
    #[schema(required)]
    pub time: String,
    pub user_id: Option<String>,
    /// The UPN as typed (lower-cased).
    #[schema(required)]
    pub upn: String,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// `api`, `browser` or `legacy`.
    #[schema(required)]
    pub client: String,
    /// `success` or `failure`.
    #[schema(required)]
    pub result: String,
    pub failure_reason: Option<String>,
    /// `none` or `perUserState`.
    #[schema(required)]
    pub mfa_required_by: String,
    pub mfa_method: Option<String>,
    /// What was presented: `password` or `appPassword`; null when the attempt never got to a
    /// credential check (e.g. a second-factor step).
    pub credential: Option<String>,
    /// Why MFA was required but not asked for: `trustedIp` or `rememberedDevice`.
    pub mfa_skipped_by: Option<String>,
}

impl From<tessera_core::signin::SignInRecord> for SignInRecord {
    fn from(r: tessera_core::signin::SignInRecord) -> Self {
        Self {
            id: r.id.to_string(),
            time: super::rfc3339(r.time),
            user_id: r.user_id.map(|i| i.to_string()),
            upn: r.upn,
            source_ip: r.source_ip.as_ref().map(ToString::to_string),
            user_agent: r.user_agent,
            client: r.client.as_str().to_owned(),
            result: r.result.as_str().to_owned(),
            failure_reason: r.failure_reason.as_ref().map(|f| f.as_str().to_owned()),
            mfa_required_by: r.mfa_required_by.as_str().to_owned(),
            mfa_method: r.mfa_method.map(|m| m.as_str().to_owned()),
            credential: r.credential.as_ref().map(|c| c.as_str().to_owned()),
            mfa_skipped_by: r.mfa_skipped_by.map(|s| s.as_str().to_owned()),
        }
    }
}

/// One page of the sign-in log, newest first.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct SignInPage {
    #[schema(required)]
    pub items: Vec<SignInRecord>,
    /// Cursor of the next page; null on the last page.
    pub next: Option<String>,
}

impl From<Page<tessera_core::signin::SignInRecord>> for SignInPage {
    fn from(p: Page<tessera_core::signin::SignInRecord>) -> Self {
        Self { items: p.items.into_iter().map(Into::into).collect(), next: p.next }
    }
}
