//! Bulk MFA operations: Enable / Enforce / Disable / set state / "Manage user settings" on a
//! selection of users, in one transaction with one audit record per user changed. A dry run
//! returns the same report and changes nothing; any failing row rejects the whole request.

use std::collections::{HashMap, HashSet};

use super::{AuditDraft, Tessera};
use crate::access::{Action, Actor, TargetKind, authorize};
use crate::change::{Change, UserSettingsSide};
use crate::error::CoreError;
use crate::ids::{UserId, UserRef};
use crate::mfa::{BulkOp, BulkReport, BulkRow, PerUserMfaState, RowError, RowStatus, UserSettingsOptions};
use crate::ports::{Store, StoreTx};
use crate::user::UserSnapshot;

/// At most this many rows in one request.
pub const MAX_BULK_ROWS: usize = 100_000;

/// One row of a bulk request: the user as given, and what to do to them.
#[derive(Clone, Debug)]
pub struct BulkRequestRow {
    pub user: String,
    pub op: BulkOp,
}

/// What one changed row does, collected to apply set-wise.
#[derive(Default)]
struct Plan {
    states: HashMap<PerUserMfaState, Vec<UserId>>,
    delete_methods: Vec<UserId>,
    delete_app_passwords: Vec<UserId>,
    revoke_devices: Vec<UserId>,
}

fn action_of(op: &BulkOp) -> Action {
    match op {
        BulkOp::QuickStep(_) | BulkOp::SetState(_) => Action::SetMfaState,
        BulkOp::ManageUserSettings(_) => Action::ManageMethods,
    }
}

fn row(user: &str, status: RowStatus) -> BulkRow {
    BulkRow { user: user.to_owned(), id: None, upn: None, status, change: None, error: None }
}

fn failed(user: &str, status: RowStatus, code: &'static str, message: String) -> BulkRow {
    BulkRow { error: Some(RowError { code, message }), ..row(user, status) }
}

impl<S: Store> Tessera<S> {
    /// Applies `rows` (or, with `dry_run`, only reports what would happen).
    pub async fn bulk(&self, actor: &Actor, rows: Vec<BulkRequestRow>, dry_run: bool) -> Result<BulkReport, CoreError> {
        if rows.is_empty() {
            return Err(CoreError::InvalidRequest("no users given".into()));
        }
        if rows.len() > MAX_BULK_ROWS {
            return Err(CoreError::InvalidRequest(format!(
                "at most {MAX_BULK_ROWS} users per request, got {}",
                rows.len()
            )));
        }
        if rows.iter().any(|r| matches!(r.op, BulkOp::ManageUserSettings(o) if o.is_empty())) {
            return Err(CoreError::InvalidRequest("choose at least one of the user settings options".into()));
        }
        // The request as a whole must be something the actor may do to someone.
        let mut permits = Vec::new();
        for action in rows.iter().map(|r| action_of(&r.op)).collect::<HashSet<_>>() {
            permits.push(authorize(actor, actor.tenant_id, action, TargetKind::User)?);
        }
        let permit_for = |op: &BulkOp| permits.iter().find(|p| p.action() == action_of(op)).expect("authorized above");

        let parsed: Vec<Result<UserRef, CoreError>> = rows.iter().map(|r| UserRef::parse(&r.user)).collect();
        let refs: Vec<UserRef> = parsed.iter().filter_map(|p| p.as_ref().ok().cloned()).collect();
        let mut tx = self.store.begin().await?;
        let snapshots = tx.snapshots(actor.tenant_id, &refs).await?;
        let by_id: HashMap<UserId, &UserSnapshot> = snapshots.iter().map(|s| (s.user.id, s)).collect();
        let by_key: HashMap<String, &UserSnapshot> = snapshots.iter().map(|s| (s.user.upn.key(), s)).collect();

        let now = self.now();
        let draft = AuditDraft { actor, now };
        let mut seen = HashSet::new();
        let mut plan = Plan::default();
        let mut audit = Vec::new();
        let mut results = Vec::with_capacity(rows.len());
        for (req, parsed) in rows.iter().zip(parsed) {
            let user_ref = match parsed {
                Ok(r) => r,
                Err(e) => {
                    results.push(failed(&req.user, RowStatus::Invalid, "invalid_upn", e.to_string()));
                    continue;
                }
            };
            let snap = match &user_ref {
                UserRef::Id(id) => by_id.get(id),
                UserRef::Upn(upn) => by_key.get(&upn.key()),
            };
            let Some(snap) = snap.copied() else {
                results.push(failed(
                    &req.user,
                    RowStatus::NotFound,
                    "not_found",
                    format!("user '{}' was not found", req.user),
                ));
                continue;
            };
            let user = &snap.user;
            let mut out =
                BulkRow { id: Some(user.id), upn: Some(user.upn.to_string()), ..row(&req.user, RowStatus::Unchanged) };
            if !seen.insert(user.id) {
                out.status = RowStatus::Duplicate;
                results.push(out);
                continue;
            }
            if !permit_for(&req.op).allows(user.tenant_id, &user.roles) {
                out.status = RowStatus::Forbidden;
                out.error = Some(RowError {
                    code: "forbidden",
                    message: format!("your role does not allow this action on {}", user.upn),
                });
                results.push(out);
                continue;
            }
            let (status, change) = plan.add(snap, &req.op, now);
            out.status = status;
            if status == RowStatus::Changed {
                audit.push(draft.record(req.op.audit_action(), Some((user.id, user.upn.as_str())), change.clone()));
            }
            out.change = Some(change);
            results.push(out);
        }

        let report = BulkReport::new(dry_run, results);
        if report.summary.failed > 0 {
            return Err(CoreError::BulkRejected(Box::new(report)));
        }
        if dry_run {
            return Ok(report); // the transaction rolls back on drop
        }
        plan.apply(&mut tx, now).await?;
        tx.insert_audit(&audit).await?;
        tx.commit().await?;
        Ok(report)
    }
}

impl Plan {
    /// Records what `op` does to `snap`; returns the row status and the change.
    fn add(&mut self, snap: &UserSnapshot, op: &BulkOp, now: time::OffsetDateTime) -> (RowStatus, Change) {
        let user = &snap.user;
        let from = user.per_user_mfa_state;
        let to = match op {
            BulkOp::QuickStep(step) => from.after_quick_step(*step),
            BulkOp::SetState(s) => Some(*s),
            BulkOp::ManageUserSettings(o) => return self.add_settings(snap, *o, now),
        };
        let status = match to {
            None => RowStatus::Skipped,
            Some(t) if t == from => RowStatus::Unchanged,
            Some(t) => {
                self.states.entry(t).or_default().push(user.id);
                RowStatus::Changed
            }
        };
        (status, Change::State { from, to, reason: None })
    }

    fn add_settings(
        &mut self,
        snap: &UserSnapshot,
        o: UserSettingsOptions,
        now: time::OffsetDateTime,
    ) -> (RowStatus, Change) {
        let id = snap.user.id;
        let mut before = UserSettingsSide::default();
        let mut after = UserSettingsSide::default();
        let mut changed = false;
        if o.require_reregistration {
            let n = snap.user.methods.len() as u64;
            (before.methods, after.methods) = (Some(n), Some(0));
            if n > 0 {
                self.delete_methods.push(id);
                changed = true;
            }
        }
        if o.delete_app_passwords {
            let n = u64::from(snap.app_passwords);
            (before.app_passwords, after.app_passwords) = (Some(n), Some(0));
            if n > 0 {
                self.delete_app_passwords.push(id);
                changed = true;
            }
        }
        if o.revoke_remembered_devices {
            before.remembered_devices_not_before = Some(snap.remembered_devices_not_before);
            after.remembered_devices_not_before = Some(Some(now));
            self.revoke_devices.push(id);
            changed = true;
        }
        let status = if changed { RowStatus::Changed } else { RowStatus::Unchanged };
        (status, Change::UserSettings { before, after })
    }

    async fn apply<T: StoreTx>(self, tx: &mut T, now: time::OffsetDateTime) -> Result<(), CoreError> {
        for (state, ids) in &self.states {
            tx.set_mfa_state(ids, *state).await?;
        }
        if !self.delete_methods.is_empty() {
            tx.delete_methods(&self.delete_methods).await?;
        }
        if !self.delete_app_passwords.is_empty() {
            tx.delete_app_passwords(&self.delete_app_passwords).await?;
        }
        if !self.revoke_devices.is_empty() {
            tx.revoke_remembered_devices(&self.revoke_devices, now).await?;
        }
        Ok(())
    }
}
