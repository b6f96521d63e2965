//! Audit records: who did what, when, from where, to whom, before -> after.

use std::net::IpAddr;

use time::OffsetDateTime;

use crate::change::{Change, ChangeJson};
use crate::closed::closed_set;
use crate::ids::{AuditId, CorrelationId, TenantId, UserId};

closed_set! {
    /// What an audit record says was done. The names are dotted, `object.verb`, so that a
    /// prefix (`user.mfa`) filters a family of actions.
    pub enum AuditAction("audit action") {
        TenantCreate = "tenant.create",
        UserCreate = "user.create",
        UserDelete = "user.delete",
        /// The Enable quick step.
        MfaEnable = "user.mfa.enable",
        /// The Enforce quick step, and an enabled user who registered a method.
        MfaEnforce = "user.mfa.enforce",
        /// The Disable quick step.
        MfaDisable = "user.mfa.disable",
        /// A state set explicitly (the API's `PATCH .../requirements`, a CSV's state column).
        MfaSetState = "user.mfa.setState",
        MfaManageUserSettings = "user.mfa.manageUserSettings",
        MethodRegister = "user.method.register",
        MethodDelete = "user.method.delete",
        RecoveryCodesCreate = "user.recoveryCodes.create",
        RecoveryCodesRegenerate = "user.recoveryCodes.regenerate",
        AppPasswordCreate = "user.appPassword.create",
        AppPasswordDelete = "user.appPassword.delete",
        RememberedDeviceCreate = "user.rememberedDevice.create",
        RememberedDeviceDelete = "user.rememberedDevice.delete",
        PasswordChange = "user.password.change",
        AccountUpdate = "user.account.update",
        SessionsRevoke = "user.sessions.revoke",
        MfaSettingsUpdate = "settings.mfa.update",
    }
}

#[derive(Clone, Debug)]
pub struct AuditRecord {
    pub id: AuditId,
    pub tenant_id: TenantId,
    pub time: OffsetDateTime,
    pub actor_id: Option<UserId>,
    pub actor_upn: String,
    pub source_ip: Option<IpAddr>,
    pub action: AuditAction,
    pub target_id: Option<UserId>,
    pub target_upn: Option<String>,
    /// Before → after; `None` for a record that says nothing more than its action.
    pub change: Option<Change>,
    pub correlation_id: CorrelationId,
}

impl AuditRecord {
    /// The `before` and `after` JSON of the record (see [`Change::to_json`]).
    pub fn json(&self) -> ChangeJson {
        self.change.as_ref().map_or((None, None), Change::to_json)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_actions_round_trip() {
        crate::closed::assert_round_trip(AuditAction::ALL, AuditAction::as_str, |s| AuditAction::parse(s).ok());
    }
}
