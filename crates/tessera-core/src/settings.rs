//! The tenant's MFA service settings: app passwords, trusted IPs, allowed verification
//! methods, and remembering MFA on trusted devices.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::CoreError;
use crate::mfa::MethodKind;

pub const MAX_TRUSTED_IP_RANGES: usize = 50;
pub const REMEMBER_DEVICE_DAYS: std::ops::RangeInclusive<u16> = 1..=365;

/// An IPv4 or IPv6 CIDR range in canonical form (no host bits set).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct IpRange {
    addr: IpAddr,
    prefix: u8,
}

impl IpRange {
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        let bad = |why: String| {
            CoreError::InvalidSetting(SettingRefused::sentence(
                SettingsField::TrustedIpRanges,
                format!("trusted IP range '{}': {why}", s.escape_debug()),
            ))
        };
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr = IpAddr::from_str(addr).map_err(|_| bad("not an IPv4 or IPv6 address".into()))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| bad(format!("the prefix length must be 0-{max}")))?,
        };
        let range = Self { addr: mask(addr, prefix), prefix };
        if range.addr != addr {
            return Err(bad(format!("host bits are set; did you mean {range}?")));
        }
        Ok(range)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match (self.addr, ip) {
            (IpAddr::V6(_), IpAddr::V4(v4)) => IpAddr::V6(v4.to_ipv6_mapped()),
            (IpAddr::V4(_), IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => return false,
            },
            _ => ip,
        };
        mask(ip, self.prefix) == self.addr
    }
}

fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) };
            IpAddr::V4((u32::from(a) & m).into())
        }
        IpAddr::V6(a) => {
            let m = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix)) };
            IpAddr::V6((u128::from(a) & m).into())
        }
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Serialize for IpRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IpRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The client's address: the socket's peer, unless the peer is one of the `trusted` proxies;
/// then the `X-Forwarded-For` hops (`forwarded_for`, each header's comma-separated list, in
/// order) are read from the right, past every trusted proxy, and the first address that is
/// not one is the client. Hops to the left of it were written by the client itself and are
/// never believed. A hop that is not an IP address stops the walk at the last good one.
pub fn client_ip(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpRange]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|r| r.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(client) {
        return client;
    }
    let hops = forwarded_for.iter().flat_map(|h| h.split(',')).map(str::trim).filter(|h| !h.is_empty());
    for hop in hops.collect::<Vec<_>>().into_iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else { break };
        client = ip.to_canonical();
        if !is_trusted(client) {
            break;
        }
    }
    client
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MfaSettings {
    pub allow_app_passwords: bool,
    pub trusted_ip_ranges: Vec<IpRange>,
    pub allowed_methods: Vec<MethodKind>,
    /// "Allow users to remember multi-factor authentication on devices they trust": the MFA
    /// prompt offers "Don't ask again for N days" (N = `remember_device_days`).
    #[serde(default)]
    pub allow_remember_devices: bool,
    pub remember_device_days: u16,
}

impl Default for MfaSettings {
    /// App passwords off, no trusted IPs, the phishing-resistant and app-based methods on
    /// (email and SMS need a provider configured first), remembering devices off (14 days
    /// when turned on).
    fn default() -> Self {
        Self {
            allow_app_passwords: false,
            trusted_ip_ranges: Vec::new(),
            allowed_methods: vec![
                MethodKind::Totp,
                MethodKind::Webauthn,
                MethodKind::RecoveryCode,
                MethodKind::TemporaryAccessPass,
            ],
            allow_remember_devices: false,
            remember_device_days: 14,
        }
    }
}

/// A partial update of the settings (from the API or the admin center). Raw strings so that
/// every bad value is reported with its own message.
#[derive(Clone, Debug, Default)]
pub struct MfaSettingsPatch {
    pub allow_app_passwords: Option<bool>,
    pub trusted_ip_ranges: Option<Vec<String>>,
    pub allowed_methods: Option<Vec<String>>,
    pub allow_remember_devices: Option<bool>,
    pub remember_device_days: Option<i64>,
}

/// The fields of the MFA service settings, to tell which one a validation error is about.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SettingsField {
    AllowAppPasswords,
    TrustedIpRanges,
    AllowedMethods,
    AllowRememberDevices,
    RememberDeviceDays,
}

impl SettingsField {
    /// The setting in words, as the core's own messages name it. Each door names it its own
    /// way ([`SettingRefused::message`]): the REST API by its JSON field.
    pub fn in_words(self) -> &'static str {
        match self {
            Self::AllowAppPasswords => "allowing app passwords",
            Self::TrustedIpRanges => "the trusted IP ranges",
            Self::AllowedMethods => "the allowed verification methods",
            Self::AllowRememberDevices => "allowing users to remember MFA on trusted devices",
            Self::RememberDeviceDays => "the days to remember MFA on a trusted device",
        }
    }
}

/// A setting refused by validation: which one, and why. The reason is either a whole
/// sentence or what follows the setting's name ("must be 1-365, got 0"), so that the core
/// does not spell the setting's name as any one door (JSON, a form) does.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SettingRefused {
    pub field: SettingsField,
    why: Why,
}

#[derive(Clone, PartialEq, Eq, Debug)]
enum Why {
    Sentence(String),
    AfterName(String),
}

impl SettingRefused {
    pub fn sentence(field: SettingsField, text: impl Into<String>) -> Self {
        Self { field, why: Why::Sentence(text.into()) }
    }

    /// `text` follows the setting's name.
    pub fn predicate(field: SettingsField, text: impl Into<String>) -> Self {
        Self { field, why: Why::AfterName(text.into()) }
    }

    /// The message, with the setting called `name(field)` where it is named.
    pub fn message(&self, name: impl FnOnce(SettingsField) -> &'static str) -> String {
        match &self.why {
            Why::Sentence(text) => text.clone(),
            Why::AfterName(text) => format!("{} {text}", name(self.field)),
        }
    }
}

impl fmt::Display for SettingRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(SettingsField::in_words))
    }
}

impl MfaSettingsPatch {
    /// Every problem of the patch, each with its field and the message [`MfaSettings::patched`]
    /// gives for it (which stops at the first), so that a form can show each one next to its
    /// field. Every bad trusted IP range is listed. Empty when the patch is valid.
    pub fn field_errors(&self) -> Vec<SettingRefused> {
        let base = MfaSettings::default();
        let check = |p: MfaSettingsPatch| match base.patched(&p) {
            Err(CoreError::InvalidSetting(r)) => Some(r),
            _ => None,
        };
        let mut out = Vec::new();
        if let Some(ranges) = &self.trusted_ip_ranges {
            let count = MfaSettingsPatch { trusted_ip_ranges: Some(ranges.clone()), ..Default::default() };
            if ranges.len() > MAX_TRUSTED_IP_RANGES {
                out.extend(check(count));
            } else {
                out.extend(ranges.iter().filter_map(|r| match IpRange::parse(r) {
                    Err(CoreError::InvalidSetting(r)) => Some(r),
                    _ => None,
                }));
            }
        }
        let methods = MfaSettingsPatch { allowed_methods: self.allowed_methods.clone(), ..Default::default() };
        out.extend(check(methods));
        let days = MfaSettingsPatch { remember_device_days: self.remember_device_days, ..Default::default() };
        out.extend(check(days));
        out
    }
}

impl MfaSettings {
    /// Applies `patch`, validating every field; on error nothing is applied.
    pub fn patched(&self, patch: &MfaSettingsPatch) -> Result<Self, CoreError> {
        let mut next = self.clone();
        if let Some(v) = patch.allow_app_passwords {
            next.allow_app_passwords = v;
        }
        if let Some(v) = patch.allow_remember_devices {
            next.allow_remember_devices = v;
        }
        if let Some(ranges) = &patch.trusted_ip_ranges {
            if ranges.len() > MAX_TRUSTED_IP_RANGES {
                return Err(CoreError::InvalidSetting(SettingRefused::sentence(
                    SettingsField::TrustedIpRanges,
                    format!("at most {MAX_TRUSTED_IP_RANGES} trusted IP ranges are allowed, got {}", ranges.len()),
                )));
            }
            let mut parsed: Vec<IpRange> = Vec::with_capacity(ranges.len());
            for r in ranges {
                let r = IpRange::parse(r)?;
                if !parsed.contains(&r) {
                    parsed.push(r);
                }
            }
            next.trusted_ip_ranges = parsed;
        }
        if let Some(methods) = &patch.allowed_methods {
            let mut parsed: Vec<MethodKind> = Vec::new();
            for m in methods {
                let k = MethodKind::parse(m).ok_or_else(|| {
                    CoreError::InvalidSetting(SettingRefused::sentence(
                        SettingsField::AllowedMethods,
                        format!(
                            "'{}' is not a verification method: use {}",
                            m.escape_debug(),
                            MethodKind::ALL.map(MethodKind::as_str).join(", ")
                        ),
                    ))
                })?;
                if !parsed.contains(&k) {
                    parsed.push(k);
                }
            }
            parsed.sort();
            let registrable = [MethodKind::Totp, MethodKind::Webauthn, MethodKind::Email, MethodKind::Sms];
            if !parsed.iter().any(|m| registrable.contains(m)) {
                return Err(CoreError::InvalidSetting(SettingRefused::predicate(
                    SettingsField::AllowedMethods,
                    "must include at least one of totp, webauthn, email, sms: users could not register otherwise",
                )));
            }
            next.allowed_methods = parsed;
        }
        if let Some(days) = patch.remember_device_days {
            next.remember_device_days =
                u16::try_from(days).ok().filter(|d| REMEMBER_DEVICE_DAYS.contains(d)).ok_or_else(|| {
                    CoreError::InvalidSetting(SettingRefused::predicate(
                        SettingsField::RememberDeviceDays,
                        format!("must be 1-365, got {days}"),
                    ))
                })?;
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_ranges_parse_and_match() {
        let r = IpRange::parse("10.0.0.0/8").unwrap();
        assert!(r.contains("10.1.2.3".parse().unwrap()));
        assert!(!r.contains("11.0.0.1".parse().unwrap()));
        assert!(r.contains("::ffff:10.9.9.9".parse().unwrap()));
        let v6 = IpRange::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        assert_eq!(IpRange::parse("192.0.2.7").unwrap().to_string(), "192.0.2.7/32");
        assert!(IpRange::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
    }

    #[test]
    fn client_ip_believes_only_trusted_proxies() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let proxies = [IpRange::parse("10.0.0.0/8").unwrap(), IpRange::parse("::1").unwrap()];
        // Not through a proxy: the header is the client's own word, ignored.
        assert_eq!(client_ip(ip("198.51.100.7"), &["203.0.113.5"], &proxies), ip("198.51.100.7"));
        // Through one proxy.
        assert_eq!(client_ip(ip("10.0.0.2"), &["203.0.113.5"], &proxies), ip("203.0.113.5"));
        // A client that sends its own header cannot pick its address: the rightmost untrusted wins.
        assert_eq!(client_ip(ip("10.0.0.2"), &["192.0.2.66, 203.0.113.5, 10.0.0.9"], &proxies), ip("203.0.113.5"));
        // Several headers are one list.
        assert_eq!(client_ip(ip("::1"), &["192.0.2.66", "203.0.113.5"], &proxies), ip("203.0.113.5"));
        // No header, or garbage: the last address known.
        assert_eq!(client_ip(ip("10.0.0.2"), &[], &proxies), ip("10.0.0.2"));
        assert_eq!(client_ip(ip("10.0.0.2"), &["203.0.113.5, nonsense"], &proxies), ip("10.0.0.2"));
        // IPv4-mapped peers are IPv4.
        assert_eq!(client_ip(ip("::ffff:10.0.0.2"), &["2001:db8::1"], &proxies), ip("2001:db8::1"));
        assert_eq!(client_ip(ip("10.0.0.2"), &["203.0.113.5"], &[]), ip("10.0.0.2"));
    }

    #[test]
    fn ip_ranges_reject_bad_input_with_reason() {
        for (bad, why) in [
            ("10.0.0.1/8", "did you mean 10.0.0.0/8"),
            ("10.0.0.0/33", "0-32"),
            ("nope", "not an IPv4"),
            ("::/129", "0-128"),
        ] {
            let e = IpRange::parse(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn patch_validates_everything_and_applies_nothing_on_error() {
        let s = MfaSettings::default();
        let ok = s
            .patched(&MfaSettingsPatch {
                allow_app_passwords: Some(true),
                trusted_ip_ranges: Some(vec!["10.0.0.0/8".into(), "10.0.0.0/8".into()]),
                allowed_methods: Some(vec!["TOTP".into(), "recoveryCode".into()]),
                allow_remember_devices: Some(true),
                remember_device_days: Some(30),
            })
            .unwrap();
        assert!(ok.allow_app_passwords);
        assert_eq!(ok.trusted_ip_ranges.len(), 1);
        assert_eq!(ok.allowed_methods, vec![MethodKind::Totp, MethodKind::RecoveryCode]);
        assert_eq!(ok.remember_device_days, 30);
        assert!(ok.allow_remember_devices);

        for days in [0, 366, -1] {
            let p = MfaSettingsPatch { remember_device_days: Some(days), ..Default::default() };
            assert!(s.patched(&p).is_err());
        }
        let too_many = MfaSettingsPatch {
            trusted_ip_ranges: Some((0..51).map(|i| format!("10.0.{i}.0/24")).collect()),
            ..Default::default()
        };
        assert!(s.patched(&too_many).unwrap_err().to_string().contains("at most 50"));
        let only_recovery =
            MfaSettingsPatch { allowed_methods: Some(vec!["recoveryCode".into()]), ..Default::default() };
        assert!(s.patched(&only_recovery).is_err());
        let unknown = MfaSettingsPatch { allowed_methods: Some(vec!["carrier-pigeon".into()]), ..Default::default() };
        assert!(s.patched(&unknown).is_err());
    }

    #[test]
    fn field_errors_name_each_bad_field() {
        let p = MfaSettingsPatch {
            allow_app_passwords: Some(true),
            trusted_ip_ranges: Some(vec!["10.0.0.0/8".into(), "nope".into(), "10.0.0.1/8".into()]),
            allowed_methods: Some(vec!["recoveryCode".into()]),
            allow_remember_devices: None,
            remember_device_days: Some(0),
        };
        let errors = p.field_errors();
        let fields: Vec<SettingsField> = errors.iter().map(|e| e.field).collect();
        use SettingsField::*;
        assert_eq!(fields, [TrustedIpRanges, TrustedIpRanges, AllowedMethods, RememberDeviceDays]);
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(text[0].contains("'nope'"), "{}", text[0]);
        assert!(text[1].contains("did you mean 10.0.0.0/8"), "{}", text[1]);
        assert_eq!(
            text[3],
            MfaSettings::default()
                .patched(&MfaSettingsPatch { remember_device_days: Some(0), ..Default::default() })
                .unwrap_err()
                .to_string()
        );
        assert_eq!(text[3], "the days to remember MFA on a trusted device must be 1-365, got 0");
        assert_eq!(errors[3].message(|_| "rememberDeviceDays"), "rememberDeviceDays must be 1-365, got 0");
        let ok = MfaSettingsPatch { trusted_ip_ranges: Some(vec!["192.0.2.0/24".into()]), ..Default::default() };
        assert!(ok.field_errors().is_empty());
    }
}
