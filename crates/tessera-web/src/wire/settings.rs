//! The MFA service settings.

use serde::{Deserialize, Serialize};
use tessera_core::settings;
use utoipa::ToSchema;

#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct MfaSettings {
    #[schema(required)]
    pub allow_app_passwords: bool,
    /// IPv4/IPv6 CIDR ranges whose sign-ins skip MFA (at most 50).
    #[schema(required)]
    pub trusted_ip_ranges: Vec<String>,
    /// Of `totp`, `webauthn`, `email`, `sms`, `recoveryCode`, `temporaryAccessPass`.
    #[schema(required)]
    pub allowed_methods: Vec<String>,
    /// Allow users to remember MFA on devices they trust: the MFA prompt offers "Don't ask
    /// again for N days" (N = `rememberDeviceDays`). Off by default.
    #[schema(required)]
    pub allow_remember_devices: bool,
    /// 1-365.
    #[schema(required)]
    pub remember_device_days: u16,
}

impl From<settings::MfaSettings> for MfaSettings {
    fn from(s: settings::MfaSettings) -> Self {
        Self {
            allow_app_passwords: s.allow_app_passwords,
            trusted_ip_ranges: s.trusted_ip_ranges.iter().map(ToString::to_string).collect(),
            allowed_methods: s.allowed_methods.iter().map(|m| m.as_str().to_owned()).collect(),
            allow_remember_devices: s.allow_remember_devices,
            remember_device_days: s.remember_device_days,
        }
    }
}

/// A partial update of the MFA service settings; omitted fields stay as they are.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MfaSettingsPatch {
    pub allow_app_passwords: Option<bool>,
    pub trusted_ip_ranges: Option<Vec<String>>,
    pub allowed_methods: Option<Vec<String>>,
    pub allow_remember_devices: Option<bool>,
    pub remember_device_days: Option<i64>,
}

impl From<MfaSettingsPatch> for settings::MfaSettingsPatch {
    fn from(p: MfaSettingsPatch) -> Self {
        Self {
            allow_app_passwords: p.allow_app_passwords,
            trusted_ip_ranges: p.trusted_ip_ranges,
            allowed_methods: p.allowed_methods,
            allow_remember_devices: p.allow_remember_devices,
            remember_device_days: p.remember_device_days,
        }
    }
}

/// A setting's name in the JSON above: how the API and the admin center name a setting in
/// their messages.
pub(crate) fn field_name(field: settings::SettingsField) -> &'static str {
    use settings::SettingsField as F;
    match field {
        F::AllowAppPasswords => "allowAppPasswords",
        F::TrustedIpRanges => "trustedIpRanges",
        F::AllowedMethods => "allowedMethods",
        F::AllowRememberDevices => "allowRememberDevices",
        F::RememberDeviceDays => "rememberDeviceDays",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::settings::SettingsField as F;

    #[test]
    fn field_names_are_the_json_keys() {
        let json = serde_json::to_value(MfaSettings::default()).unwrap();
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        for f in [
            F::AllowAppPasswords,
            F::TrustedIpRanges,
            F::AllowedMethods,
            F::AllowRememberDevices,
            F::RememberDeviceDays,
        ] {
            assert!(keys.iter().any(|k| *k == field_name(f)), "{f:?}");
        }
    }
}
