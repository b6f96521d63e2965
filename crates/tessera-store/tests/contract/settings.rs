//! The tenant's MFA service settings: defaults, validation, audited changes, and the round
//! trip through the store.

use serde_json::json;
use tessera_core::CoreError;
use tessera_core::mfa::MethodKind;
use tessera_core::ports::{Store, StoreTx};
use tessera_core::settings::{IpRange, MfaSettings, MfaSettingsPatch};

use crate::common::envs;

#[tokio::test]
async fn defaults_until_changed() {
    for env in envs().await {
        let b = env.b;
        let s = env.svc.mfa_settings(&env.ga).await.unwrap();
        assert_eq!(s, MfaSettings::default(), "[{b}] defaults");
        assert!(!s.allow_app_passwords, "[{b}] app passwords off");
        assert_eq!(s.remember_device_days, 14, "[{b}] 14 days");
        assert!(s.trusted_ip_ranges.is_empty(), "[{b}] no trusted IPs");
    }
}

#[tokio::test]
async fn an_invalid_patch_changes_nothing() {
    for env in envs().await {
        let b = env.b;
        let before = env.fingerprint().await;
        let bad = [
            MfaSettingsPatch { remember_device_days: Some(0), ..Default::default() },
            MfaSettingsPatch { remember_device_days: Some(366), ..Default::default() },
            MfaSettingsPatch { trusted_ip_ranges: Some(vec!["10.0.0.1/8".into()]), ..Default::default() },
            MfaSettingsPatch { allowed_methods: Some(vec!["carrierPigeon".into()]), ..Default::default() },
            MfaSettingsPatch { allowed_methods: Some(vec!["recoveryCode".into()]), ..Default::default() },
            // Valid fields next to an invalid one: none of them is applied.
            MfaSettingsPatch {
                allow_app_passwords: Some(true),
                trusted_ip_ranges: Some(vec!["10.0.0.0/8".into()]),
                remember_device_days: Some(-1),
                ..Default::default()
            },
        ];
        for p in bad {
            let r = env.svc.update_mfa_settings(&env.ga, p.clone()).await;
            assert!(matches!(r, Err(CoreError::InvalidSetting(_))), "[{b}] {p:?}: {r:?}");
            assert_eq!(env.fingerprint().await, before, "[{b}] {p:?}: nothing changed");
        }
    }
}

#[tokio::test]
async fn a_valid_patch_is_stored_and_audited_with_before_and_after() {
    for env in envs().await {
        let b = env.b;
        let audit_before = env.audit_all().await.len();
        let patch = MfaSettingsPatch {
            allow_app_passwords: Some(true),
            trusted_ip_ranges: Some(vec!["10.0.0.0/8".into(), "2001:db8::/32".into(), "192.0.2.7".into()]),
            allowed_methods: None,
            allow_remember_devices: Some(true),
            remember_device_days: Some(30),
        };
        let after = env.svc.update_mfa_settings(&env.ga, patch).await.unwrap_or_else(|e| panic!("[{b}] patch: {e}"));
        assert!(after.allow_app_passwords, "[{b}] app passwords on");
        assert_eq!(after.remember_device_days, 30, "[{b}] days");
        assert!(after.allow_remember_devices, "[{b}] remembering devices on");
        assert_eq!(after.allowed_methods, MfaSettings::default().allowed_methods, "[{b}] untouched field kept");
        assert_eq!(after.trusted_ip_ranges.len(), 3, "[{b}] ranges");
        assert_eq!(env.svc.mfa_settings(&env.ga).await.unwrap(), after, "[{b}] read back through the service");
        assert_eq!(env.store().settings(env.tenant.id).await.unwrap(), after, "[{b}] read back through the store");

        let audit = env.audit_all().await;
        assert_eq!(audit.len(), audit_before + 1, "[{b}] one audit record");
        let rec = &audit[0];
        assert_eq!(rec.action, "settings.mfa.update", "[{b}] action");
        assert_eq!(rec.actor_id, Some(env.admin.id), "[{b}] actor");
        assert_eq!(rec.target_id, None, "[{b}] no target user");
        assert_eq!(rec.json().0, Some(json!(MfaSettings::default())), "[{b}] before");
        assert_eq!(rec.json().1, Some(json!(after)), "[{b}] after");
        assert_eq!(
            rec.json().1.as_ref().unwrap()["trustedIpRanges"],
            json!(["10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32"]),
            "[{b}] canonical ranges"
        );

        // A second patch starts from the stored settings; a no-op patch is not audited.
        let p2 =
            MfaSettingsPatch { allowed_methods: Some(vec!["webauthn".into(), "TOTP".into()]), ..Default::default() };
        let s2 = env.svc.update_mfa_settings(&env.ga, p2).await.unwrap();
        assert_eq!(s2.allowed_methods, vec![MethodKind::Totp, MethodKind::Webauthn], "[{b}] methods");
        assert!(s2.allow_app_passwords && s2.remember_device_days == 30, "[{b}] earlier patch kept");
        assert_eq!(env.audit_all().await[0].json().0, Some(json!(after)), "[{b}] second before is the first after");
        let n = env.audit_all().await.len();
        let same = env
            .svc
            .update_mfa_settings(&env.ga, MfaSettingsPatch { remember_device_days: Some(30), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(same, s2, "[{b}] no-op patch");
        assert_eq!(env.audit_all().await.len(), n, "[{b}] a no-op is not audited");

        // Settings are per tenant.
        let (fab, _, fab_ga) = env.other_tenant("fabrikam").await;
        assert_eq!(
            env.svc.mfa_settings(&fab_ga).await.unwrap(),
            MfaSettings::default(),
            "[{b}] other tenant has defaults"
        );
        assert_eq!(
            env.store().settings(fab.id).await.unwrap(),
            MfaSettings::default(),
            "[{b}] other tenant in the store"
        );
    }
}

#[tokio::test]
async fn settings_round_trip_through_the_store_port() {
    for env in envs().await {
        let b = env.b;
        let s = MfaSettings {
            allow_app_passwords: true,
            trusted_ip_ranges: vec![IpRange::parse("0.0.0.0/0").unwrap(), IpRange::parse("fe80::/10").unwrap()],
            allowed_methods: MethodKind::ALL.to_vec(),
            allow_remember_devices: true,
            remember_device_days: 365,
        };
        let mut tx = env.store().begin().await.unwrap();
        assert_eq!(tx.settings(env.tenant.id).await.unwrap(), MfaSettings::default(), "[{b}] defaults inside a tx");
        tx.put_settings(env.tenant.id, &s).await.unwrap();
        assert_eq!(tx.settings(env.tenant.id).await.unwrap(), s, "[{b}] own write visible inside the tx");
        tx.commit().await.unwrap();
        assert_eq!(env.store().settings(env.tenant.id).await.unwrap(), s, "[{b}] round trip");

        // Put again (an upsert), then one more value.
        let s2 = MfaSettings { remember_device_days: 1, allowed_methods: vec![MethodKind::Sms], ..s.clone() };
        let mut tx = env.store().begin().await.unwrap();
        tx.put_settings(env.tenant.id, &s2).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(env.store().settings(env.tenant.id).await.unwrap(), s2, "[{b}] upsert");
    }
}
