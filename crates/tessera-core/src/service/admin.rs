//! The admin center in the browser: the administrator behind a browser session, a user's
//! page (methods, app passwords, sessions, history), deleting one of a user's methods, the
//! registration report, and log exports.

use time::OffsetDateTime;

use super::{AuditDraft, LogFilter, RequestCtx, SessionView, Tessera};
use crate::access::{Action, Actor, TargetKind, authorize};
use crate::admin_ports::{AdminStore, AppPasswordInfo};
use crate::audit::{AuditAction, AuditQuery, AuditRecord, Page};
use crate::auth_ports::{AuthStore, AuthTx};
use crate::change::Change;
use crate::error::CoreError;
use crate::ids::{MethodId, TenantSlug, UserRef};
use crate::ports::{Store, StoreTx};
use crate::report::RegistrationReport;
use crate::session::{MethodInfo, Session, SessionStage};
use crate::signin::SignInRecord;
use crate::tokens::SessionToken;
use crate::user::User;

/// How many entries of each history the user page shows.
pub const USER_PAGE_HISTORY: u32 = 20;
/// At most this many records in one log export.
pub const MAX_EXPORT: usize = 100_000;
const EXPORT_PAGE: u32 = 500;

/// A signed-in administrator in the browser: who acts, and the session (its anti-CSRF token).
#[derive(Clone, Debug)]
pub struct AdminSession {
    pub actor: Actor,
    pub display_name: String,
    pub session: Session,
}

/// Everything the admin center's user page shows. The sessions and histories are `None` when
/// the actor's role may not read the logs.
#[derive(Clone, Debug)]
pub struct UserDetail {
    pub user: User,
    pub methods: Vec<MethodInfo>,
    pub recovery_codes_left: u32,
    pub app_passwords: Vec<AppPasswordInfo>,
    pub remembered_devices_not_before: Option<OffsetDateTime>,
    /// The remembered devices that still count: like the sessions, `None` for roles that may
    /// not read the logs.
    pub remembered_devices: Option<Vec<crate::credential_ports::RememberedDevice>>,
    /// The user's sessions: their IPs and user agents are sign-in data, so `None` for roles
    /// that may not read the logs (as [`Tessera::user_sessions`]).
    pub sessions: Option<Vec<SessionView>>,
    /// Audit records targeting the user whose action starts with `user.mfa`, newest first.
    pub mfa_history: Option<Vec<AuditRecord>>,
    /// The user's sign-ins, newest first.
    pub signins: Option<Vec<SignInRecord>>,
    /// Audit records with the user as actor or as target, newest first.
    pub audit: Option<Vec<AuditRecord>>,
}

/// Up to `max` records of an export, and whether there were more.
#[derive(Clone, Debug)]
pub struct Export<T> {
    pub items: Vec<T>,
    pub truncated: bool,
}

impl<S> Tessera<S>
where
    S: Store + AuthStore + AdminStore + crate::credential_ports::CredentialStore,
    S::Tx: AuthTx,
{
    /// The administrator behind browser session `token` on the admin pages of tenant `slug`:
    /// the session must be fully signed in (its second factor given when the user's state
    /// requires one), belong to that tenant, and its user must be enabled and hold at least one
    /// administrator role. A session still waiting for the second factor or for registration
    /// is `MfaRequired` / `MfaRegistrationRequired`; no valid session is `Unauthorized`.
    pub async fn admin_session(
        &self,
        slug: &TenantSlug,
        token: &SessionToken,
        ctx: &RequestCtx,
    ) -> Result<AdminSession, CoreError> {
        let session = self.session_in_tenant(slug, token).await?.ok_or(CoreError::Unauthorized)?;
        match session.stage {
            SessionStage::SignedIn => {}
            SessionStage::MfaRequired => return Err(CoreError::MfaRequired),
            SessionStage::RegistrationRequired => return Err(CoreError::MfaRegistrationRequired),
        }
        let user =
            self.store.user(session.tenant_id, &UserRef::Id(session.user_id)).await?.ok_or(CoreError::Unauthorized)?;
        if !user.account_enabled {
            return Err(CoreError::Forbidden("your account is blocked".into()));
        }
        if user.roles.is_empty() {
            return Err(CoreError::Forbidden(
                "You don't have an administrator role in this organisation, so the admin center is not available to you."
                    .into(),
            ));
        }
        let actor = Actor::authenticated(&user, ctx.source_ip);
        Ok(AdminSession { actor, display_name: user.display_name, session })
    }

    /// As [`Tessera::admin_session`], the actor only.
    pub async fn admin_actor(
        &self,
        slug: &TenantSlug,
        token: &SessionToken,
        ctx: &RequestCtx,
    ) -> Result<Actor, CoreError> {
        Ok(self.admin_session(slug, token, ctx).await?.actor)
    }

    /// The tenant slug of a valid browser session, whatever its stage.
    pub async fn session_tenant(&self, token: &SessionToken) -> Result<Option<String>, CoreError> {
        let Some(s) = self.current_session(token).await? else { return Ok(None) };
        Ok(self.store.tenant_slug(s.tenant_id).await?)
    }

    /// What the admin center shows about one user.
    pub async fn user_detail(&self, actor: &Actor, user: &UserRef) -> Result<UserDetail, CoreError> {
        let user = self.get_user(actor, user).await?;
        let now = self.now();
        let (mut sessions, mut mfa_history, mut signins, mut audit) = (None, None, None, None);
        let mut remembered_devices = None;
        if actor.may(Action::ReadLogs, TargetKind::Tenant) {
            remembered_devices = Some(self.store.remembered_devices(user.id, now).await?);
            let all = self.store.user_sessions(user.id).await?;
            sessions = Some(all.iter().filter(|s| s.expires_at > now).map(SessionView::from).collect());
            let key = user.upn.key();
            let query = |actor_key: Option<&str>, target_key: Option<&str>, action: Option<&str>| AuditQuery {
                tenant_id: actor.tenant_id,
                since: None,
                until: None,
                actor: actor_key.map(str::to_owned),
                target: target_key.map(str::to_owned),
                action: action.map(str::to_owned),
                limit: USER_PAGE_HISTORY,
                before_id: None,
            };
            mfa_history = Some(self.store.audit(&query(None, Some(&key), Some("user.mfa"))).await?.items);
            signins = Some(self.store.signins(&query(Some(&key), None, None)).await?.items);
            let mut both = self.store.audit(&query(Some(&key), None, None)).await?.items;
            both.extend(self.store.audit(&query(None, Some(&key), None)).await?.items);
            both.sort_by_key(|r| std::cmp::Reverse(r.id));
            both.dedup_by_key(|r| r.id);
            both.truncate(USER_PAGE_HISTORY as usize);
            audit = Some(both);
        }
        Ok(UserDetail {
            methods: self.store.methods(user.id).await?,
            recovery_codes_left: self.store.recovery_codes_left(user.id).await?,
            app_passwords: self.store.app_passwords(user.id).await?,
            remembered_devices_not_before: self.store.remembered_devices_not_before(user.id).await?,
            remembered_devices,
            sessions,
            mfa_history,
            signins,
            audit,
            user,
        })
    }

    /// An administrator deletes one of a user's registered methods (not their recovery codes:
    /// "require re-registration" removes everything). Needs the right to manage the user's
    /// methods; audited as `user.method.delete`.
    pub async fn delete_user_method(&self, actor: &Actor, user: &UserRef, id: MethodId) -> Result<(), CoreError> {
        let permit = authorize(actor, actor.tenant_id, Action::ManageMethods, TargetKind::User)?;
        let user = self.get_user(actor, user).await?;
        permit.check_target(user.tenant_id, &user.roles, user.upn.as_str())?;
        let not_found = || CoreError::NotFound("the sign-in method".into());
        let info = self.store.methods(user.id).await?.into_iter().find(|m| m.id == id).ok_or_else(not_found)?;
        let mut tx = self.store.begin().await?;
        if !tx.delete_method(user.id, id).await? {
            return Err(not_found());
        }
        let draft = AuditDraft { actor, now: self.now() };
        tx.insert_audit(&[draft.record(
            AuditAction::MethodDelete,
            Some((user.id, user.upn.as_str())),
            Change::MethodDeleted { id, method: Some((info.kind, info.label)) },
        )])
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The registration report, with one page (`limit`, `cursor`) of the users who are enabled
    /// or enforced but have registered nothing.
    pub async fn registration_report(
        &self,
        actor: &Actor,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<RegistrationReport, CoreError> {
        authorize(actor, actor.tenant_id, Action::ReadDirectory, TargetKind::Tenant)?;
        let limit = limit.unwrap_or(super::directory::DEFAULT_PAGE);
        if !(1..=super::directory::MAX_PAGE).contains(&limit) {
            return Err(CoreError::InvalidRequest(format!("limit must be 1-{}", super::directory::MAX_PAGE)));
        }
        let after = cursor.map(crate::cursor::decode_cursor).transpose()?;
        let counts = self.store.registration_counts(actor.tenant_id).await?;
        let unregistered = self.store.unregistered_users(actor.tenant_id, limit, after).await?;
        Ok(RegistrationReport { counts, unregistered })
    }

    /// The whole filtered audit log (newest first) for an export, up to [`MAX_EXPORT`]
    /// records; `filter.limit` and `filter.cursor` are ignored.
    pub async fn export_audit(&self, actor: &Actor, filter: LogFilter) -> Result<Export<AuditRecord>, CoreError> {
        export_all(filter, |f| self.audit_log(actor, f)).await
    }

    /// As [`Tessera::export_audit`], for the sign-in log.
    pub async fn export_signins(&self, actor: &Actor, filter: LogFilter) -> Result<Export<SignInRecord>, CoreError> {
        export_all(filter, |f| self.signin_log(actor, f)).await
    }
}

/// Reads a log page after page through `read`, up to [`MAX_EXPORT`] records.
async fn export_all<T, F, Fut>(filter: LogFilter, mut read: F) -> Result<Export<T>, CoreError>
where
    F: FnMut(LogFilter) -> Fut,
    Fut: Future<Output = Result<Page<T>, CoreError>>,
{
    let mut out = Export { items: Vec::new(), truncated: false };
    let mut filter = LogFilter { limit: Some(EXPORT_PAGE), cursor: None, ..filter };
    loop {
        let page = read(filter.clone()).await?;
        out.items.extend(page.items);
        match page.next {
            Some(_) if out.items.len() >= MAX_EXPORT => {
                out.truncated = true;
                out.items.truncate(MAX_EXPORT);
                return Ok(out);
            }
            Some(next) => filter.cursor = Some(next),
            None => return Ok(out),
        }
    }
}
