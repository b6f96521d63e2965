//! The typed before → after of a bulk row (and of the audit record it writes). Core builds a
//! [`BulkChange`]; its JSON form ([`BulkChange::to_json`], the `before`/`after` of the API's
//! bulk report and of the audit log) is written here only, and read back here only
//! ([`BulkChange::from_json`]), so a page never looks a key up by its name.

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::mfa::PerUserMfaState;

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
        let known = m.keys().all(|k| [METHODS, APP_PASSWORDS, DEVICES_NOT_BEFORE].contains(&k.as_str()));
        known.then_some(Self {
            methods: count(METHODS)?,
            app_passwords: count(APP_PASSWORDS)?,
            remembered_devices_not_before: time,
        })
    }
}

/// What a bulk request did (or, in a dry run, would do) to one user.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BulkChange {
    /// A quick step or an explicit state; `to` is `None` when the step was skipped (Enable on
    /// an enforced user).
    State { from: PerUserMfaState, to: Option<PerUserMfaState> },
    /// "Manage user settings".
    UserSettings { before: UserSettingsSide, after: UserSettingsSide },
}

impl BulkChange {
    /// The `before` and `after` of the bulk report and the audit record.
    pub fn to_json(&self) -> (Value, Option<Value>) {
        match self {
            Self::State { from, to } => (from.as_str().into(), to.map(|t| t.as_str().into())),
            Self::UserSettings { before, after } => (before.to_json(), Some(after.to_json())),
        }
    }

    /// The change a `before`/`after` pair written by [`BulkChange::to_json`] stands for.
    pub fn from_json(before: Option<&Value>, after: Option<&Value>) -> Option<Self> {
        let state = |v: &Value| v.as_str().and_then(|s| PerUserMfaState::parse(s).ok());
        match (before?, after) {
            (b @ Value::String(_), None) => Some(Self::State { from: state(b)?, to: None }),
            (b @ Value::String(_), Some(a)) => Some(Self::State { from: state(b)?, to: Some(state(a)?) }),
            (b @ Value::Object(_), Some(a)) => Some(Self::UserSettings {
                before: UserSettingsSide::from_json(b)?,
                after: UserSettingsSide::from_json(a)?,
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    #[test]
    fn bulk_changes_keep_their_json_and_read_back() {
        let t = datetime!(2025-03-10 09:00:00 UTC);
        let side = |methods, app_passwords, devices| UserSettingsSide {
            methods,
            app_passwords,
            remembered_devices_not_before: devices,
        };
        let cases = [
            (
                BulkChange::State { from: PerUserMfaState::Enabled, to: Some(PerUserMfaState::Enforced) },
                json!("enabled"),
                Some(json!("enforced")),
            ),
            (BulkChange::State { from: PerUserMfaState::Enforced, to: None }, json!("enforced"), None),
            (
                BulkChange::UserSettings { before: side(Some(2), None, None), after: side(Some(0), None, None) },
                json!({"methods": 2}),
                Some(json!({"methods": 0})),
            ),
            (
                BulkChange::UserSettings {
                    before: side(Some(1), Some(3), Some(None)),
                    after: side(Some(0), Some(0), Some(Some(t))),
                },
                json!({"methods": 1, "appPasswords": 3, "rememberedDevicesNotBefore": null}),
                Some(json!({"methods": 0, "appPasswords": 0, "rememberedDevicesNotBefore": "2025-03-10T09:00:00Z"})),
            ),
        ];
        for (change, before, after) in cases {
            assert_eq!(change.to_json(), (before.clone(), after.clone()));
            assert_eq!(BulkChange::from_json(Some(&before), after.as_ref()), Some(change));
        }
        for (b, a) in [
            (json!("on"), Some(json!("enforced"))),
            (json!({"methods": "two"}), Some(json!({"methods": 0}))),
            (json!({"devices": 1}), Some(json!({"devices": 0}))),
            (json!(3), None),
        ] {
            assert_eq!(BulkChange::from_json(Some(&b), a.as_ref()), None, "{b}");
        }
    }
}
