//! The quick steps of the multi-factor authentication page on the selected users: Enable,
//! Enforce and Disable go to a confirmation page that says what will happen to how many users
//! (the bulk operation's dry run), then to the per-user result; Manage user settings offers
//! its three options, each with what it would do, and saves. The wording and the button texts
//! are those of the per-user MFA page the seeds describe ("enable multi-factor auth",
//! "enforce multi-factor auth", "yes", "save", "close").

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use tessera_core::CoreError;
use tessera_core::change::{Change, UserSettingsSide};
use tessera_core::mfa::{BulkOp, BulkReport, BulkRow, PerUserMfaState, QuickStep, RowStatus, UserSettingsOptions};
use tessera_core::service::BulkRequestRow;

use super::super::csrf::AdminForm;
use super::super::views::page;
use super::changes::change_sentence;
use super::fields::Fields;
use super::selection::{ListState, Selection};
use super::views::{ConfirmPage, ListFields, ManagePage, ResultPage, ResultRow, SettingOption, state_label};
use super::{AdminPage, Section, admin_url, list, sentence};
use crate::pages::views::when;
use crate::{App, Backend};

pub(super) fn router<S: Backend>() -> Router<App<S>> {
    Router::new()
        .route("/admin/{tenant}/mfa/quick-step", post(quick_step))
        .route("/admin/{tenant}/mfa/apply", post(apply))
}

/// What a quick step button asks for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Step {
    State(QuickStep),
    Manage,
}

impl Step {
    fn parse(s: Option<&str>) -> Option<Self> {
        Some(match s? {
            "enable" => Self::State(QuickStep::Enable),
            "enforce" => Self::State(QuickStep::Enforce),
            "disable" => Self::State(QuickStep::Disable),
            "manage" => Self::Manage,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::State(QuickStep::Enable) => "enable",
            Self::State(QuickStep::Enforce) => "enforce",
            Self::State(QuickStep::Disable) => "disable",
            Self::Manage => "manage",
        }
    }
}

fn verb(step: QuickStep) -> &'static str {
    match step {
        QuickStep::Enable => "Enable",
        QuickStep::Enforce => "Enforce",
        QuickStep::Disable => "Disable",
    }
}

/// The seeds' button texts.
fn confirm_label(step: QuickStep) -> (&'static str, &'static str) {
    match step {
        QuickStep::Enable => ("enable multi-factor auth", "cancel"),
        QuickStep::Enforce => ("enforce multi-factor auth", "cancel"),
        QuickStep::Disable => ("yes", "no"),
    }
}

const ALL_OPTIONS: UserSettingsOptions =
    UserSettingsOptions { require_reregistration: true, delete_app_passwords: true, revoke_remembered_devices: true };

fn rows_for(selection: &Selection, op: BulkOp) -> Vec<BulkRequestRow> {
    selection.ids().iter().map(|id| BulkRequestRow { user: id.to_string(), op }).collect()
}

/// `POST /admin/{tenant}/mfa/quick-step`: from the list (or a confirmation page going on
/// without the users who failed) to the confirmation page, by a dry run. Nothing changes.
async fn quick_step<S: Backend>(State(app): State<App<S>>, AdminForm { admin, form }: AdminForm<Fields>) -> Response {
    let state = ListState::from_page_form(&form);
    let selection = Selection::from_fields(&form);
    let Some(step) = Step::parse(form.get("step")) else {
        return list::render(
            &app,
            &admin,
            state,
            &selection,
            Some("Choose a quick step.".into()),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    if selection.is_empty() {
        let error = Some("Select at least one user first.".into());
        return list::render(&app, &admin, state, &selection, error, StatusCode::BAD_REQUEST).await;
    }
    match step {
        Step::State(q) => confirm(&app, &admin, q, &selection, &state).await,
        Step::Manage => manage_page(&app, &admin, &selection, &state, UserSettingsOptions::default(), None).await,
    }
}

/// The dry run's report, also when it would be rejected.
async fn dry_run<S: Backend>(
    app: &App<S>,
    admin: &AdminPage,
    rows: Vec<BulkRequestRow>,
) -> Result<BulkReport, CoreError> {
    match app.bulk(&admin.actor, rows, true).await {
        Ok(r) => Ok(r),
        Err(CoreError::BulkRejected(r)) => Ok(*r),
        Err(e) => Err(e),
    }
}

/// The ids of the rows that did not fail.
fn ok_ids(report: &BulkReport) -> Vec<String> {
    report.results.iter().filter(|r| !r.status.is_failure()).filter_map(|r| r.id.map(|i| i.to_string())).collect()
}

async fn confirm<S: Backend>(
    app: &App<S>,
    admin: &AdminPage,
    step: QuickStep,
    selection: &Selection,
    state: &ListState,
) -> Response {
    let report = match dry_run(app, admin, rows_for(selection, BulkOp::QuickStep(step))).await {
        Ok(r) => r,
        Err(e) => return admin.refused(e),
    };
    let (confirm_label, cancel_label) = confirm_label(step);
    let p = ConfirmPage {
        tenant: admin.tenant.clone(),
        chrome: admin.chrome(Section::Mfa),
        step: Step::State(step).as_str(),
        heading: format!("{} multi-factor authentication", verb(step)),
        summary: confirm_summary(step, &report),
        confirm_label,
        cancel_label,
        rows: result_rows(&report, true),
        failed: report.summary.failed,
        users: selection.ids().iter().map(ToString::to_string).collect(),
        ok_users: ok_ids(&report),
        list: ListFields::from(state),
    };
    page(StatusCode::OK, &p)
}

/// The three options, each with what it would do to the selected users.
async fn manage_page<S: Backend>(
    app: &App<S>,
    admin: &AdminPage,
    selection: &Selection,
    state: &ListState,
    checked: UserSettingsOptions,
    error: Option<String>,
) -> Response {
    let report = match dry_run(app, admin, rows_for(selection, BulkOp::ManageUserSettings(ALL_OPTIONS))).await {
        Ok(r) => r,
        Err(e) => return admin.refused(e),
    };
    let hints = manage_hints(&report);
    let option = |name, label, hint, checked| SettingOption { name, label, hint, checked };
    let p = ManagePage {
        tenant: admin.tenant.clone(),
        chrome: admin.chrome(Section::Mfa),
        count: selection.len(),
        options: vec![
            option(
                "require_reregistration",
                "Require selected users to provide contact methods again",
                hints[0].clone(),
                checked.require_reregistration,
            ),
            option(
                "delete_app_passwords",
                "Delete all existing app passwords generated by the selected users",
                hints[1].clone(),
                checked.delete_app_passwords,
            ),
            option(
                "revoke_remembered_devices",
                "Restore multi-factor authentication on all remembered devices",
                hints[2].clone(),
                checked.revoke_remembered_devices,
            ),
        ],
        error,
        rows: result_rows(&report, true).into_iter().filter(|r| r.status_class == "failed").collect(),
        failed: report.summary.failed,
        users: selection.ids().iter().map(ToString::to_string).collect(),
        ok_users: ok_ids(&report),
        list: ListFields::from(state),
    };
    let status = if p.error.is_none() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    page(status, &p)
}

/// `POST /admin/{tenant}/mfa/apply`: the confirmation's button (or "save"): applies the step
/// to the posted users and shows the per-user result.
async fn apply<S: Backend>(State(app): State<App<S>>, AdminForm { admin, form }: AdminForm<Fields>) -> Response {
    let state = ListState::from_page_form(&form);
    let selection = Selection::posted(&form);
    let Some(step) = Step::parse(form.get("step")) else {
        return list::render(
            &app,
            &admin,
            state,
            &selection,
            Some("Choose a quick step.".into()),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    if selection.is_empty() {
        let error = Some("Select at least one user first.".into());
        return list::render(&app, &admin, state, &selection, error, StatusCode::BAD_REQUEST).await;
    }
    let op = match step {
        Step::State(q) => BulkOp::QuickStep(q),
        Step::Manage => {
            let o = UserSettingsOptions {
                require_reregistration: form.has("require_reregistration"),
                delete_app_passwords: form.has("delete_app_passwords"),
                revoke_remembered_devices: form.has("revoke_remembered_devices"),
            };
            if o.is_empty() {
                let error = Some("Choose at least one of the options, then save.".into());
                return manage_page(&app, &admin, &selection, &state, o, error).await;
            }
            BulkOp::ManageUserSettings(o)
        }
    };
    let (report, applied) = match app.bulk(&admin.actor, rows_for(&selection, op), false).await {
        Ok(r) => (r, true),
        Err(CoreError::BulkRejected(r)) => (*r, false),
        Err(e) => return admin.refused(e),
    };
    let heading = match step {
        Step::State(q) => format!("{} multi-factor authentication", verb(q)),
        Step::Manage => "Manage user settings".to_owned(),
    };
    let p = ResultPage {
        tenant: admin.tenant.clone(),
        chrome: admin.chrome(Section::Mfa),
        heading,
        summary: result_summary(&report, applied),
        applied,
        rows: result_rows(&report, false),
        close_href: {
            let q = state.filter_query();
            admin_url(&admin.tenant, &if q.is_empty() { "/mfa".to_owned() } else { format!("/mfa?{q}") })
        },
    };
    let status = if applied { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    page(status, &p)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The typed change of a row (none for a failed row).
fn change_of(r: &BulkRow) -> Option<&Change> {
    r.change.as_ref()
}

/// "Enforce multi-factor authentication for 3 users: 2 will change from enabled to enforced,
/// 1 is already enforced."
pub(super) fn confirm_summary(step: QuickStep, report: &BulkReport) -> String {
    let mut changes: BTreeMap<(PerUserMfaState, PerUserMfaState), usize> = BTreeMap::new();
    let mut already: BTreeMap<PerUserMfaState, usize> = BTreeMap::new();
    let (mut skipped, mut failed) = (0, 0);
    for r in &report.results {
        match (r.status, change_of(r)) {
            (RowStatus::Changed, Some(Change::State { from, to: Some(to), .. })) => {
                *changes.entry((*from, *to)).or_default() += 1
            }
            (RowStatus::Unchanged, Some(Change::State { from, .. })) => *already.entry(*from).or_default() += 1,
            (RowStatus::Skipped, ..) => skipped += 1,
            (s, ..) if s.is_failure() => failed += 1,
            _ => {}
        }
    }
    let mut parts: Vec<String> =
        changes.iter().map(|((b, a), n)| format!("{n} will change from {} to {}", b.as_str(), a.as_str())).collect();
    parts.extend(
        already.iter().map(|(s, n)| format!("{n} {} already {}", if *n == 1 { "is" } else { "are" }, s.as_str())),
    );
    if skipped > 0 {
        parts.push(format!(
            "{skipped} {} enforced and will stay enforced (Enable never weakens an enforced user)",
            if skipped == 1 { "is" } else { "are" }
        ));
    }
    if failed > 0 {
        parts.push(format!("{failed} can't be changed"));
    }
    let users = plural(report.summary.total, "user", "users");
    format!("{} multi-factor authentication for {users}: {}.", verb(step), parts.join(", "))
}

/// What each "Manage user settings" option would do, from a dry run with all three.
fn manage_hints(report: &BulkReport) -> [String; 3] {
    let ok: Vec<&BulkRow> = report.results.iter().filter(|r| !r.status.is_failure()).collect();
    let total = ok.len();
    let before: Vec<UserSettingsSide> = ok
        .iter()
        .filter_map(|r| match change_of(r) {
            Some(Change::UserSettings { before, .. }) => Some(*before),
            _ => None,
        })
        .collect();
    let count = |field: fn(&UserSettingsSide) -> Option<u64>| -> (usize, u64) {
        let ns: Vec<u64> = before.iter().filter_map(field).filter(|n| *n > 0).collect();
        (ns.len(), ns.iter().sum())
    };
    let of = |n: usize| {
        if total == 1 { format!("{n} of 1 selected user") } else { format!("{n} of {total} selected users") }
    };
    let (users, methods) = count(|s| s.methods);
    let reregister = format!(
        "{} {} registered sign-in methods ({}); they are removed and the user registers again at the next sign-in.",
        of(users),
        if users == 1 { "has" } else { "have" },
        plural(methods as usize, "method", "methods"),
    );
    let (users, passwords) = count(|s| s.app_passwords);
    let app_passwords = format!(
        "{} {} app passwords ({}).",
        of(users),
        if users == 1 { "has" } else { "have" },
        plural(passwords as usize, "app password", "app passwords"),
    );
    let devices = format!(
        "Devices remembered by {} ask for multi-factor authentication again.",
        if total == 1 { "the selected user".to_owned() } else { format!("all {total} selected users") }
    );
    [reregister, app_passwords, devices]
}

pub(super) fn result_summary(report: &BulkReport, applied: bool) -> String {
    let s = &report.summary;
    if !applied {
        return format!(
            "Nothing was changed: {} of {} can't be changed (see the reasons below).",
            s.failed,
            plural(s.total, "user", "users")
        );
    }
    let skipped = report.results.iter().filter(|r| r.status == RowStatus::Skipped).count();
    let mut parts = vec![format!("{} changed", s.changed)];
    if s.unchanged > skipped {
        parts.push(format!("{} unchanged", s.unchanged - skipped));
    }
    if skipped > 0 {
        parts.push(format!("{skipped} skipped"));
    }
    format!("Done for {}: {}.", plural(s.total, "user", "users"), parts.join(", "))
}

/// The per-user lines; `planned` words them as what will happen.
fn result_rows(report: &BulkReport, planned: bool) -> Vec<ResultRow> {
    report
        .results
        .iter()
        .map(|r| {
            let (status, class) = match r.status {
                RowStatus::Changed if planned => ("Will change", "changed"),
                RowStatus::Changed => ("Changed", "changed"),
                RowStatus::Unchanged => ("Unchanged", "unchanged"),
                RowStatus::Skipped => ("Skipped", "skipped"),
                RowStatus::Duplicate => ("Listed twice", "unchanged"),
                RowStatus::NotFound | RowStatus::Forbidden | RowStatus::Invalid => ("Failed", "failed"),
            };
            let reason = match (&r.error, r.status) {
                (Some(e), _) => sentence(&e.message),
                (None, RowStatus::Skipped) => "Enable never weakens an enforced user.".to_owned(),
                (None, RowStatus::Unchanged) => "Already so.".to_owned(),
                _ => String::new(),
            };
            ResultRow {
                user: r.upn.clone().unwrap_or_else(|| r.user.clone()),
                id: r.id.map(|i| i.to_string()),
                status,
                status_class: class,
                change: describe_change(r.change.as_ref()),
                reason,
            }
        })
        .collect()
}

/// "Disabled → Enforced", or "app passwords 1 → 0, methods 2 → 0".
pub(super) fn describe_change(change: Option<&Change>) -> String {
    match change {
        Some(Change::State { from, to: Some(to), .. }) => format!("{} → {}", state_label(*from), state_label(*to)),
        Some(Change::State { from, to: None, .. }) => state_label(*from).to_owned(),
        Some(Change::UserSettings { before, after }) => {
            let time = |t: Option<Option<time::OffsetDateTime>>| t.flatten().map_or_else(|| "none".to_owned(), when);
            let count = |n: Option<u64>| n.map_or_else(|| "none".to_owned(), |n| n.to_string());
            let mut parts = Vec::new();
            if before.app_passwords.is_some() {
                parts.push(format!("app passwords {} → {}", count(before.app_passwords), count(after.app_passwords)));
            }
            if before.methods.is_some() {
                parts.push(format!("methods {} → {}", count(before.methods), count(after.methods)));
            }
            if before.remembered_devices_not_before.is_some() {
                parts.push(format!(
                    "remembered devices valid from {} → {}",
                    time(before.remembered_devices_not_before),
                    time(after.remembered_devices_not_before)
                ));
            }
            parts.join(", ")
        }
        other => change_sentence(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PerUserMfaState::{Disabled, Enabled, Enforced};

    fn row(status: RowStatus, from: PerUserMfaState, to: Option<PerUserMfaState>) -> BulkRow {
        BulkRow {
            user: "u".into(),
            id: None,
            upn: Some("u@x.y".into()),
            status,
            change: Some(Change::State { from, to, reason: None }),
            error: None,
        }
    }

    #[test]
    fn the_confirmation_says_what_happens_to_how_many() {
        let r = BulkReport::new(
            true,
            vec![
                row(RowStatus::Changed, Enabled, Some(Enforced)),
                row(RowStatus::Changed, Enabled, Some(Enforced)),
                row(RowStatus::Unchanged, Enforced, Some(Enforced)),
            ],
        );
        assert_eq!(
            confirm_summary(QuickStep::Enforce, &r),
            "Enforce multi-factor authentication for 3 users: 2 will change from enabled to enforced, 1 is already enforced."
        );
        let r = BulkReport::new(
            true,
            vec![
                row(RowStatus::Changed, Disabled, Some(Enabled)),
                row(RowStatus::Skipped, Enforced, None),
                row(RowStatus::Skipped, Enforced, None),
            ],
        );
        assert_eq!(
            confirm_summary(QuickStep::Enable, &r),
            "Enable multi-factor authentication for 3 users: 1 will change from disabled to enabled, \
             2 are enforced and will stay enforced (Enable never weakens an enforced user)."
        );
    }

    #[test]
    fn changes_read_as_before_and_after() {
        let state = |from, to| Change::State { from, to, reason: None };
        assert_eq!(describe_change(Some(&state(Disabled, Some(Enforced)))), "Disabled → Enforced");
        let side = |methods, app_passwords| UserSettingsSide {
            methods: Some(methods),
            app_passwords: Some(app_passwords),
            remembered_devices_not_before: None,
        };
        assert_eq!(
            describe_change(Some(&Change::UserSettings { before: side(2, 1), after: side(0, 0) })),
            "app passwords 1 → 0, methods 2 → 0"
        );
        assert_eq!(describe_change(Some(&state(Enforced, None))), "Enforced");
        assert_eq!(describe_change(None), "");
    }
}
