//! An audit record's typed change is read back as written; JSON this version does not write
//! (a record of an older version) is read back as it is stored.

use serde_json::json;
use tessera_core::audit::{AuditAction, AuditQuery, AuditRecord};
use tessera_core::change::{Change, StateReason};
use tessera_core::ids::DeviceId;
use tessera_core::mfa::PerUserMfaState;
use tessera_core::ports::{Store, StoreTx};
use tessera_core::settings::MfaSettings;
use time::Duration;
use time::macros::datetime;

use crate::common::{T0, envs, system_record};

#[tokio::test]
async fn typed_and_unknown_changes_are_read_back_as_written() {
    for env in envs().await {
        let b = env.b;
        let store = env.store();
        let changes = [
            (
                AuditAction::MfaEnforce,
                Change::State {
                    from: PerUserMfaState::Enabled,
                    to: Some(PerUserMfaState::Enforced),
                    reason: Some(StateReason::RegisteredMethod),
                },
            ),
            (
                AuditAction::RememberedDeviceCreate,
                Change::DeviceRemembered { id: DeviceId::new(), expires_at: datetime!(2026-12-03 16:51:17 UTC) },
            ),
            (
                AuditAction::MfaSettingsUpdate,
                Change::Settings {
                    before: Box::default(),
                    after: Box::new(MfaSettings { allow_app_passwords: true, ..MfaSettings::default() }),
                },
            ),
            (
                AuditAction::MfaSettingsUpdate,
                Change::Unknown {
                    before: Some(json!({"allowAppPasswords": false, "trustedIpRanges": [], "allowedMethods": []})),
                    after: Some(json!({"allowAppPasswords": true, "trustedIpRanges": [], "allowedMethods": []})),
                },
            ),
        ];
        let recs: Vec<AuditRecord> = changes
            .iter()
            .enumerate()
            .map(|(i, (action, change))| system_record(&env, i, *action, Some(change.clone())))
            .collect();
        let mut tx = store.begin().await.unwrap();
        tx.insert_audit(&recs).await.unwrap_or_else(|e| panic!("[{b}] insert: {e}"));
        tx.commit().await.unwrap();
        let query = AuditQuery { since: Some(T0 + Duration::days(1)), ..env.log_query() };
        let mut got = store.audit(&query).await.unwrap_or_else(|e| panic!("[{b}] read: {e}")).items;
        got.reverse();
        let got: Vec<Option<Change>> = got.into_iter().map(|r| r.change).collect();
        let written: Vec<Option<Change>> = changes.into_iter().map(|(_, c)| Some(c)).collect();
        assert_eq!(got, written, "[{b}]");
    }
}
