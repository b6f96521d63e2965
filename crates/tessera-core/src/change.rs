//! The typed change of an audit record and of a bulk row: what was done to whom, before →
//! after. Core builds a [`Change`]; its JSON form ([`Change::to_json`], the `before`/`after`
//! columns of the audit log and of the API's audit records and bulk reports) is written here
//! only, and read back here only ([`Change::from_json`]), so neither a page nor the store looks
//! a key up by its name.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::access::Role;
use crate::audit::AuditAction;
use crate::closed::closed_set;
use crate::ids::{AppPasswordId, DeviceId, MethodId};
use crate::mfa::{MethodKind, PerUserMfaState};
use crate::settings::MfaSettings;

/// One side of a "Manage user settings" change: a field for each option chosen.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct UserSettingsSide {
    /// Registered sign-in methods (require re-registration).
    pub methods: Option<u64>,
    /// App passwords (delete all app passwords).
    pub app_passwords: Option<u64>,
    /// Devices remembered before this time ask for MFA again (restore MFA on remembered
    /// devices); `Some(None)`: never restored before.
    pub remembered_devices_not_before: Option<Option<OffsetDateTime>>,
}

const METHODS: &str = "methods";
const APP_PASSWORDS: &str = "appPasswords";
const DEVICES_NOT_BEFORE: &str = "rememberedDevicesNotBefore";

impl UserSettingsSide {
    fn to_json(self) -> Value {
        let mut m = Map::new();
        if let Some(n) = self.methods {
            m.insert(METHODS.into(), n.into());
        }
        if let Some(n) = self.app_passwords {
            m.insert(APP_PASSWORDS.into(), n.into());
        }
        if let Some(t) = self.remembered_devices_not_before {
            let t = t.and_then(|t| t.format(&Rfc3339).ok());
            m.insert(DEVICES_NOT_BEFORE.into(), t.map_or(Value::Null, Value::String));
        }
        Value::Object(m)
    }

    fn from_json(v: &Value) -> Option<Self> {
        let m = v.as_object()?;
        let count = |k: &str| m.get(k).map(|v| v.as_u64()).map_or(Some(None), |n| n.map(Some));
        let time = match m.get(DEVICES_NOT_BEFORE) {
            None => None,
            Some(Value::Null) => Some(None),
            Some(v) => Some(Some(OffsetDateTime::parse(v.as_str()?, &Rfc3339).ok()?)),
        };
        Some(Self {
            methods: count(METHODS)?,
            app_passwords: count(APP_PASSWORDS)?,
            remembered_devices_not_before: time,
        })
    }
}

closed_set! {
    /// Why a state changed without an administrator's step.
    pub enum StateReason("state change reason") {
        /// An enabled user registered a method and became enforced.
        RegisteredMethod = "registered a method",
    }
}

/// A user as created: `tessera init` records only the UPN and roles of the first
/// administrator.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CreatedUser {
    pub upn: String,
    pub display_name: Option<String>,
    pub account_enabled: Option<bool>,
    pub roles: Vec<Role>,
}

/// An administrator's change of an account: each field is there when it was part of it.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct AccountChange {
    /// Enabled before → after.
    pub enabled: Option<(bool, bool)>,
    pub password_changed: bool,
    pub remembered_devices_deleted: Option<u64>,
    pub sessions_revoked: Option<u64>,
}

/// What an audit record (or a bulk row) says was done.
#[derive(Clone, PartialEq, Debug)]
pub enum Change {
    TenantCreated {
        slug: String,
    },
    UserCreated(CreatedUser),
    UserDeleted {
        upn: String,
        display_name: String,
        state: PerUserMfaState,
    },
    /// A quick step, an explicit state, or a registration; `to` is `None` when a bulk step
    /// was skipped (Enable on an enforced user).
    State {
        from: PerUserMfaState,
        to: Option<PerUserMfaState>,
        reason: Option<StateReason>,
    },
    /// "Manage user settings".
    UserSettings {
        before: UserSettingsSide,
        after: UserSettingsSide,
    },
    MethodRegistered {
        kind: MethodKind,
        label: Option<String>,
    },
    /// `method` (kind and label) when an administrator deleted it.
    MethodDeleted {
        id: MethodId,
        method: Option<(MethodKind, Option<String>)>,
    },
    /// New recovery codes (created with the first method, or regenerated).
    RecoveryCodes {
        count: u64,
    },
    AppPasswordCreated {
        id: AppPasswordId,
        name: String,
    },
    AppPasswordDeleted {
        id: AppPasswordId,
        name: String,
    },
    DeviceRemembered {
        id: DeviceId,
        expires_at: OffsetDateTime,
    },
    DeviceForgotten {
        id: DeviceId,
    },
    /// The user changed their own password; their other sessions ended.
    PasswordChanged {
        remembered_devices_deleted: u64,
        sessions_ended: u64,
    },
    Account(AccountChange),
    SessionsRevoked {
        count: u64,
    },
    Settings {
        before: Box<MfaSettings>,
        after: Box<MfaSettings>,
    },
    /// A stored record this version does not read (written by another version): its JSON as
    /// stored, shown and sent as it is.
    Unknown {
        before: Option<Value>,
        after: Option<Value>,
    },
}

/// The JSON of one side of a change, `before` or `after`.
pub type ChangeJson = (Option<Value>, Option<Value>);

const ACCOUNT_ENABLED: &str = "accountEnabled";
const DEVICES_DELETED: &str = "rememberedDevicesDeleted";

impl Change {
    /// The `before` and `after` of the audit log and of the API's records and bulk rows.
    pub fn to_json(&self) -> ChangeJson {
        match self {
            Self::TenantCreated { slug } => (None, Some(json!({ "slug": slug }))),
            Self::UserCreated(u) => {
                let mut m = Map::new();
                m.insert("upn".into(), u.upn.clone().into());
                if let Some(name) = &u.display_name {
                    m.insert("displayName".into(), name.clone().into());
                }
                if let Some(enabled) = u.account_enabled {
                    m.insert(ACCOUNT_ENABLED.into(), enabled.into());
                }
                m.insert("roles".into(), u.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().into());
                (None, Some(m.into()))
            }
            Self::UserDeleted { upn, display_name, state } => {
                (Some(json!({ "upn": upn, "displayName": display_name, "perUserMfaState": state.as_str() })), None)
            }
            Self::State { from, to, reason } => {
                let to = match (to, reason) {
                    (Some(to), Some(r)) => Some(json!({ "state": to.as_str(), "reason": r.as_str() })),
                    (to, _) => to.map(|t| t.as_str().into()),
                };
                (Some(from.as_str().into()), to)
            }
            Self::UserSettings { before, after } => (Some(before.to_json()), Some(after.to_json())),
            Self::MethodRegistered { kind, label } => (None, Some(json!({ "kind": kind.as_str(), "label": label }))),
            Self::MethodDeleted { id, method: None } => (Some(json!({ "id": id })), None),
            Self::MethodDeleted { id, method: Some((kind, label)) } => {
                (Some(json!({ "id": id, "kind": kind.as_str(), "label": label })), None)
            }
            Self::RecoveryCodes { count } => (None, Some(json!({ "count": count }))),
            Self::AppPasswordCreated { id, name } => (None, Some(json!({ "id": id, "name": name }))),
            Self::AppPasswordDeleted { id, name } => (Some(json!({ "id": id, "name": name })), None),
            Self::DeviceRemembered { id, expires_at } => {
                (None, Some(json!({ "id": id, "expiresAt": expires_at.unix_timestamp() })))
            }
            Self::DeviceForgotten { id } => (Some(json!({ "id": id })), None),
            Self::PasswordChanged { remembered_devices_deleted, sessions_ended } => (
                None,
                Some(
                    json!({ "rememberedDevicesDeleted": remembered_devices_deleted, "sessionsEnded": sessions_ended }),
                ),
            ),
            Self::Account(a) => {
                let (mut before, mut after) = (Map::new(), Map::new());
                if let Some((b, a)) = a.enabled {
                    before.insert(ACCOUNT_ENABLED.into(), b.into());
                    after.insert(ACCOUNT_ENABLED.into(), a.into());
                }
                if a.password_changed {
                    after.insert("password".into(), "changed".into());
                }
                if let Some(n) = a.remembered_devices_deleted {
                    after.insert(DEVICES_DELETED.into(), n.into());
                }
                if let Some(n) = a.sessions_revoked {
                    after.insert("sessionsRevoked".into(), n.into());
                }
                (Some(before.into()), Some(after.into()))
            }
            Self::SessionsRevoked { count } => (None, Some(json!({ "revoked": count }))),
            Self::Settings { before, after } => (settings_json(before), settings_json(after)),
            Self::Unknown { before, after } => (before.clone(), after.clone()),
        }
    }

    /// The change of a record of `action` whose JSON is `before`/`after`, as
    /// [`Change::to_json`] writes it; `None` when both are empty. JSON this version does not
    /// write for the action (a record of an older or newer version) is kept as
    /// [`Change::Unknown`], so that it is still shown and sent unchanged.
    pub fn from_json(action: AuditAction, before: Option<Value>, after: Option<Value>) -> Option<Self> {
        if before.is_none() && after.is_none() {
            return None;
        }
        let typed = read(action, before.as_ref(), after.as_ref()).filter(|c| {
            let (b, a) = c.to_json();
            b == before && a == after
        });
        Some(typed.unwrap_or(Self::Unknown { before, after }))
    }
}

fn settings_json(s: &MfaSettings) -> Option<Value> {
    serde_json::to_value(s).ok()
}

/// Reads the JSON of `action`; [`Change::from_json`] keeps the result only if it writes the
/// same JSON back, so the readers below may be lenient (e.g. ignore extra keys).
fn read(action: AuditAction, before: Option<&Value>, after: Option<&Value>) -> Option<Change> {
    fn obj(v: Option<&Value>) -> Option<&Map<String, Value>> {
        v.and_then(Value::as_object)
    }
    use AuditAction as A;
    let text = |m: &Map<String, Value>, k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
    let count = |m: &Map<String, Value>, k: &str| m.get(k).and_then(Value::as_u64);
    let label = |m: &Map<String, Value>| match m.get("label")? {
        Value::Null => Some(None),
        v => v.as_str().map(|s| Some(s.to_owned())),
    };
    let state = |v: &Value| v.as_str().and_then(|s| PerUserMfaState::parse(s).ok());
    let id = |m: &Map<String, Value>| m.get("id").and_then(Value::as_str).map(str::to_owned);
    Some(match action {
        A::TenantCreate => Change::TenantCreated { slug: text(obj(after)?, "slug")? },
        A::UserCreate => {
            let m = obj(after)?;
            let roles = m.get("roles")?.as_array()?;
            Change::UserCreated(CreatedUser {
                upn: text(m, "upn")?,
                display_name: text(m, "displayName"),
                account_enabled: m.get(ACCOUNT_ENABLED).and_then(Value::as_bool),
                roles: roles.iter().map(|r| r.as_str().and_then(|r| Role::parse(r).ok())).collect::<Option<_>>()?,
            })
        }
        A::UserDelete => {
            let m = obj(before)?;
            Change::UserDeleted {
                upn: text(m, "upn")?,
                display_name: text(m, "displayName")?,
                state: state(m.get("perUserMfaState")?)?,
            }
        }
        A::MfaEnable | A::MfaEnforce | A::MfaDisable | A::MfaSetState => {
            let from = state(before?)?;
            match after {
                None => Change::State { from, to: None, reason: None },
                Some(Value::Object(m)) => Change::State {
                    from,
                    to: Some(state(m.get("state")?)?),
                    reason: Some(StateReason::parse(m.get("reason")?.as_str()?).ok()?),
                },
                Some(v) => Change::State { from, to: Some(state(v)?), reason: None },
            }
        }
        A::MfaManageUserSettings => Change::UserSettings {
            before: UserSettingsSide::from_json(before?)?,
            after: UserSettingsSide::from_json(after?)?,
        },
        A::MethodRegister => {
            let m = obj(after)?;
            Change::MethodRegistered { kind: MethodKind::parse(&text(m, "kind")?)?, label: label(m)? }
        }
        A::MethodDelete => {
            let m = obj(before)?;
            let method = match m.get("kind") {
                None => None,
                Some(k) => Some((MethodKind::parse(k.as_str()?)?, label(m)?)),
            };
            Change::MethodDeleted { id: MethodId::parse(&id(m)?)?, method }
        }
        A::RecoveryCodesCreate | A::RecoveryCodesRegenerate => {
            Change::RecoveryCodes { count: count(obj(after)?, "count")? }
        }
        A::AppPasswordCreate | A::AppPasswordDelete => {
            let m = obj(if action == A::AppPasswordCreate { after } else { before })?;
            let (id, name) = (AppPasswordId::parse(&id(m)?)?, text(m, "name")?);
            if action == A::AppPasswordCreate {
                Change::AppPasswordCreated { id, name }
            } else {
                Change::AppPasswordDeleted { id, name }
            }
        }
        A::RememberedDeviceCreate => {
            let m = obj(after)?;
            let expires_at = OffsetDateTime::from_unix_timestamp(m.get("expiresAt")?.as_i64()?).ok()?;
            Change::DeviceRemembered { id: DeviceId::parse(&id(m)?)?, expires_at }
        }
        A::RememberedDeviceDelete => Change::DeviceForgotten { id: DeviceId::parse(&id(obj(before)?)?)? },
        A::PasswordChange => {
            let m = obj(after)?;
            Change::PasswordChanged {
                remembered_devices_deleted: count(m, DEVICES_DELETED)?,
                sessions_ended: count(m, "sessionsEnded")?,
            }
        }
        A::AccountUpdate => {
            let (b, a) = (obj(before)?, obj(after)?);
            let enabled = |m: &Map<String, Value>| m.get(ACCOUNT_ENABLED).and_then(Value::as_bool);
            Change::Account(AccountChange {
                enabled: enabled(b).zip(enabled(a)),
                password_changed: a.contains_key("password"),
                remembered_devices_deleted: count(a, DEVICES_DELETED),
                sessions_revoked: count(a, "sessionsRevoked"),
            })
        }
        A::SessionsRevoke => Change::SessionsRevoked { count: count(obj(after)?, "revoked")? },
        A::MfaSettingsUpdate => Change::Settings {
            before: Box::new(serde_json::from_value(before?.clone()).ok()?),
            after: Box::new(serde_json::from_value(after?.clone()).ok()?),
        },
    })
}

#[cfg(test)]
mod tests;
