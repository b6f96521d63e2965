//! Creating a tenant, issuing API tokens and authenticating requests with them.

use time::OffsetDateTime;

use super::signin::{random_token, sha256_b64};
use super::{RequestCtx, Tessera, new_correlation_id};
use crate::access::{Actor, Role};
use crate::audit::{AuditAction, AuditRecord};
use crate::change::{Change, CreatedUser};
use crate::error::{CoreError, StoreError};
use crate::ids::{AuditId, DisplayName, TenantId, TenantSlug, Upn, UserId};
use crate::password::{self, Password};
use crate::ports::{ApiToken, Store, StoreTx};
use crate::tokens::BearerToken;
use crate::user::{NewUser, Tenant, User};

/// A freshly issued bearer token. The token itself is returned once and stored only hashed.
pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: i64,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IssuedToken(***, expires_in={})", self.expires_in)
    }
}

impl<S: Store> Tessera<S> {
    /// Creates a tenant and its first Global Administrator. Never overwrites: an existing
    /// tenant is an error.
    pub async fn init_tenant(
        &self,
        slug: &TenantSlug,
        upn: &Upn,
        admin_password: String,
    ) -> Result<(Tenant, User), CoreError> {
        let password = Password::parse(admin_password)?;
        let hash = self.blocking(move || password::hash(&password)).await??;
        let now = self.now();
        let tenant = Tenant { id: TenantId::new(), slug: slug.clone(), created_at: now };
        let admin = NewUser {
            id: UserId::new(),
            tenant_id: tenant.id,
            display_name: DisplayName::parse(upn.as_str().split('@').next().unwrap_or("Administrator"))?,
            upn: upn.clone(),
            password_hash: Some(hash),
            account_enabled: true,
            roles: vec![Role::GlobalAdministrator],
            created_at: now,
        };
        let mut tx = self.store.begin().await?;
        if tx.tenant_by_slug(slug).await?.is_some() {
            return Err(CoreError::TenantExists(slug.to_string()));
        }
        // A concurrent init of the same slug may commit between the check and the insert.
        tx.insert_tenant(&tenant).await.map_err(|e| match e {
            StoreError::Conflict(_) => CoreError::TenantExists(slug.to_string()),
            other => other.into(),
        })?;
        tx.insert_users(std::slice::from_ref(&admin)).await?;
        let correlation_id = new_correlation_id();
        let system = |action: AuditAction, change: Change, target: Option<(UserId, String)>| AuditRecord {
            id: AuditId::new(),
            tenant_id: tenant.id,
            time: now,
            actor_id: None,
            actor_upn: "system (tessera init)".into(),
            source_ip: None,
            action,
            target_id: target.as_ref().map(|t| t.0),
            target_upn: target.map(|t| t.1),
            change: Some(change),
            correlation_id,
        };
        tx.insert_audit(&[
            system(AuditAction::TenantCreate, Change::TenantCreated { slug: slug.to_string() }, None),
            system(
                AuditAction::UserCreate,
                Change::UserCreated(CreatedUser {
                    upn: upn.to_string(),
                    display_name: None,
                    account_enabled: None,
                    roles: vec![Role::GlobalAdministrator],
                }),
                Some((admin.id, upn.to_string())),
            ),
        ])
        .await?;
        tx.commit().await?;
        let user = User {
            id: admin.id,
            tenant_id: tenant.id,
            upn: upn.clone(),
            display_name: admin.display_name.as_str().to_owned(),
            account_enabled: true,
            per_user_mfa_state: crate::mfa::PerUserMfaState::Disabled,
            methods: vec![],
            roles: admin.roles,
            created_at: now,
        };
        Ok((tenant, user))
    }

    /// Issues a bearer token for `user`, stored only as its hash.
    pub(crate) async fn create_api_token(&self, user: &User) -> Result<IssuedToken, CoreError> {
        let access_token = random_token(32)?;
        let now = self.now();
        let token = ApiToken {
            token_hash: sha256_b64(access_token.as_bytes()),
            tenant_id: user.tenant_id,
            user_id: user.id,
            created_at: now,
            expires_at: now + self.token_ttl,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_api_token(&token).await?;
        tx.commit().await?;
        Ok(IssuedToken { access_token, expires_in: self.token_ttl.whole_seconds() })
    }

    /// Authenticates a bearer token for a request on tenant `slug`. A token of another tenant
    /// is refused.
    pub async fn authenticate(
        &self,
        slug: &TenantSlug,
        bearer: &BearerToken,
        ctx: &RequestCtx,
    ) -> Result<Actor, CoreError> {
        self.authenticate_in(Some(slug), bearer, ctx).await
    }

    /// As [`Tessera::authenticate`], for a request that may name a tenant by something that is
    /// not a slug (`None`): the token is checked first (an invalid one is `Unauthorized`
    /// whatever the request names), then a valid one is refused as being of another tenant.
    pub async fn authenticate_in(
        &self,
        slug: Option<&TenantSlug>,
        bearer: &BearerToken,
        ctx: &RequestCtx,
    ) -> Result<Actor, CoreError> {
        let token =
            self.store.api_token(&sha256_b64(bearer.expose().as_bytes())).await?.ok_or(CoreError::Unauthorized)?;
        if token.expires_at <= self.now() {
            return Err(CoreError::Unauthorized);
        }
        let other_tenant = || CoreError::Forbidden("you may not act in another tenant".into());
        let slug = slug.ok_or_else(other_tenant)?;
        let tenant = self.tenant_id(slug).await.map_err(|_| other_tenant())?;
        if tenant != token.tenant_id {
            return Err(other_tenant());
        }
        let user = self
            .store
            .user(tenant, &crate::ids::UserRef::Id(token.user_id))
            .await?
            .filter(|u| u.account_enabled)
            .ok_or(CoreError::Unauthorized)?;
        Ok(Actor::authenticated(&user, ctx.source_ip))
    }

    pub fn now_utc(&self) -> OffsetDateTime {
        self.now()
    }
}
