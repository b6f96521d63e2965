//! App passwords and remembered devices, for their user (self-service, from a signed-in
//! session) and for administrators; and the account changes that end remembered devices (a
//! password reset, disabling the account).

use time::Duration;

use super::signin::{random_token, sha256_b64};
use super::{AuditDraft, RequestCtx, Tessera};
use crate::access::{Action, Actor, TargetKind, authorize};
use crate::admin_ports::{AdminStore, AppPasswordInfo};
use crate::app_password::{self, MAX_APP_PASSWORDS};
use crate::audit::AuditAction;
use crate::auth_ports::{AuthStore, AuthTx};
use crate::change::{AccountChange, Change};
use crate::credential_ports::{AppPasswordRecord, CredentialStore, CredentialTx, RememberedDevice};
use crate::error::CoreError;
use crate::ids::{AppPasswordId, DeviceId, UserRef};
use crate::password::{self, Password};
use crate::ports::{Store, StoreTx};
use crate::session::{Session, SessionStage, ThrottleKey};
use crate::tokens::SessionToken;
use crate::user::User;

/// An app password just created: its secret is shown this once and never stored.
pub struct NewAppPassword {
    pub info: AppPasswordInfo,
    pub secret: zeroize::Zeroizing<String>,
}

impl std::fmt::Debug for NewAppPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAppPassword").field("info", &self.info).field("secret", &"***").finish()
    }
}

/// A device just remembered: the cookie value (returned once) and how long it lasts.
pub struct DeviceToken {
    pub token: String,
    pub max_age: Duration,
}

/// An administrator's change to a user's account (the Graph `PATCH /users/{id}` subset).
#[derive(Default)]
pub struct AccountPatch {
    pub account_enabled: Option<bool>,
    pub password: Option<String>,
}

/// What a signed-in user sees of their app passwords and remembered devices.
pub struct MyCredentials {
    pub app_passwords_allowed: bool,
    pub app_passwords: Vec<AppPasswordInfo>,
    pub remember_devices_allowed: bool,
    pub remembered_devices: Vec<RememberedDevice>,
}

/// An app password or remembered device id as the caller gave it; one that is not an id is
/// "not found", like an id of nothing.
impl<S> Tessera<S>
where
    S: Store + AuthStore + CredentialStore + AdminStore,
    S::Tx: AuthTx + CredentialTx,
{
    /// The signed-in (not half-signed-in) user of a session.
    async fn signed_in_user(&self, token: &SessionToken) -> Result<(Session, User), CoreError> {
        let (s, user) = self.session_user(token).await?;
        if s.stage != SessionStage::SignedIn {
            return Err(CoreError::Unauthorized);
        }
        Ok((s, user))
    }

    /// The signed-in user's app passwords and remembered devices.
    pub async fn my_credentials(&self, token: &SessionToken) -> Result<MyCredentials, CoreError> {
        let (_, user) = self.signed_in_user(token).await?;
        let settings = self.store.settings(user.tenant_id).await?;
        Ok(MyCredentials {
            app_passwords_allowed: settings.allow_app_passwords,
            app_passwords: self.store.app_passwords(user.id).await?,
            remember_devices_allowed: settings.allow_remember_devices,
            remembered_devices: self.store.remembered_devices(user.id, self.now()).await?,
        })
    }

    /// Creates an app password for the signed-in user, when the tenant allows them: needs a
    /// second factor given in the last minutes (if the user has one), at most 40 per user.
    pub async fn create_app_password(
        &self,
        token: &SessionToken,
        name: &str,
        ctx: &RequestCtx,
    ) -> Result<NewAppPassword, CoreError> {
        let (s, user) = self.signed_in_user(token).await?;
        let name = app_password::validate_name(name)?;
        if !self.store.settings(user.tenant_id).await?.allow_app_passwords {
            return Err(CoreError::Forbidden("your organisation does not allow app passwords".into()));
        }
        if self.needs_fresh_mfa(&s, &user) {
            return Err(CoreError::FreshMfaRequired);
        }
        let secret = app_password::generate()?;
        let normalized = app_password::normalize(&secret).ok_or_else(|| CoreError::Internal("app password".into()))?;
        let now = self.now();
        let rec = AppPasswordRecord {
            id: AppPasswordId::new(),
            user_id: user.id,
            name,
            password_hash: app_password::hash(&normalized),
            created_at: now,
        };
        let actor = super::signin::self_actor(&user, ctx.source_ip);
        let mut tx = self.store.begin().await?;
        // The tenant's settings are read again inside the transaction: an admin who turns app
        // passwords off at this moment is not overtaken.
        if !tx.settings(user.tenant_id).await?.allow_app_passwords {
            return Err(CoreError::Forbidden("your organisation does not allow app passwords".into()));
        }
        if tx.app_password_count_for_update(user.id).await? >= MAX_APP_PASSWORDS {
            return Err(CoreError::LimitReached(format!(
                "you have {MAX_APP_PASSWORDS} app passwords, the most allowed: delete one you no longer use first"
            )));
        }
        tx.insert_app_password(&rec).await?;
        let draft = AuditDraft { actor: &actor, now };
        tx.insert_audit(&[draft.record(
            AuditAction::AppPasswordCreate,
            Some((user.id, user.upn.as_str())),
            Change::AppPasswordCreated { id: rec.id, name: rec.name.clone() },
        )])
        .await?;
        tx.commit().await?;
        Ok(NewAppPassword {
            info: AppPasswordInfo { id: rec.id, name: rec.name, created_at: now, last_used_at: None },
            secret,
        })
    }

    /// Deletes one of the signed-in user's app passwords.
    pub async fn delete_my_app_password(
        &self,
        token: &SessionToken,
        id: AppPasswordId,
        ctx: &RequestCtx,
    ) -> Result<(), CoreError> {
        let (_, user) = self.signed_in_user(token).await?;
        let actor = super::signin::self_actor(&user, ctx.source_ip);
        self.delete_app_password_of(&actor, &user, id).await
    }

    /// Forgets one of the signed-in user's remembered devices.
    pub async fn forget_my_device(
        &self,
        token: &SessionToken,
        id: DeviceId,
        ctx: &RequestCtx,
    ) -> Result<(), CoreError> {
        let (_, user) = self.signed_in_user(token).await?;
        let actor = super::signin::self_actor(&user, ctx.source_ip);
        self.forget_device_of(&actor, &user, id).await
    }

    async fn delete_app_password_of(&self, actor: &Actor, user: &User, id: AppPasswordId) -> Result<(), CoreError> {
        let not_found = || CoreError::NotFound("the app password".into());
        let info = self.store.app_passwords(user.id).await?.into_iter().find(|a| a.id == id).ok_or_else(not_found)?;
        let mut tx = self.store.begin().await?;
        if !tx.delete_app_password(user.id, id).await? {
            return Err(not_found());
        }
        let draft = AuditDraft { actor, now: self.now() };
        tx.insert_audit(&[draft.record(
            AuditAction::AppPasswordDelete,
            Some((user.id, user.upn.as_str())),
            Change::AppPasswordDeleted { id, name: info.name },
        )])
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn forget_device_of(&self, actor: &Actor, user: &User, id: DeviceId) -> Result<(), CoreError> {
        let mut tx = self.store.begin().await?;
        if !tx.delete_remembered_device(user.id, id).await? {
            return Err(CoreError::NotFound("the remembered device".into()));
        }
        let draft = AuditDraft { actor, now: self.now() };
        tx.insert_audit(&[draft.record(
            AuditAction::RememberedDeviceDelete,
            Some((user.id, user.upn.as_str())),
            Change::DeviceForgotten { id },
        )])
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The "Don't ask again for N days" offer of the MFA prompt: N when the tenant allows
    /// remembering devices.
    pub async fn remember_offer(&self, token: &SessionToken) -> Result<Option<u16>, CoreError> {
        let (_, user) = self.session_user(token).await?;
        let settings = self.store.settings(user.tenant_id).await?;
        Ok(settings.allow_remember_devices.then_some(settings.remember_device_days))
    }

    /// "Don't ask again for N days", ticked at the MFA prompt: right after the second factor
    /// was given in this session, and when the tenant allows it, the browser gets a device
    /// token (only its hash is stored) that skips the prompt for the tenant's number of days.
    pub async fn remember_device(&self, token: &SessionToken, ctx: &RequestCtx) -> Result<DeviceToken, CoreError> {
        let (s, user) = self.signed_in_user(token).await?;
        let now = self.now();
        if s.mfa_at.is_none_or(|t| t + self.policy.fresh_mfa <= now) {
            return Err(CoreError::FreshMfaRequired);
        }
        let settings = self.store.settings(user.tenant_id).await?;
        if !settings.allow_remember_devices {
            return Err(CoreError::Forbidden("your organisation does not allow remembering devices".into()));
        }
        let max_age = Duration::days(i64::from(settings.remember_device_days));
        let device_token = random_token(32)?;
        let device = RememberedDevice {
            id: DeviceId::new(),
            user_id: user.id,
            created_at: now,
            last_used_at: None,
            expires_at: now + max_age,
            source_ip: ctx.source_ip,
            user_agent: ctx.user_agent.clone().map(|ua| ua.chars().take(256).collect()),
        };
        let actor = super::signin::self_actor(&user, ctx.source_ip);
        let mut tx = self.store.begin().await?;
        tx.insert_remembered_device(&device, &sha256_b64(device_token.as_bytes())).await?;
        let draft = AuditDraft { actor: &actor, now };
        tx.insert_audit(&[draft.record(
            AuditAction::RememberedDeviceCreate,
            Some((user.id, user.upn.as_str())),
            Change::DeviceRemembered { id: device.id, expires_at: device.expires_at },
        )])
        .await?;
        tx.commit().await?;
        Ok(DeviceToken { token: device_token, max_age })
    }

    /// The user, checked to be one the actor may manage the methods of.
    async fn managed_user(&self, actor: &Actor, user: &UserRef) -> Result<User, CoreError> {
        let permit = authorize(actor, actor.tenant_id, Action::ManageMethods, TargetKind::User)?;
        let user = self.get_user(actor, user).await?;
        permit.check_target(user.tenant_id, &user.roles, user.upn.as_str())?;
        Ok(user)
    }

    /// An administrator's list of a user's app passwords (names and times, never secrets).
    pub async fn user_app_passwords(&self, actor: &Actor, user: &UserRef) -> Result<Vec<AppPasswordInfo>, CoreError> {
        let user = self.get_user(actor, user).await?;
        Ok(self.store.app_passwords(user.id).await?)
    }

    /// An administrator deletes one app password of a user.
    pub async fn delete_user_app_password(
        &self,
        actor: &Actor,
        user: &UserRef,
        id: AppPasswordId,
    ) -> Result<(), CoreError> {
        let user = self.managed_user(actor, user).await?;
        self.delete_app_password_of(actor, &user, id).await
    }

    /// An administrator's list of a user's remembered devices. Their IPs and browsers are
    /// sign-in data: the roles that may read the sign-in log may list them.
    pub async fn user_remembered_devices(
        &self,
        actor: &Actor,
        user: &UserRef,
    ) -> Result<Vec<RememberedDevice>, CoreError> {
        authorize(actor, actor.tenant_id, Action::ReadLogs, TargetKind::Tenant)?;
        let user = self.get_user(actor, user).await?;
        Ok(self.store.remembered_devices(user.id, self.now()).await?)
    }

    /// An administrator forgets one remembered device of a user.
    pub async fn forget_user_device(&self, actor: &Actor, user: &UserRef, id: DeviceId) -> Result<(), CoreError> {
        let user = self.managed_user(actor, user).await?;
        self.forget_device_of(actor, &user, id).await
    }

    /// The signed-in user changes their password: the current one is checked (throttled like
    /// a sign-in), then in one transaction the new hash is stored, every remembered browser and
    /// every other session and API token of the user ends, with the audit record. This browser
    /// stays signed in with a new session (id), returned. App passwords stay.
    pub async fn change_my_password(
        &self,
        token: &SessionToken,
        current: String,
        new: String,
        ctx: &RequestCtx,
    ) -> Result<super::Started, CoreError> {
        let (s, user) = self.signed_in_user(token).await?;
        let new = Password::parse(new)?;
        let account_key = ThrottleKey::password(Some(user.tenant_id), user.upn.as_str());
        let ip_key = Self::ip_key(ctx);
        self.throttle(&Self::hits(&ip_key, &self.policy.per_ip, &account_key, &self.policy.password_per_account))
            .await?;
        let phc = self
            .store
            .credential(user.tenant_id, &user.upn.key())
            .await?
            .and_then(|c| c.password_hash)
            .unwrap_or_else(|| password::dummy_hash().to_owned());
        let current = Password::for_verification(current);
        if !self.blocking(move || password::verify(&current, &phc)).await? {
            return Err(CoreError::InvalidCredentials);
        }
        self.store.throttle_settle(&account_key, ip_key.as_ref()).await?;
        let hash = self.blocking(move || password::hash(&new)).await??;
        let actor = super::signin::self_actor(&user, ctx.source_ip);
        let mut tx = self.store.begin().await?;
        tx.update_account(user.id, None, Some(&hash)).await?;
        let devices = tx.delete_remembered_devices(user.id).await?;
        let sessions = tx.delete_user_sessions(user.id).await?;
        let draft = AuditDraft { actor: &actor, now: self.now() };
        tx.insert_audit(&[draft.record(
            AuditAction::PasswordChange,
            Some((user.id, user.upn.as_str())),
            Change::PasswordChanged { remembered_devices_deleted: devices, sessions_ended: sessions.saturating_sub(1) },
        )])
        .await?;
        tx.commit().await?;
        let mut started = self.new_session(&user, SessionStage::SignedIn, ctx.source_ip, ctx.user_agent.clone())?;
        started.session.mfa_at = s.mfa_at;
        started.session.mfa_method = s.mfa_method;
        self.store.insert_session(&started.session).await?;
        Ok(started)
    }

    /// An administrator disables or enables the account and/or sets a new password. Disabling
    /// ends the user's sessions, API tokens and remembered devices; a new password ends the
    /// remembered devices (app passwords are separate secrets and stay). One transaction
    /// with its audit record (never the password).
    pub async fn update_account(&self, actor: &Actor, user: &UserRef, patch: AccountPatch) -> Result<User, CoreError> {
        let permit = authorize(actor, actor.tenant_id, Action::DeleteUser, TargetKind::User)?;
        let target = self.get_user(actor, user).await?;
        permit.check_target(target.tenant_id, &target.roles, target.upn.as_str())?;
        if patch.account_enabled.is_none() && patch.password.is_none() {
            return Err(CoreError::InvalidRequest(
                "give a change: enable or disable the account, and/or a new password".into(),
            ));
        }
        if actor.user_id == target.id && patch.account_enabled == Some(false) {
            return Err(CoreError::InvalidRequest("you cannot disable your own account".into()));
        }
        let hash = match patch.password {
            Some(pw) => {
                let pw = Password::parse(pw)?;
                Some(self.blocking(move || password::hash(&pw)).await??)
            }
            None => None,
        };
        let disabling = patch.account_enabled == Some(false) && target.account_enabled;
        let mut change = AccountChange {
            enabled: patch.account_enabled.map(|enabled| (target.account_enabled, enabled)),
            password_changed: hash.is_some(),
            ..AccountChange::default()
        };
        let mut tx = self.store.begin().await?;
        tx.update_account(target.id, patch.account_enabled, hash.as_deref()).await?;
        if disabling || hash.is_some() {
            change.remembered_devices_deleted = Some(tx.delete_remembered_devices(target.id).await?);
        }
        if disabling {
            change.sessions_revoked = Some(tx.delete_user_sessions(target.id).await?);
        }
        let draft = AuditDraft { actor, now: self.now() };
        tx.insert_audit(&[draft.record(
            AuditAction::AccountUpdate,
            Some((target.id, target.upn.as_str())),
            Change::Account(change),
        )])
        .await?;
        tx.commit().await?;
        let mut updated = target;
        if let Some(enabled) = patch.account_enabled {
            updated.account_enabled = enabled;
        }
        Ok(updated)
    }
}
