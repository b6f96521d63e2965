//! Reading the audit and sign-in logs; reading and changing the MFA service settings.

use time::OffsetDateTime;

use super::{AuditDraft, Tessera};
use crate::access::{Action, Actor, TargetKind, authorize};
use crate::audit::{AuditAction, AuditQuery, AuditRecord, Page};
use crate::change::Change;
use crate::error::CoreError;
use crate::ids::AuditId;
use crate::ports::{Store, StoreTx};
use crate::settings::{MfaSettings, MfaSettingsPatch};
use crate::signin::SignInRecord;

/// Filters of a log query, as the API received them.
#[derive(Clone, Debug, Default)]
pub struct LogFilter {
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    pub actor: Option<String>,
    pub target: Option<String>,
    pub action: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl LogFilter {
    fn query(self, actor: &Actor) -> Result<AuditQuery, CoreError> {
        let limit = self.limit.unwrap_or(super::directory::DEFAULT_PAGE);
        if !(1..=super::directory::MAX_PAGE).contains(&limit) {
            return Err(CoreError::InvalidRequest(format!("limit must be 1-{}", super::directory::MAX_PAGE)));
        }
        let before_id = match self.cursor {
            Some(c) => Some(
                AuditId::parse(&crate::cursor::decode_cursor(&c)?)
                    .ok_or_else(|| CoreError::InvalidCursor("the cursor is not valid".into()))?,
            ),
            None => None,
        };
        let lower = |s: Option<String>| s.map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty());
        Ok(AuditQuery {
            tenant_id: actor.tenant_id,
            since: self.since,
            until: self.until,
            actor: lower(self.actor),
            target: lower(self.target),
            action: self.action.filter(|a| !a.is_empty()),
            limit,
            before_id,
        })
    }
}

impl<S: Store> Tessera<S> {
    pub async fn audit_log(&self, actor: &Actor, filter: LogFilter) -> Result<Page<AuditRecord>, CoreError> {
        authorize(actor, actor.tenant_id, Action::ReadLogs, TargetKind::Tenant)?;
        Ok(self.store.audit(&filter.query(actor)?).await?)
    }

    pub async fn signin_log(&self, actor: &Actor, filter: LogFilter) -> Result<Page<SignInRecord>, CoreError> {
        authorize(actor, actor.tenant_id, Action::ReadLogs, TargetKind::Tenant)?;
        Ok(self.store.signins(&filter.query(actor)?).await?)
    }

    pub async fn mfa_settings(&self, actor: &Actor) -> Result<MfaSettings, CoreError> {
        authorize(actor, actor.tenant_id, Action::ReadSettings, TargetKind::Tenant)?;
        Ok(self.store.settings(actor.tenant_id).await?)
    }

    pub async fn update_mfa_settings(&self, actor: &Actor, patch: MfaSettingsPatch) -> Result<MfaSettings, CoreError> {
        authorize(actor, actor.tenant_id, Action::UpdateSettings, TargetKind::Tenant)?;
        let mut tx = self.store.begin().await?;
        let before = tx.settings(actor.tenant_id).await?;
        let after = before.patched(&patch)?;
        if after != before {
            tx.put_settings(actor.tenant_id, &after).await?;
            let draft = AuditDraft { actor, now: self.now() };
            tx.insert_audit(&[draft.record(
                AuditAction::MfaSettingsUpdate,
                None,
                Change::Settings { before: Box::new(before), after: Box::new(after.clone()) },
            )])
            .await?;
            tx.commit().await?;
        }
        Ok(after)
    }
}
