//! The directory: create, import, read, list and delete users; read and set one user's
//! per-user MFA state.

use std::collections::HashSet;

use super::{AuditDraft, Tessera};
use crate::access::{Action, Actor, Role, TargetKind, authorize};
use crate::audit::{AuditAction, Page};
use crate::change::{Change, CreatedUser};
use crate::error::{CoreError, StoreError};
use crate::ids::{DisplayName, Upn, UserId, UserRef};
use crate::mfa::{BulkOp, BulkReport, BulkRow, PerUserMfaState, RowError, RowStatus};
use crate::password::{self, Password};
use crate::ports::{Store, StoreTx};
use crate::user::{NewUser, User, UserQuery};

use super::bulk::BulkRequestRow;

pub const MAX_PAGE: u32 = 500;
pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_IMPORT_ROWS: usize = 10_000;

/// A user to create, as the API received it.
#[derive(Clone)]
pub struct NewUserInput {
    pub upn: String,
    pub display_name: String,
    pub password: Option<String>,
    pub account_enabled: bool,
    pub roles: Vec<String>,
}

/// One row of a user import.
pub type ImportRow = NewUserInput;

impl NewUserInput {
    /// Parses every field; hashes the password off the async threads.
    async fn parse(
        self,
        tenant: crate::ids::TenantId,
        now: time::OffsetDateTime,
        slots: &std::sync::Arc<tokio::sync::Semaphore>,
    ) -> Result<NewUser, CoreError> {
        let upn = Upn::parse(&self.upn)?;
        let display_name = DisplayName::parse(&self.display_name)?;
        let mut roles = self.roles.iter().map(|r| Role::parse(r)).collect::<Result<Vec<_>, _>>()?;
        roles.sort();
        roles.dedup();
        let password_hash = match self.password {
            Some(p) => {
                let p = Password::parse(p)?;
                Some(super::run_blocking(slots, move || password::hash(&p)).await??)
            }
            None => None,
        };
        Ok(NewUser {
            id: UserId::new(),
            tenant_id: tenant,
            upn,
            display_name,
            password_hash,
            account_enabled: self.account_enabled,
            roles,
            created_at: now,
        })
    }
}

fn created_audit(draft: &AuditDraft<'_>, u: &NewUser) -> crate::audit::AuditRecord {
    draft.record(
        AuditAction::UserCreate,
        Some((u.id, u.upn.as_str())),
        Change::UserCreated(CreatedUser {
            upn: u.upn.to_string(),
            display_name: Some(u.display_name.as_str().to_owned()),
            account_enabled: Some(u.account_enabled),
            roles: u.roles.clone(),
        }),
    )
}

fn conflict_to_exists(e: StoreError, upn: &str) -> CoreError {
    match e {
        StoreError::Conflict(_) => CoreError::UserExists(upn.to_owned()),
        other => other.into(),
    }
}

impl<S: Store> Tessera<S> {
    pub async fn create_user(&self, actor: &Actor, input: NewUserInput) -> Result<User, CoreError> {
        let new = input.parse(actor.tenant_id, self.now(), &self.hash_slots).await?;
        authorize(actor, actor.tenant_id, Action::CreateUser, TargetKind::of_roles(&new.roles))?;
        let draft = AuditDraft { actor, now: self.now() };
        let mut tx = self.store.begin().await?;
        tx.insert_users(std::slice::from_ref(&new)).await.map_err(|e| conflict_to_exists(e, new.upn.as_str()))?;
        tx.insert_audit(&[created_audit(&draft, &new)]).await?;
        tx.commit().await?;
        self.store
            .user(actor.tenant_id, &UserRef::Id(new.id))
            .await?
            .ok_or_else(|| CoreError::Internal("created user vanished".into()))
    }

    /// Creates many users at once, all or nothing: one bad or duplicate row rejects the import.
    pub async fn import_users(
        &self,
        actor: &Actor,
        rows: Vec<ImportRow>,
        dry_run: bool,
    ) -> Result<BulkReport, CoreError> {
        if rows.is_empty() || rows.len() > MAX_IMPORT_ROWS {
            return Err(CoreError::InvalidRequest(format!(
                "an import takes 1-{MAX_IMPORT_ROWS} users, got {}",
                rows.len()
            )));
        }
        authorize(actor, actor.tenant_id, Action::CreateUser, TargetKind::User)?;
        let now = self.now();
        let mut parsed = Vec::with_capacity(rows.len());
        for r in rows {
            let upn = r.upn.clone();
            parsed.push((upn, r.parse(actor.tenant_id, now, &self.hash_slots).await));
        }
        let keys: Vec<UserRef> =
            parsed.iter().filter_map(|(_, p)| p.as_ref().ok().map(|u| UserRef::Upn(u.upn.clone()))).collect();
        let mut tx = self.store.begin().await?;
        let existing: HashSet<String> =
            tx.snapshots(actor.tenant_id, &keys).await?.into_iter().map(|s| s.user.upn.key()).collect();
        let draft = AuditDraft { actor, now };
        let mut seen = HashSet::new();
        let (mut results, mut users, mut audit) = (Vec::new(), Vec::new(), Vec::new());
        for (given, p) in parsed {
            let mut row =
                BulkRow { user: given, id: None, upn: None, status: RowStatus::Changed, change: None, error: None };
            match p {
                Err(e) => {
                    row.status = RowStatus::Invalid;
                    row.error = Some(RowError { code: "invalid_request", message: e.to_string() });
                }
                Ok(u) if !actor.may(Action::CreateUser, TargetKind::of_roles(&u.roles)) => {
                    row.status = RowStatus::Forbidden;
                    row.error = Some(RowError {
                        code: "forbidden",
                        message: "your role does not allow creating this user".into(),
                    });
                }
                Ok(u) if existing.contains(&u.upn.key()) || !seen.insert(u.upn.key()) => {
                    row.status = RowStatus::Invalid;
                    row.error = Some(RowError {
                        code: "user_exists",
                        message: format!("a user with UPN '{}' already exists", u.upn),
                    });
                }
                Ok(u) => {
                    row.id = Some(u.id);
                    row.upn = Some(u.upn.to_string());
                    let a = created_audit(&draft, &u);
                    row.change = a.change.clone();
                    audit.push(a);
                    users.push(u);
                }
            }
            results.push(row);
        }
        let report = BulkReport::new(dry_run, results);
        if report.summary.failed > 0 {
            return Err(CoreError::BulkRejected(Box::new(report)));
        }
        if !dry_run {
            tx.insert_users(&users).await.map_err(|e| conflict_to_exists(e, "(one of the imported users)"))?;
            tx.insert_audit(&audit).await?;
            tx.commit().await?;
        }
        Ok(report)
    }

    pub async fn delete_user(&self, actor: &Actor, user: &UserRef) -> Result<(), CoreError> {
        let permit = authorize(actor, actor.tenant_id, Action::DeleteUser, TargetKind::User)?;
        let mut tx = self.store.begin().await?;
        let snap = tx
            .snapshots(actor.tenant_id, std::slice::from_ref(user))
            .await?
            .pop()
            .ok_or_else(|| CoreError::NotFound(format!("user '{user}'")))?;
        let u = &snap.user;
        permit.check_target(u.tenant_id, &u.roles, u.upn.as_str())?;
        if u.id == actor.user_id {
            return Err(CoreError::Forbidden("you cannot delete your own account".into()));
        }
        tx.delete_user(u.id).await?;
        let draft = AuditDraft { actor, now: self.now() };
        tx.insert_audit(&[draft.record(
            AuditAction::UserDelete,
            Some((u.id, u.upn.as_str())),
            Change::UserDeleted {
                upn: u.upn.to_string(),
                display_name: u.display_name.clone(),
                state: u.per_user_mfa_state,
            },
        )])
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_user(&self, actor: &Actor, user: &UserRef) -> Result<User, CoreError> {
        authorize(actor, actor.tenant_id, Action::ReadDirectory, TargetKind::Tenant)?;
        self.store.user(actor.tenant_id, user).await?.ok_or_else(|| CoreError::NotFound(format!("user '{user}'")))
    }

    pub async fn list_users(
        &self,
        actor: &Actor,
        state: Option<PerUserMfaState>,
        search: Option<&str>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<User>, CoreError> {
        authorize(actor, actor.tenant_id, Action::ReadDirectory, TargetKind::Tenant)?;
        let limit = limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(CoreError::InvalidRequest(format!("limit must be 1-{MAX_PAGE}")));
        }
        let after = cursor.map(crate::cursor::decode_cursor).transpose()?;
        self.store
            .list_users(&UserQuery {
                tenant_id: actor.tenant_id,
                state,
                search: search.map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty()),
                limit,
                after,
            })
            .await
            .map_err(Into::into)
    }

    /// Sets one user's per-user MFA state (the Graph `authentication/requirements` PATCH).
    pub async fn set_mfa_state(
        &self,
        actor: &Actor,
        user: &UserRef,
        state: PerUserMfaState,
    ) -> Result<PerUserMfaState, CoreError> {
        let rows = vec![BulkRequestRow { user: user.to_string(), op: BulkOp::SetState(state) }];
        match self.bulk(actor, rows, false).await {
            Ok(_) => Ok(state),
            Err(CoreError::BulkRejected(report)) => Err(single_row_error(&report.results[0], user)),
            Err(e) => Err(e),
        }
    }
}

fn single_row_error(row: &BulkRow, user: &UserRef) -> CoreError {
    let message = row.error.as_ref().map(|e| e.message.clone()).unwrap_or_default();
    match row.status {
        RowStatus::NotFound => CoreError::NotFound(format!("user '{user}'")),
        RowStatus::Forbidden => CoreError::Forbidden(message),
        _ => CoreError::InvalidUpn(message),
    }
}
