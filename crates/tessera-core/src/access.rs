//! Roles and permissions. Every admin action is checked here as role x action x target; a
//! service that acts on another user takes a [`Permit`], which only [`authorize`] creates,
//! so a forgotten check does not compile.

use std::net::IpAddr;

use crate::error::CoreError;
use crate::ids::{CorrelationId, TenantId, Upn, UserId};
use crate::user::User;

/// The five administrator roles (Entra's names).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum Role {
    /// Everything.
    GlobalAdministrator,
    /// Per-user MFA states and the MFA service settings.
    AuthenticationPolicyAdministrator,
    /// Authentication methods of anyone, administrators included.
    PrivilegedAuthenticationAdministrator,
    /// Authentication methods of users who hold no administrator role.
    AuthenticationAdministrator,
    /// Read the directory; reset the methods of users who hold no administrator role.
    HelpdeskAdministrator,
}

impl Role {
    pub const ALL: [Self; 5] = [
        Self::GlobalAdministrator,
        Self::AuthenticationPolicyAdministrator,
        Self::PrivilegedAuthenticationAdministrator,
        Self::AuthenticationAdministrator,
        Self::HelpdeskAdministrator,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::GlobalAdministrator => "globalAdministrator",
            Self::AuthenticationPolicyAdministrator => "authenticationPolicyAdministrator",
            Self::PrivilegedAuthenticationAdministrator => "privilegedAuthenticationAdministrator",
            Self::AuthenticationAdministrator => "authenticationAdministrator",
            Self::HelpdeskAdministrator => "helpdeskAdministrator",
        }
    }

    pub fn parse(s: &str) -> Result<Self, CoreError> {
        Self::ALL.into_iter().find(|r| r.as_str().eq_ignore_ascii_case(s.trim())).ok_or_else(|| {
            CoreError::InvalidRole(format!(
                "'{}' is not a role: use one of {}",
                s.escape_debug(),
                Self::ALL.map(Role::as_str).join(", ")
            ))
        })
    }
}

/// What an administrator wants to do.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Action {
    /// List and read users, their MFA states and methods.
    ReadDirectory,
    /// Read the audit and sign-in logs.
    ReadLogs,
    ReadSettings,
    UpdateSettings,
    /// Create a user (the target is the kind of user created: with roles or without).
    CreateUser,
    DeleteUser,
    /// Enable, Enforce, Disable, or set the per-user MFA state.
    SetMfaState,
    /// "Manage user settings": require re-registration, delete app passwords, restore MFA on
    /// remembered devices. Also deleting one method and revoking sessions.
    ManageMethods,
}

impl Action {
    pub const ALL: [Self; 8] = [
        Self::ReadDirectory,
        Self::ReadLogs,
        Self::ReadSettings,
        Self::UpdateSettings,
        Self::CreateUser,
        Self::DeleteUser,
        Self::SetMfaState,
        Self::ManageMethods,
    ];
}

/// The privilege of the user acted upon.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TargetKind {
    /// A tenant-wide resource (settings, logs, the directory as a whole).
    Tenant,
    /// A user who holds no administrator role.
    User,
    /// A user who holds an administrator role other than Global Administrator.
    Admin,
    /// A Global Administrator.
    GlobalAdmin,
}

impl TargetKind {
    pub const ALL: [Self; 4] = [Self::Tenant, Self::User, Self::Admin, Self::GlobalAdmin];

    pub fn of_roles(roles: &[Role]) -> Self {
        if roles.contains(&Role::GlobalAdministrator) {
            Self::GlobalAdmin
        } else if roles.is_empty() {
            Self::User
        } else {
            Self::Admin
        }
    }
}

/// Whether one role may do one action on one kind of target. The whole permission model is
/// this table.
pub fn role_allows(role: Role, action: Action, target: TargetKind) -> bool {
    use Action::*;
    use Role::*;
    use TargetKind as T;
    let is_user_target = !matches!(target, T::Tenant);
    match role {
        GlobalAdministrator => true,
        AuthenticationPolicyAdministrator => match action {
            ReadDirectory | ReadLogs | ReadSettings | UpdateSettings => true,
            // A lower-privileged admin may not weaken a Global Administrator's MFA.
            SetMfaState => matches!(target, T::User | T::Admin),
            CreateUser | DeleteUser | ManageMethods => false,
        },
        PrivilegedAuthenticationAdministrator => match action {
            ReadDirectory | ReadLogs | ReadSettings => true,
            ManageMethods => is_user_target,
            UpdateSettings | CreateUser | DeleteUser | SetMfaState => false,
        },
        AuthenticationAdministrator => match action {
            ReadDirectory | ReadLogs | ReadSettings => true,
            ManageMethods => target == T::User,
            UpdateSettings | CreateUser | DeleteUser | SetMfaState => false,
        },
        HelpdeskAdministrator => match action {
            ReadDirectory | ReadSettings => true,
            ManageMethods => target == T::User,
            ReadLogs | UpdateSettings | CreateUser | DeleteUser | SetMfaState => false,
        },
    }
}

/// Who is acting: an authenticated user of one tenant, and where the request came from.
/// Only the services that authenticate a caller (bearer token, browser session) build one,
/// so no other crate can make up an administrator; tests use `Actor::for_tests` (feature
/// `testing`).
#[derive(Clone, Debug)]
pub struct Actor {
    pub(crate) tenant_id: TenantId,
    pub(crate) user_id: UserId,
    pub(crate) upn: Upn,
    pub(crate) roles: Vec<Role>,
    pub(crate) source_ip: Option<IpAddr>,
    /// Ties together the audit records written by one request.
    pub(crate) correlation_id: CorrelationId,
}

impl Actor {
    /// `user`, once authenticated, acting from `source_ip`, with a fresh correlation id.
    pub(crate) fn authenticated(user: &User, source_ip: Option<IpAddr>) -> Self {
        Self {
            tenant_id: user.tenant_id,
            user_id: user.id,
            upn: user.upn.clone(),
            roles: user.roles.clone(),
            source_ip,
            correlation_id: CorrelationId::new(),
        }
    }

    /// An actor for `user` without authenticating it: for tests only.
    #[cfg(any(test, feature = "testing"))]
    pub fn for_tests(user: &User, source_ip: Option<IpAddr>) -> Self {
        Self::authenticated(user, source_ip)
    }

    pub fn tenant_id(&self) -> TenantId {
        self.tenant_id
    }
    pub fn user_id(&self) -> UserId {
        self.user_id
    }
    pub fn upn(&self) -> &Upn {
        &self.upn
    }
    pub fn roles(&self) -> &[Role] {
        &self.roles
    }
    pub fn source_ip(&self) -> Option<IpAddr> {
        self.source_ip
    }
    pub fn correlation_id(&self) -> CorrelationId {
        self.correlation_id
    }

    pub fn may(&self, action: Action, target: TargetKind) -> bool {
        self.roles.iter().any(|r| role_allows(*r, action, target))
    }
}

/// Proof that `actor` may do `action` on targets of the tenant it belongs to. Created only by
/// [`authorize`]; per-target checks for user targets happen again with [`Permit::allows`].
#[derive(Debug)]
pub struct Permit<'a> {
    actor: &'a Actor,
    action: Action,
}

impl<'a> Permit<'a> {
    pub fn actor(&self) -> &'a Actor {
        self.actor
    }
    pub fn action(&self) -> Action {
        self.action
    }
    /// Whether this permit covers one target user of `tenant` with `roles`.
    pub fn allows(&self, tenant: TenantId, roles: &[Role]) -> bool {
        tenant == self.actor.tenant_id && self.actor.may(self.action, TargetKind::of_roles(roles))
    }
    /// As [`Permit::allows`], as an error naming the refused target.
    pub fn check_target(&self, tenant: TenantId, roles: &[Role], upn: &str) -> Result<(), CoreError> {
        if self.allows(tenant, roles) {
            Ok(())
        } else {
            Err(CoreError::Forbidden(format!("your role does not allow this action on {upn}")))
        }
    }
}

/// Checks that `actor`, acting in `tenant`, may do `action` on at least the least privileged
/// kind of target `min_target`.
pub fn authorize(
    actor: &Actor,
    tenant: TenantId,
    action: Action,
    min_target: TargetKind,
) -> Result<Permit<'_>, CoreError> {
    if actor.tenant_id != tenant {
        return Err(CoreError::Forbidden("you may not act in another tenant".into()));
    }
    if !actor.may(action, min_target) {
        return Err(CoreError::Forbidden(format!("your role does not allow {action:?}")));
    }
    Ok(Permit { actor, action })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;
    use Role::*;
    use TargetKind as T;

    /// The expected table, written out in full: (role, action) -> allowed target kinds.
    fn expected(role: Role, action: Action) -> &'static [TargetKind] {
        const ALL_USERS: &[TargetKind] = &[T::Tenant, T::User, T::Admin, T::GlobalAdmin];
        const NONE: &[TargetKind] = &[];
        match (role, action) {
            (GlobalAdministrator, _) => ALL_USERS,
            (AuthenticationPolicyAdministrator, ReadDirectory | ReadLogs | ReadSettings | UpdateSettings) => ALL_USERS,
            (AuthenticationPolicyAdministrator, SetMfaState) => &[T::User, T::Admin],
            (AuthenticationPolicyAdministrator, _) => NONE,
            (PrivilegedAuthenticationAdministrator, ReadDirectory | ReadLogs | ReadSettings) => ALL_USERS,
            (PrivilegedAuthenticationAdministrator, ManageMethods) => &[T::User, T::Admin, T::GlobalAdmin],
            (PrivilegedAuthenticationAdministrator, _) => NONE,
            (AuthenticationAdministrator, ReadDirectory | ReadLogs | ReadSettings) => ALL_USERS,
            (AuthenticationAdministrator, ManageMethods) => &[T::User],
            (AuthenticationAdministrator, _) => NONE,
            (HelpdeskAdministrator, ReadDirectory | ReadSettings) => ALL_USERS,
            (HelpdeskAdministrator, ManageMethods) => &[T::User],
            (HelpdeskAdministrator, _) => NONE,
        }
    }

    #[test]
    fn every_role_action_target_matches_the_table() {
        let mut checked = 0;
        for role in Role::ALL {
            for action in Action::ALL {
                for target in TargetKind::ALL {
                    let want = expected(role, action).contains(&target);
                    assert_eq!(role_allows(role, action, target), want, "{role:?} {action:?} {target:?}");
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 5 * 8 * 4);
    }

    fn actor(roles: Vec<Role>) -> Actor {
        Actor {
            tenant_id: TenantId::new(),
            user_id: UserId::new(),
            upn: Upn::parse("admin@contoso.com").unwrap(),
            roles,
            source_ip: None,
            correlation_id: crate::ids::CorrelationId::new(),
        }
    }

    #[test]
    fn nobody_acts_across_tenants() {
        let ga = actor(vec![GlobalAdministrator]);
        let other = TenantId::new();
        assert!(matches!(authorize(&ga, other, ReadDirectory, T::Tenant), Err(CoreError::Forbidden(_))));
        let permit = authorize(&ga, ga.tenant_id, SetMfaState, T::User).unwrap();
        assert!(permit.allows(ga.tenant_id, &[]));
        assert!(!permit.allows(other, &[]));
    }

    #[test]
    fn authentication_admin_may_not_reset_a_global_admin() {
        let aa = actor(vec![AuthenticationAdministrator]);
        let permit = authorize(&aa, aa.tenant_id, ManageMethods, T::User).unwrap();
        assert!(permit.allows(aa.tenant_id, &[]));
        assert!(!permit.allows(aa.tenant_id, &[GlobalAdministrator]));
        assert!(!permit.allows(aa.tenant_id, &[HelpdeskAdministrator]));
        assert!(permit.check_target(aa.tenant_id, &[GlobalAdministrator], "ga@x.y").is_err());
    }

    #[test]
    fn roles_combine_by_union_and_users_without_roles_may_nothing() {
        let both = actor(vec![HelpdeskAdministrator, AuthenticationPolicyAdministrator]);
        assert!(both.may(SetMfaState, T::User));
        assert!(both.may(ManageMethods, T::User));
        let none = actor(vec![]);
        for a in Action::ALL {
            for t in TargetKind::ALL {
                assert!(!none.may(a, t));
            }
        }
    }

    #[test]
    fn target_kind_of_roles() {
        assert_eq!(TargetKind::of_roles(&[]), T::User);
        assert_eq!(TargetKind::of_roles(&[HelpdeskAdministrator]), T::Admin);
        assert_eq!(TargetKind::of_roles(&[HelpdeskAdministrator, GlobalAdministrator]), T::GlobalAdmin);
    }
}
