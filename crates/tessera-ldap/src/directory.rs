//! What the listener needs from the core: the three legacy-client services. A trait, so that
//! the protocol can be tested without a database and the crate needs no store.

use std::future::Future;

use tessera_core::CoreError;
use tessera_core::admin_ports::AdminStore;
use tessera_core::audit::Page;
use tessera_core::auth_ports::{AuthStore, AuthTx};
use tessera_core::credential_ports::{CredentialStore, CredentialTx};
use tessera_core::ports::Store;
use tessera_core::service::{LegacyBound, RequestCtx, Tessera};
use tessera_core::user::User;

/// The services an LDAP connection calls (see `tessera_core::service::Tessera::legacy_bind`).
pub trait Directory: Clone + Send + Sync + 'static {
    /// A simple bind: `tenant` is the tenant slug of a DN bind, `None` for a bind by UPN.
    fn bind(
        &self,
        tenant: Option<&str>,
        upn: &str,
        secret: String,
        ctx: &RequestCtx,
    ) -> impl Future<Output = Result<LegacyBound, CoreError>> + Send;

    /// A page of the bound user's tenant's users in UPN order; `after` is the previous page's
    /// `next`.
    fn list_users(
        &self,
        bound: &LegacyBound,
        upn_prefix: Option<&str>,
        limit: u32,
        after: Option<String>,
    ) -> impl Future<Output = Result<Page<User>, CoreError>> + Send;

    /// One user of the bound user's tenant.
    fn find_user(&self, bound: &LegacyBound, upn: &str)
    -> impl Future<Output = Result<Option<User>, CoreError>> + Send;
}

impl<S> Directory for Tessera<S>
where
    S: Store + AuthStore + CredentialStore + AdminStore,
    S::Tx: AuthTx + CredentialTx,
{
    fn bind(
        &self,
        tenant: Option<&str>,
        upn: &str,
        secret: String,
        ctx: &RequestCtx,
    ) -> impl Future<Output = Result<LegacyBound, CoreError>> + Send {
        self.legacy_bind(tenant, upn, secret, ctx)
    }

    fn list_users(
        &self,
        bound: &LegacyBound,
        upn_prefix: Option<&str>,
        limit: u32,
        after: Option<String>,
    ) -> impl Future<Output = Result<Page<User>, CoreError>> + Send {
        self.legacy_list_users(bound, upn_prefix, limit, after)
    }

    fn find_user(
        &self,
        bound: &LegacyBound,
        upn: &str,
    ) -> impl Future<Output = Result<Option<User>, CoreError>> + Send {
        self.legacy_find_user(bound, upn)
    }
}
