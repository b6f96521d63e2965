//! The user's own sign-in methods: registering an authenticator app ("proof-up", at sign-in
//! or from the security info page), the security info page, deleting a method, new recovery
//! codes. Sensitive changes need a second factor given in the last minutes.

use super::signin::{Client, SessionView, new_recovery_codes, recovery_code_hash, self_actor};
use super::{AuditDraft, RequestCtx, Started, Tessera};
use crate::audit::AuditAction;
use crate::auth_ports::{AuthStore, AuthTx};
use crate::change::{Change, StateReason};
use crate::credential_ports::CredentialStore;
use crate::error::CoreError;
use crate::mfa::MethodKind;
use crate::ports::{Store, StoreTx};
use crate::session::{NewMethod, SessionStage, ThrottleKey};
use crate::signin::{MfaRequiredBy, SignInResult};
use crate::tokens::SessionToken;
use crate::totp::{TotpCode, TotpSecret};
use crate::user::User;

/// A TOTP secret offered for registration.
pub struct PendingTotp {
    pub secret_base32: String,
    pub otpauth_uri: String,
    pub account: String,
}

/// What the security info page shows.
pub struct SecurityInfo {
    pub user: User,
    pub methods: Vec<crate::session::MethodInfo>,
    pub recovery_codes_left: u32,
    pub sessions: Vec<SessionView>,
    pub totp_allowed: bool,
}

impl<S> Tessera<S>
where
    S: Store + AuthStore + CredentialStore,
    S::Tx: AuthTx,
{
    /// Offers a new TOTP secret to register (the same one again until it is confirmed).
    pub async fn begin_totp_registration(&self, token: &SessionToken) -> Result<PendingTotp, CoreError> {
        let (mut s, user) = self.session_user(token).await?;
        if s.stage == SessionStage::MfaRequired {
            return Err(CoreError::MfaRequired);
        }
        if s.stage == SessionStage::SignedIn && self.needs_fresh_mfa(&s, &user) {
            return Err(CoreError::FreshMfaRequired);
        }
        let settings = self.store.settings(user.tenant_id).await?;
        if !settings.allowed_methods.contains(&MethodKind::Totp) {
            return Err(CoreError::Forbidden("your organisation does not allow authenticator apps".into()));
        }
        let aad = format!("pending:{}", user.id);
        let secret = match &s.pending_secret {
            Some(blob) => TotpSecret::from_bytes(self.keyring.decrypt(blob, aad.as_bytes())?.to_vec()),
            None => {
                let secret = TotpSecret::generate()?;
                s.pending_secret = Some(self.keyring.encrypt(secret.as_bytes(), aad.as_bytes())?);
                self.store.update_session(&s).await?;
                secret
            }
        };
        let tenant_slug = self.tenant_slug(user.tenant_id).await?;
        let issuer = format!("Tessera ({tenant_slug})");
        Ok(PendingTotp {
            secret_base32: secret.base32(),
            otpauth_uri: secret.otpauth_uri(&issuer, user.upn.as_str()),
            account: user.upn.to_string(),
        })
    }

    /// Confirms the pending TOTP secret with a code from the app. Creates the method (and,
    /// the first time, ten recovery codes, returned once); an enabled user becomes enforced.
    pub async fn finish_totp_registration(
        &self,
        token: &SessionToken,
        code: &str,
        label: Option<String>,
        ctx: &RequestCtx,
    ) -> Result<(Started, Vec<String>), CoreError> {
        let (s, user) = self.session_user(token).await?;
        let blob = s.pending_secret.clone().ok_or(CoreError::NoPendingRegistration)?;
        let secret =
            TotpSecret::from_bytes(self.keyring.decrypt(&blob, format!("pending:{}", user.id).as_bytes())?.to_vec());
        let code_key = ThrottleKey::Code(user.id);
        self.throttle(&[(&code_key, &self.policy.code_per_account)]).await?;
        let now = self.now();
        let step = TotpCode::parse(code).ok().and_then(|c| secret.verify(&c, now)).ok_or(CoreError::InvalidCode)?;
        self.store.throttle_settle(&code_key, None).await?;

        let method_id = crate::ids::MethodId::new();
        let label = label.map(|l| l.trim().chars().take(64).collect::<String>()).filter(|l| !l.is_empty());
        let method = NewMethod {
            id: method_id,
            user_id: user.id,
            kind: MethodKind::Totp,
            label: Some(label.unwrap_or_else(|| "Authenticator app".into())),
            secret: Some(self.keyring.encrypt(secret.as_bytes(), method_id.as_uuid().as_bytes())?),
            created_at: now,
            last_used_step: Some(step),
        };
        let actor = self_actor(&user, ctx.source_ip);
        let draft = AuditDraft { actor: &actor, now };
        let target = Some((user.id, user.upn.as_str()));
        let mut audit = vec![draft.record(
            AuditAction::MethodRegister,
            target,
            Change::MethodRegistered { kind: MethodKind::Totp, label: method.label.clone() },
        )];
        let codes =
            if self.store.recovery_codes_left(user.id).await? == 0 { new_recovery_codes()? } else { Vec::new() };
        let mut tx = self.store.begin().await?;
        tx.insert_method(&method).await?;
        if !codes.is_empty() {
            let hashes: Vec<String> = codes.iter().map(|c| recovery_code_hash(user.id, c)).collect();
            tx.replace_recovery_codes(user.id, &hashes, now).await?;
            audit.push(draft.record(
                AuditAction::RecoveryCodesCreate,
                target,
                Change::RecoveryCodes { count: codes.len() as u64 },
            ));
        }
        let after = user.per_user_mfa_state.after_registration();
        if after != user.per_user_mfa_state {
            tx.set_mfa_state(&[user.id], after).await?;
            audit.push(draft.record(
                AuditAction::MfaEnforce,
                target,
                Change::State {
                    from: user.per_user_mfa_state,
                    to: Some(after),
                    reason: Some(StateReason::RegisteredMethod),
                },
            ));
        }
        tx.insert_audit(&audit).await?;
        tx.commit().await?;

        let was_sign_in = s.stage == SessionStage::RegistrationRequired;
        let started = self.rotate(&s, SessionStage::SignedIn, Some(MethodKind::Totp)).await?;
        if was_sign_in {
            let mut rec = self.record(user.tenant_id, Some(&user), user.upn.as_str(), ctx, Client::Browser);
            rec.mfa_required_by = MfaRequiredBy::PerUserState;
            rec.mfa_method = Some(MethodKind::Totp);
            self.log(&mut rec, SignInResult::Success, None).await?;
        }
        Ok((started, codes))
    }

    /// What the signed-in user's security info page shows. A half-done sign-in (password only,
    /// waiting for the second factor or registration) may not read it.
    pub async fn security_info(&self, token: &SessionToken) -> Result<SecurityInfo, CoreError> {
        let (s, user) = self.session_user(token).await?;
        if s.stage != SessionStage::SignedIn {
            return Err(CoreError::Unauthorized);
        }
        let settings = self.store.settings(user.tenant_id).await?;
        let now = self.now();
        let sessions = self
            .store
            .user_sessions(user.id)
            .await?
            .iter()
            .filter(|s| s.expires_at > now && s.stage == SessionStage::SignedIn)
            .map(SessionView::from)
            .collect();
        Ok(SecurityInfo {
            methods: self.store.methods(user.id).await?,
            recovery_codes_left: self.store.recovery_codes_left(user.id).await?,
            sessions,
            totp_allowed: settings.allowed_methods.contains(&MethodKind::Totp),
            user,
        })
    }

    /// Deletes one of the signed-in user's methods (needs a fresh second factor).
    pub async fn delete_my_method(
        &self,
        token: &SessionToken,
        id: crate::ids::MethodId,
        ctx: &RequestCtx,
    ) -> Result<(), CoreError> {
        let (s, user) = self.session_user(token).await?;
        if s.stage != SessionStage::SignedIn {
            return Err(CoreError::Unauthorized);
        }
        if self.needs_fresh_mfa(&s, &user) {
            return Err(CoreError::FreshMfaRequired);
        }
        let actor = self_actor(&user, ctx.source_ip);
        let mut tx = self.store.begin().await?;
        if !tx.delete_method(user.id, id).await? {
            return Err(CoreError::NotFound("method".into()));
        }
        let draft = AuditDraft { actor: &actor, now: self.now() };
        tx.insert_audit(&[draft.record(
            AuditAction::MethodDelete,
            Some((user.id, user.upn.as_str())),
            Change::MethodDeleted { id, method: None },
        )])
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the user's recovery codes by ten new ones (needs a fresh second factor).
    pub async fn regenerate_recovery_codes(
        &self,
        token: &SessionToken,
        ctx: &RequestCtx,
    ) -> Result<Vec<String>, CoreError> {
        let (s, user) = self.session_user(token).await?;
        if s.stage != SessionStage::SignedIn {
            return Err(CoreError::Unauthorized);
        }
        if self.needs_fresh_mfa(&s, &user) || !user.methods.iter().any(|m| *m != MethodKind::RecoveryCode) {
            return Err(CoreError::FreshMfaRequired);
        }
        let codes = new_recovery_codes()?;
        let hashes: Vec<String> = codes.iter().map(|c| recovery_code_hash(user.id, c)).collect();
        let actor = self_actor(&user, ctx.source_ip);
        let now = self.now();
        let mut tx = self.store.begin().await?;
        tx.replace_recovery_codes(user.id, &hashes, now).await?;
        let draft = AuditDraft { actor: &actor, now };
        tx.insert_audit(&[draft.record(
            AuditAction::RecoveryCodesRegenerate,
            Some((user.id, user.upn.as_str())),
            Change::RecoveryCodes { count: codes.len() as u64 },
        )])
        .await?;
        tx.commit().await?;
        Ok(codes)
    }
}
