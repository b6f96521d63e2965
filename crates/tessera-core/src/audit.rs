//! Audit records: who did what, when, from where, to whom, before -> after.

use std::net::IpAddr;

use time::OffsetDateTime;

use crate::ids::{AuditId, CorrelationId, TenantId, UserId};

#[derive(Clone, Debug)]
pub struct AuditRecord {
    pub id: AuditId,
    pub tenant_id: TenantId,
    pub time: OffsetDateTime,
    pub actor_id: Option<UserId>,
    pub actor_upn: String,
    pub source_ip: Option<IpAddr>,
    pub action: String,
    pub target_id: Option<UserId>,
    pub target_upn: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub correlation_id: CorrelationId,
}

/// Filters of the audit log; newest first.
#[derive(Clone, Debug)]
pub struct AuditQuery {
    pub tenant_id: TenantId,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    /// Lower-cased UPN of the actor.
    pub actor: Option<String>,
    /// Lower-cased UPN of the target.
    pub target: Option<String>,
    /// Action name prefix, e.g. `user.mfa`.
    pub action: Option<String>,
    pub limit: u32,
    /// Records older than this one (the previous page's last id).
    pub before_id: Option<AuditId>,
}

/// One page of results and the cursor of the next page, if any.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}
