//! Legacy clients (LDAP simple bind): a password, or an app password, and nothing else. A
//! user who must use MFA cannot bind with the password: only an app password works. Every
//! bind is in the sign-in log as a `legacy` client, throttled like any other sign-in.

use super::{RequestCtx, Tessera};
use crate::admin_ports::AdminStore;
use crate::app_password;
use crate::audit::Page;
use crate::auth_ports::{AuthStore, AuthTx};
use crate::credential_ports::{CredentialStore, CredentialTx};
use crate::error::CoreError;
use crate::ids::{TenantId, TenantSlug, Upn, UserRef};
use crate::mfa::PerUserMfaState;
use crate::password::{self, Password};
use crate::ports::Store;
use crate::signin::{CredentialKind, Decision, FailureReason, SignInFacts, SignInResult, decide};
use crate::user::{User, UserQuery};

use super::signin::{Client, PasswordAttempt};

/// A successful bind: who, in which tenant, with what.
#[derive(Clone, Debug)]
pub struct LegacyBound {
    pub user: User,
    pub tenant_slug: String,
    pub credential: CredentialKind,
}

impl<S> Tessera<S>
where
    S: Store + AuthStore + CredentialStore + AdminStore,
    S::Tx: AuthTx + CredentialTx,
{
    /// The tenant of a bind: named (the DN form), or found from the UPN when exactly one tenant
    /// has a user with it.
    async fn legacy_tenant(&self, tenant: Option<&str>, upn: &str) -> Result<Option<(TenantId, String)>, CoreError> {
        match tenant {
            Some(slug) => Ok(match TenantSlug::parse(slug) {
                Ok(slug) => self.store.tenant_by_slug(&slug).await?.map(|t| (t.id, t.slug.to_string())),
                Err(_) => None,
            }),
            None => {
                let Ok(upn) = Upn::parse(upn) else { return Ok(None) };
                let found = self.store.tenants_with_upn(&upn.key(), 2).await?;
                match found.as_slice() {
                    [one] => Ok(self.store.tenant_slug(*one).await?.map(|slug| (*one, slug))),
                    _ => Ok(None),
                }
            }
        }
    }

    /// A simple bind by a legacy client. `tenant` is the tenant slug of a DN bind, `None` for
    /// a bind by UPN. Refusals are all [`CoreError::InvalidCredentials`] (or
    /// [`CoreError::TooManyAttempts`]), so a client learns nothing about the account; the
    /// sign-in log says why.
    pub async fn legacy_bind(
        &self,
        tenant: Option<&str>,
        upn: &str,
        secret: String,
        ctx: &RequestCtx,
    ) -> Result<LegacyBound, CoreError> {
        let tenant = self.legacy_tenant(tenant, upn).await?;
        let PasswordAttempt { account_key, ip_key, credential, mut rec } =
            self.begin_password_attempt(tenant.as_ref().map(|t| t.0), upn, ctx, Client::Legacy).await?;
        let user = credential.as_ref().map(|c| c.user.clone());
        let (Some(user), Some(mut rec), Some((_, tenant_slug))) = (user, rec.clone(), tenant.clone()) else {
            // No such user: the same work as a wrong password, then the same answer.
            let pw = Password::for_verification(secret);
            self.blocking(move || password::verify(&pw, password::dummy_hash())).await?;
            if let Some(r) = rec.as_mut() {
                self.log(r, SignInResult::Failure, Some(FailureReason::InvalidCredentials)).await?;
            }
            return Err(CoreError::InvalidCredentials);
        };
        let settings = self.store.settings(user.tenant_id).await?;
        let usable: Vec<_> = user.methods.iter().copied().filter(|m| settings.allowed_methods.contains(m)).collect();
        let verdict = decide(&SignInFacts {
            account_enabled: user.account_enabled,
            state: user.per_user_mfa_state,
            usable_methods: &usable,
            exemption: None,
        });
        rec.mfa_required_by = verdict.required_by;

        // An app password first: it is one indexed lookup, no slow hash.
        if let Some(normalized) = app_password::normalize(&secret)
            && self.store.use_app_password(user.id, &app_password::hash(&normalized), self.now()).await?.is_some()
        {
            rec.credential = Some(CredentialKind::AppPassword);
            let refused = if !user.account_enabled {
                Some(FailureReason::AccountDisabled)
            } else if !settings.allow_app_passwords {
                Some(FailureReason::AppPasswordsNotAllowed)
            } else {
                None
            };
            if let Some(reason) = refused {
                self.log(&mut rec, SignInResult::Failure, Some(reason)).await?;
                return Err(CoreError::InvalidCredentials);
            }
            self.store.throttle_settle(&account_key, ip_key.as_ref()).await?;
            self.log(&mut rec, SignInResult::Success, None).await?;
            return Ok(LegacyBound { user, tenant_slug, credential: CredentialKind::AppPassword });
        }

        let phc = credential.and_then(|c| c.password_hash).unwrap_or_else(|| password::dummy_hash().to_owned());
        let pw = Password::for_verification(secret);
        if !self.blocking(move || password::verify(&pw, &phc)).await? {
            self.log(&mut rec, SignInResult::Failure, Some(FailureReason::InvalidCredentials)).await?;
            return Err(CoreError::InvalidCredentials);
        }
        // The password is right; whether it may be used alone is the decision's. A refusal
        // keeps its attempt counted: only a bind that succeeds clears the account's window.
        // "Must use MFA" is enforced (registered or not: an interactive sign-in would make them
        // register), or enabled with a method registered. Enabled and not yet registered keeps
        // the password until the user registers.
        let refused = match verdict.decision {
            Decision::Block { reason } => Some(reason),
            Decision::RequireMfa { .. } => Some(FailureReason::AppPasswordRequired),
            Decision::RequireRegistration if user.per_user_mfa_state == PerUserMfaState::Enforced => {
                Some(FailureReason::AppPasswordRequired)
            }
            Decision::Allow | Decision::RequireRegistration => None,
        };
        if let Some(reason) = refused {
            self.log(&mut rec, SignInResult::Failure, Some(reason)).await?;
            return Err(CoreError::InvalidCredentials);
        }
        self.store.throttle_settle(&account_key, ip_key.as_ref()).await?;
        self.log(&mut rec, SignInResult::Success, None).await?;
        Ok(LegacyBound { user, tenant_slug, credential: CredentialKind::Password })
    }

    /// The bound user again, as it is now: a connection bound before the account was disabled
    /// (or deleted) reads nothing more.
    async fn still_bound(&self, bound: &LegacyBound) -> Result<User, CoreError> {
        self.store
            .user(bound.user.tenant_id, &UserRef::Id(bound.user.id))
            .await?
            .filter(|u| u.account_enabled)
            .ok_or(CoreError::Unauthorized)
    }

    /// A page of the bound user's tenant's users, in UPN order (LDAP search, read-only);
    /// `after` is the previous page's `next`.
    pub async fn legacy_list_users(
        &self,
        bound: &LegacyBound,
        upn_prefix: Option<&str>,
        limit: u32,
        after: Option<String>,
    ) -> Result<Page<User>, CoreError> {
        let me = self.still_bound(bound).await?;
        Ok(self
            .store
            .list_users(&UserQuery {
                tenant_id: me.tenant_id,
                state: None,
                search: upn_prefix.map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty()),
                limit: limit.clamp(1, 1000),
                after: after.as_deref().map(crate::cursor::decode_cursor).transpose()?,
            })
            .await?)
    }

    /// One user of the bound user's tenant by UPN (LDAP search by `uid`/`mail` or base DN).
    pub async fn legacy_find_user(&self, bound: &LegacyBound, upn: &str) -> Result<Option<User>, CoreError> {
        let me = self.still_bound(bound).await?;
        let Ok(upn) = Upn::parse(upn) else { return Ok(None) };
        Ok(self.store.user(me.tenant_id, &UserRef::Upn(upn)).await?)
    }
}
