//! Interactive sign-in: password, the sign-in decision, the second factor (TOTP with replay
//! protection, recovery codes), sessions, throttling and lockout, and the sign-in log
//! (registration and the security info page are in [`super::methods`]). The API token
//! endpoint goes through the same password and second-factor checks.

use std::net::IpAddr;

use base64::Engine;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{AuditDraft, IssuedToken, RequestCtx, Tessera};
use crate::access::Actor;
use crate::audit::AuditAction;
use crate::auth_ports::{AuthStore, AuthTx};
use crate::change::Change;
use crate::credential_ports::CredentialStore;
use crate::error::CoreError;
use crate::ids::{TenantId, TenantSlug, Upn, UserRef};
use crate::mfa::{MethodKind, PerUserMfaState};
use crate::password::{self, Password};
use crate::ports::{Store, StoreTx};
use crate::session::{Session, SessionStage, ThrottleKey, ThrottlePolicy};
use crate::settings::MfaSettings;
pub use crate::signin::Client;
use crate::signin::{
    CredentialKind, Decision, FailureReason, MfaRequiredBy, MfaSkip, SignInFacts, SignInRecord, SignInResult, decide,
};
use crate::tokens::SessionToken;
use crate::totp::{TotpCode, TotpSecret};
use crate::user::User;

pub const RECOVERY_CODES: usize = 10;
const RECOVERY_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A session just created or rotated: the cookie value (returned once) and the session.
pub struct Started {
    pub token: SessionToken,
    pub session: Session,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Started(***, {:?})", self.session.stage)
    }
}

/// A session as listed to its user or an admin (never its token).
#[derive(Clone, Debug)]
pub struct SessionView {
    /// A short, non-secret reference to the session.
    pub id: String,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub stage: &'static str,
    pub source_ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl From<&Session> for SessionView {
    fn from(s: &Session) -> Self {
        Self {
            id: s.id_hash.chars().take(12).collect(),
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s.expires_at,
            stage: s.stage.as_str(),
            source_ip: s.source_ip,
            user_agent: s.user_agent.clone(),
        }
    }
}

pub(crate) fn random_token(bytes: usize) -> Result<String, CoreError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| CoreError::Internal(format!("randomness: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf))
}

pub(crate) fn sha256_b64(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(data))
}

pub(super) fn recovery_code_hash(user: crate::ids::UserId, code: &str) -> String {
    let normalized: String =
        code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect();
    sha256_b64(format!("{user}:{normalized}").as_bytes())
}

pub(super) fn new_recovery_codes() -> Result<Vec<String>, CoreError> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut b = [0u8; 10];
            getrandom::fill(&mut b).map_err(|e| CoreError::Internal(format!("randomness: {e}")))?;
            let s: String = b.iter().map(|x| RECOVERY_ALPHABET[(x & 31) as usize] as char).collect();
            Ok(format!("{}-{}", &s[..5], &s[5..]))
        })
        .collect()
}

/// A password attempt that passed the throttle: its throttle keys, the user's stored
/// credential (none for an unknown user or tenant) and its sign-in log record (none without a
/// tenant to log it under).
pub(super) struct PasswordAttempt {
    pub account_key: ThrottleKey,
    pub ip_key: Option<ThrottleKey>,
    pub credential: Option<crate::ports::Credential>,
    pub rec: Option<SignInRecord>,
}

/// How a refused second factor is logged: the same name from the browser and the API.
fn second_factor_failure(e: &CoreError) -> FailureReason {
    if matches!(e, CoreError::TooManyAttempts { .. }) { FailureReason::LockedOut } else { FailureReason::InvalidOtp }
}

/// Whether the request's source IP is in one of the tenant's trusted ranges.
pub(super) fn from_trusted_ip(ctx: &RequestCtx, settings: &MfaSettings) -> bool {
    ctx.source_ip.is_some_and(|ip| settings.trusted_ip_ranges.iter().any(|r| r.contains(ip)))
}

pub(super) fn self_actor(user: &User, ctx_ip: Option<IpAddr>) -> Actor {
    Actor::authenticated(user, ctx_ip)
}

impl<S> Tessera<S>
where
    S: Store + AuthStore + CredentialStore,
    S::Tx: AuthTx,
{
    /// Counts an attempt on each key (one statement); refuses it when a key is over its
    /// limit, until the latest of their windows ends.
    pub(super) async fn throttle(&self, hits: &[(&ThrottleKey, &ThrottlePolicy)]) -> Result<(), CoreError> {
        let now = self.now();
        let states = self.store.throttle_hit(hits, now).await?;
        let retry_after_secs = hits
            .iter()
            .zip(&states)
            .filter(|((_, policy), st)| st.attempts > policy.max_attempts)
            .map(|((_, policy), st)| (st.window_start + policy.window - now).whole_seconds().max(1))
            .max();
        match retry_after_secs {
            Some(retry_after_secs) => Err(CoreError::TooManyAttempts { retry_after_secs }),
            None => Ok(()),
        }
    }

    /// The keys an attempt counts on: the source IP's (if known) and `key`.
    pub(super) fn hits<'a>(
        ip_key: &'a Option<ThrottleKey>,
        ip_policy: &'a ThrottlePolicy,
        key: &'a ThrottleKey,
        policy: &'a ThrottlePolicy,
    ) -> Vec<(&'a ThrottleKey, &'a ThrottlePolicy)> {
        ip_key.as_ref().map(|k| (k, ip_policy)).into_iter().chain([(key, policy)]).collect()
    }

    pub(super) fn ip_key(ctx: &RequestCtx) -> Option<ThrottleKey> {
        ctx.source_ip.as_ref().map(ThrottleKey::source_ip)
    }

    pub(super) fn record(
        &self,
        tenant: TenantId,
        user: Option<&User>,
        upn: &str,
        ctx: &RequestCtx,
        client: Client,
    ) -> SignInRecord {
        SignInRecord {
            id: uuid::Uuid::now_v7(),
            tenant_id: tenant,
            time: self.now(),
            user_id: user.map(|u| u.id),
            upn: upn.trim().to_lowercase(),
            source_ip: ctx.source_ip,
            user_agent: ctx.user_agent.clone(),
            client,
            result: SignInResult::Failure,
            failure_reason: None,
            mfa_required_by: MfaRequiredBy::None,
            mfa_method: None,
            credential: None,
            mfa_skipped_by: None,
        }
    }

    pub(super) async fn log(
        &self,
        rec: &mut SignInRecord,
        result: SignInResult,
        reason: Option<FailureReason>,
    ) -> Result<(), CoreError> {
        rec.result = result;
        rec.failure_reason = reason;
        Ok(self.store.insert_signin(rec).await?)
    }

    /// Whether one of the browser's device tokens is a remembered device of `user` that still
    /// counts (and the tenant still allows remembering devices); marks it used.
    pub(crate) async fn remembered(&self, user: &User, tokens: &[String]) -> Result<bool, CoreError> {
        let now = self.now();
        for t in tokens.iter().take(super::MAX_DEVICE_TOKENS) {
            if self.store.use_remembered_device(user.id, &sha256_b64(t.as_bytes()), now).await?.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The start of every password attempt (browser, API, LDAP): one attempt counted on the
    /// account (tenant + UPN, whether or not it exists) and on the source IP, in one atomic
    /// statement before any hash is computed; past a limit the attempt is refused and logged
    /// `locked_out`. Then the user is looked up.
    pub(super) async fn begin_password_attempt(
        &self,
        tenant: Option<TenantId>,
        upn: &str,
        ctx: &RequestCtx,
        client: Client,
    ) -> Result<PasswordAttempt, CoreError> {
        let account_key = ThrottleKey::password(tenant, upn);
        let ip_key = Self::ip_key(ctx);
        let limited = self
            .throttle(&Self::hits(&ip_key, &self.policy.per_ip, &account_key, &self.policy.password_per_account))
            .await;
        let credential = match (tenant, Upn::parse(upn)) {
            (Some(t), Ok(u)) => self.store.credential(t, &u.key()).await?,
            _ => None,
        };
        let mut rec = tenant.map(|t| {
            let mut r = self.record(t, credential.as_ref().map(|c| &c.user), upn, ctx, client);
            r.credential = Some(CredentialKind::Password);
            r
        });
        if let Err(e) = limited {
            if let Some(r) = rec.as_mut() {
                self.log(r, SignInResult::Failure, Some(FailureReason::LockedOut)).await?;
            }
            return Err(e);
        }
        Ok(PasswordAttempt { account_key, ip_key, credential, rec })
    }

    /// The password step, shared by the browser and the API: throttling per account and per
    /// IP (checked and counted atomically before the hash is even computed), one Argon2
    /// verification whether or not the user exists, then the sign-in decision.
    pub(crate) async fn check_password(
        &self,
        tenant: &str,
        upn: &str,
        password: String,
        ctx: &RequestCtx,
        client: Client,
    ) -> Result<(User, Decision, SignInRecord), CoreError> {
        let tenant = match TenantSlug::parse(tenant) {
            Ok(slug) => self.store.tenant_by_slug(&slug).await?,
            Err(_) => None,
        };
        let PasswordAttempt { account_key, ip_key, credential, rec } =
            self.begin_password_attempt(tenant.as_ref().map(|t| t.id), upn, ctx, client).await?;
        let user = credential.as_ref().map(|c| c.user.clone());
        let phc = credential.and_then(|c| c.password_hash).unwrap_or_else(|| password::dummy_hash().to_owned());
        let pw = Password::for_verification(password);
        let ok = self.blocking(move || password::verify(&pw, &phc)).await?;
        let (user, mut rec) = match (user, rec, ok) {
            (Some(user), Some(rec), true) => (user, rec),
            (_, mut rec, _) => {
                if let Some(r) = rec.as_mut() {
                    self.log(r, SignInResult::Failure, Some(FailureReason::InvalidCredentials)).await?;
                }
                return Err(CoreError::InvalidCredentials);
            }
        };
        self.store.throttle_settle(&account_key, ip_key.as_ref()).await?;
        let settings = self.store.settings(user.tenant_id).await?;
        let usable: Vec<_> = user.methods.iter().copied().filter(|m| settings.allowed_methods.contains(m)).collect();
        let exemption = if user.per_user_mfa_state == PerUserMfaState::Disabled || usable.is_empty() {
            None
        } else if from_trusted_ip(ctx, &settings) {
            Some(MfaSkip::TrustedIp)
        } else if client == Client::Browser
            && settings.allow_remember_devices
            && self.remembered(&user, &ctx.device_tokens).await?
        {
            Some(MfaSkip::RememberedDevice)
        } else {
            None
        };
        let verdict = decide(&SignInFacts {
            account_enabled: user.account_enabled,
            state: user.per_user_mfa_state,
            usable_methods: &usable,
            exemption,
        });
        let decision = verdict.decision;
        rec.mfa_required_by = verdict.required_by;
        rec.mfa_skipped_by = verdict.skipped_by;
        if let Decision::Block { reason } = decision {
            self.log(&mut rec, SignInResult::Failure, Some(reason)).await?;
            return Err(CoreError::AccountDisabled);
        }
        Ok((user, decision, rec))
    }

    /// Verifies a second factor for `user`: a TOTP code (a step already used is refused,
    /// atomically, also across server processes) or an unused recovery code. Throttled per
    /// user and per IP. Returns the method that satisfied it. It writes no sign-in log record
    /// and changes no session: callers that sign someone in ([`Tessera::verify_mfa`],
    /// [`Tessera::issue_token`]) do that; others (benchmarks, a step-up check) may call it alone.
    pub async fn check_second_factor(
        &self,
        user: &User,
        code: &str,
        ctx: &RequestCtx,
    ) -> Result<MethodKind, CoreError> {
        let code_key = ThrottleKey::Code(user.id);
        let ip_key = Self::ip_key(ctx);
        self.throttle(&Self::hits(&ip_key, &self.policy.per_ip, &code_key, &self.policy.code_per_account)).await?;
        let now = self.now();
        let method = match TotpCode::parse(code) {
            Ok(code) => {
                let mut accepted = false;
                for m in self.store.totp_methods(user.id).await? {
                    let secret =
                        TotpSecret::from_bytes(self.keyring.decrypt(&m.secret, m.id.as_uuid().as_bytes())?.to_vec());
                    if let Some(step) = secret.verify(&code, now)
                        && self.store.consume_totp_step(m.id, step, now).await?
                    {
                        accepted = true;
                        break;
                    }
                }
                accepted.then_some(MethodKind::Totp)
            }
            Err(_) => self
                .store
                .consume_recovery_code(user.id, &recovery_code_hash(user.id, code), now)
                .await?
                .then_some(MethodKind::RecoveryCode),
        };
        let method = method.ok_or(CoreError::InvalidCode)?;
        self.store.throttle_settle(&code_key, ip_key.as_ref()).await?;
        Ok(method)
    }

    pub(super) fn new_session(
        &self,
        user: &User,
        stage: SessionStage,
        ctx_ip: Option<IpAddr>,
        ua: Option<String>,
    ) -> Result<Started, CoreError> {
        let token = random_token(32)?;
        let now = self.now();
        let ttl = if stage == SessionStage::SignedIn { self.policy.session_absolute } else { self.policy.pending_ttl };
        let session = Session {
            id_hash: sha256_b64(token.as_bytes()),
            tenant_id: user.tenant_id,
            user_id: user.id,
            stage,
            csrf: random_token(24)?,
            created_at: now,
            last_seen_at: now,
            expires_at: now + ttl,
            mfa_at: None,
            mfa_method: None,
            source_ip: ctx_ip,
            user_agent: ua,
            pending_secret: None,
        };
        Ok(Started { token: SessionToken::new(token), session })
    }

    /// Moves a session to a new id (and stage): the id always changes at sign-in.
    pub(super) async fn rotate(
        &self,
        old: &Session,
        stage: SessionStage,
        mfa: Option<MethodKind>,
    ) -> Result<Started, CoreError> {
        let token = random_token(32)?;
        let now = self.now();
        let mut s = old.clone();
        s.id_hash = sha256_b64(token.as_bytes());
        s.csrf = random_token(24)?;
        s.last_seen_at = now;
        s.pending_secret = None;
        if old.stage != SessionStage::SignedIn && stage == SessionStage::SignedIn {
            s.created_at = now;
            s.expires_at = now + self.policy.session_absolute;
        }
        s.stage = stage;
        if let Some(m) = mfa {
            s.mfa_at = Some(now);
            s.mfa_method = Some(m);
        }
        self.store.replace_session(&old.id_hash, &s).await?;
        Ok(Started { token: SessionToken::new(token), session: s })
    }

    /// Browser sign-in with UPN and password. The new session is signed in, or waits for the
    /// second factor or for registration.
    pub async fn sign_in_password(
        &self,
        tenant: &str,
        upn: &str,
        password: String,
        ctx: &RequestCtx,
    ) -> Result<Started, CoreError> {
        let (user, decision, mut rec) = self.check_password(tenant, upn, password, ctx, Client::Browser).await?;
        let stage = match decision {
            Decision::Allow => SessionStage::SignedIn,
            Decision::RequireMfa { .. } => SessionStage::MfaRequired,
            Decision::RequireRegistration => SessionStage::RegistrationRequired,
            Decision::Block { .. } => return Err(CoreError::AccountDisabled),
        };
        let started = self.new_session(&user, stage, ctx.source_ip, ctx.user_agent.clone())?;
        self.store.insert_session(&started.session).await?;
        match stage {
            SessionStage::SignedIn => self.log(&mut rec, SignInResult::Success, None).await?,
            SessionStage::MfaRequired => {
                self.log(&mut rec, SignInResult::Interrupted, Some(FailureReason::MfaRequired)).await?
            }
            SessionStage::RegistrationRequired => {
                self.log(&mut rec, SignInResult::Interrupted, Some(FailureReason::MfaRegistrationRequired)).await?
            }
        }
        Ok(started)
    }

    /// The session behind a cookie, if it is still valid (absolute and idle timeouts).
    pub async fn current_session(&self, token: &SessionToken) -> Result<Option<Session>, CoreError> {
        let Some(mut s) = self.store.session(&sha256_b64(token.expose().as_bytes())).await? else { return Ok(None) };
        let now = self.now();
        let idle_over = s.stage == SessionStage::SignedIn && s.last_seen_at + self.policy.session_idle <= now;
        if s.expires_at <= now || idle_over {
            self.store.delete_session(&s.id_hash).await?;
            return Ok(None);
        }
        if now - s.last_seen_at > time::Duration::minutes(1) {
            s.last_seen_at = now;
            self.store.update_session(&s).await?;
        }
        Ok(Some(s))
    }

    /// As [`Tessera::current_session`], for pages of tenant `slug`: a session of another
    /// tenant does not count there.
    pub async fn session_in_tenant(
        &self,
        slug: &TenantSlug,
        token: &SessionToken,
    ) -> Result<Option<Session>, CoreError> {
        let Some(s) = self.current_session(token).await? else { return Ok(None) };
        let same = self.store.tenant_slug(s.tenant_id).await?.is_some_and(|t| t == slug.as_str());
        Ok(same.then_some(s))
    }

    pub(super) async fn session_user(&self, token: &SessionToken) -> Result<(Session, User), CoreError> {
        let s = self.current_session(token).await?.ok_or(CoreError::Unauthorized)?;
        let user = self
            .store
            .user(s.tenant_id, &UserRef::Id(s.user_id))
            .await?
            .filter(|u| u.account_enabled)
            .ok_or(CoreError::Unauthorized)?;
        Ok((s, user))
    }

    /// The second factor of a browser sign-in (or a step-up in a signed-in session).
    pub async fn verify_mfa(&self, token: &SessionToken, code: &str, ctx: &RequestCtx) -> Result<Started, CoreError> {
        let (s, user) = self.session_user(token).await?;
        if s.stage == SessionStage::RegistrationRequired {
            return Err(CoreError::MfaRegistrationRequired);
        }
        let mut rec = self.record(user.tenant_id, Some(&user), user.upn.as_str(), ctx, Client::Browser);
        rec.mfa_required_by = MfaRequiredBy::PerUserState;
        let is_sign_in = s.stage == SessionStage::MfaRequired;
        match self.check_second_factor(&user, code, ctx).await {
            Ok(method) => {
                let started = self.rotate(&s, SessionStage::SignedIn, Some(method)).await?;
                if is_sign_in {
                    rec.mfa_method = Some(method);
                    self.log(&mut rec, SignInResult::Success, None).await?;
                }
                Ok(started)
            }
            Err(e) => {
                let reason = second_factor_failure(&e);
                self.log(&mut rec, SignInResult::Failure, Some(reason)).await?;
                Err(e)
            }
        }
    }

    pub(super) fn needs_fresh_mfa(&self, s: &Session, user: &User) -> bool {
        !user.methods.is_empty() && s.mfa_at.is_none_or(|t| t + self.policy.fresh_mfa <= self.now())
    }

    pub(super) async fn tenant_slug(&self, tenant: TenantId) -> Result<String, CoreError> {
        Ok(self.store.tenant_slug(tenant).await?.unwrap_or_default())
    }

    pub async fn sign_out(&self, token: &SessionToken) -> Result<(), CoreError> {
        Ok(self.store.delete_session(&sha256_b64(token.expose().as_bytes())).await?)
    }

    /// An admin's view of a user's sessions. Their IPs and user agents are sign-in data: the
    /// roles that may read the sign-in log may list them.
    pub async fn user_sessions(&self, actor: &Actor, user: &UserRef) -> Result<Vec<SessionView>, CoreError> {
        crate::access::authorize(
            actor,
            actor.tenant_id,
            crate::access::Action::ReadLogs,
            crate::access::TargetKind::Tenant,
        )?;
        let u = self.get_user(actor, user).await?;
        let now = self.now();
        Ok(self.store.user_sessions(u.id).await?.iter().filter(|s| s.expires_at > now).map(SessionView::from).collect())
    }

    /// An admin's "revoke all sessions": every browser session and API token of the user ends,
    /// in the transaction that writes the audit record.
    pub async fn revoke_sessions(&self, actor: &Actor, user: &UserRef) -> Result<u64, CoreError> {
        let permit = crate::access::authorize(
            actor,
            actor.tenant_id,
            crate::access::Action::ManageMethods,
            crate::access::TargetKind::User,
        )?;
        let u = self.get_user(actor, user).await?;
        permit.check_target(u.tenant_id, &u.roles, u.upn.as_str())?;
        let draft = AuditDraft { actor, now: self.now() };
        let mut tx = self.store.begin().await?;
        let n = tx.delete_user_sessions(u.id).await?;
        tx.insert_audit(&[draft.record(
            AuditAction::SessionsRevoke,
            Some((u.id, u.upn.as_str())),
            Change::SessionsRevoked { count: n },
        )])
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Re-encrypts every stored secret that is not under the current key (key rotation).
    /// Returns (secrets seen, secrets re-encrypted).
    pub async fn rekey_secrets(&self) -> Result<(usize, usize), CoreError> {
        let all = self.store.all_secrets().await?;
        let mut changed = 0;
        for m in &all {
            if self.keyring.is_stale(&m.secret) {
                let plain = self.keyring.decrypt(&m.secret, m.id.as_uuid().as_bytes())?;
                self.store.update_secret(m.id, &self.keyring.encrypt(&plain, m.id.as_uuid().as_bytes())?).await?;
                changed += 1;
            }
        }
        Ok((all.len(), changed))
    }

    /// `POST /auth/token`: the password step, then the second factor (`otp`: a TOTP code or
    /// a recovery code) when the user's state requires it. Every attempt is in the sign-in log.
    pub async fn issue_token(
        &self,
        tenant: &str,
        upn: &str,
        password: String,
        otp: Option<String>,
        ctx: &RequestCtx,
    ) -> Result<IssuedToken, CoreError> {
        let (user, decision, mut rec) = self.check_password(tenant, upn, password, ctx, Client::Api).await?;
        match decision {
            Decision::Allow => {}
            Decision::Block { .. } => return Err(CoreError::AccountDisabled),
            Decision::RequireRegistration => {
                self.log(&mut rec, SignInResult::Failure, Some(FailureReason::MfaRegistrationRequired)).await?;
                return Err(CoreError::MfaRegistrationRequired);
            }
            Decision::RequireMfa { .. } => {
                let Some(code) = otp.filter(|c| !c.trim().is_empty()) else {
                    self.log(&mut rec, SignInResult::Failure, Some(FailureReason::MfaRequired)).await?;
                    return Err(CoreError::MfaRequired);
                };
                match self.check_second_factor(&user, &code, ctx).await {
                    Ok(m) => rec.mfa_method = Some(m),
                    Err(e) => {
                        let reason = second_factor_failure(&e);
                        self.log(&mut rec, SignInResult::Failure, Some(reason)).await?;
                        return Err(e);
                    }
                }
            }
        }
        let issued = self.create_api_token(&user).await?;
        self.log(&mut rec, SignInResult::Success, None).await?;
        Ok(issued)
    }
}
