//! The admin center's templates and the small values they show. Every page extends
//! `admin/layout.html` (which extends the sign-in pages' `base.html`): the same header, skip
//! link and stylesheet, plus the admin navigation.

use askama::Template;
use tessera_core::access::Role;
use tessera_core::mfa::{MethodKind, PerUserMfaState};

use super::Section;
use super::selection::ListState;

/// The frame of every admin page.
pub(crate) struct Chrome {
    pub tenant: String,
    pub csrf: String,
    pub name: String,
    pub upn: String,
    pub current: Section,
    pub may_read_logs: bool,
}

pub(crate) struct NavItem {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

impl Chrome {
    pub fn nav(&self) -> Vec<NavItem> {
        let mut items = vec![
            (Section::Mfa, "/mfa", "Multi-factor authentication"),
            (Section::Settings, "/settings/mfa", "Service settings"),
        ];
        if self.may_read_logs {
            items.push((Section::Audit, "/audit", "Audit log"));
            items.push((Section::SignIns, "/signins", "Sign-in log"));
        }
        items.push((Section::Reports, "/reports/registration", "Reports"));
        items
            .into_iter()
            .map(|(s, path, label)| NavItem {
                href: super::admin_url(&self.tenant, path),
                label,
                current: s == self.current,
            })
            .collect()
    }
}

/// The hidden fields that bring the multi-factor authentication page back to its filter and
/// page (`admin/list_fields.html`).
pub(crate) struct ListFields {
    pub status: &'static str,
    pub search: String,
    pub cursor: String,
    pub prev: Vec<String>,
}

impl From<&ListState> for ListFields {
    fn from(s: &ListState) -> Self {
        Self {
            status: s.status_str(),
            search: s.search.clone(),
            cursor: s.cursor.clone().unwrap_or_default(),
            prev: if s.cursor.is_some() { s.prev.clone() } else { Vec::new() },
        }
    }
}

pub(crate) fn state_label(s: PerUserMfaState) -> &'static str {
    match s {
        PerUserMfaState::Disabled => "Disabled",
        PerUserMfaState::Enabled => "Enabled",
        PerUserMfaState::Enforced => "Enforced",
    }
}

pub(crate) fn method_label(k: MethodKind) -> &'static str {
    match k {
        MethodKind::Totp => "Authenticator app",
        MethodKind::Webauthn => "Security key or passkey",
        MethodKind::Email => "Email",
        MethodKind::Sms => "Phone (text message)",
        MethodKind::RecoveryCode => "Recovery codes",
        MethodKind::TemporaryAccessPass => "Temporary Access Pass",
    }
}

pub(crate) fn role_label(r: Role) -> &'static str {
    match r {
        Role::GlobalAdministrator => "Global Administrator",
        Role::AuthenticationPolicyAdministrator => "Authentication Policy Administrator",
        Role::PrivilegedAuthenticationAdministrator => "Privileged Authentication Administrator",
        Role::AuthenticationAdministrator => "Authentication Administrator",
        Role::HelpdeskAdministrator => "Helpdesk Administrator",
    }
}

pub(crate) fn methods_text(methods: &[MethodKind]) -> String {
    if methods.is_empty() {
        "None".into()
    } else {
        methods.iter().map(|m| method_label(*m)).collect::<Vec<_>>().join(", ")
    }
}

/// `GET /admin`: which organisation to sign in to.
#[derive(Template)]
#[template(path = "admin/entry.html")]
pub(crate) struct EntryPage {
    pub tenant: String,
    pub value: String,
    pub error: Option<String>,
}

pub(crate) struct UserRow {
    pub id: String,
    pub name: String,
    pub upn: String,
    pub state: &'static str,
    pub state_label: &'static str,
    pub methods: String,
    pub roles: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "admin/mfa.html")]
pub(crate) struct MfaListPage {
    pub tenant: String,
    pub chrome: Chrome,
    pub list: ListFields,
    pub page: usize,
    pub next: Option<String>,
    pub rows: Vec<UserRow>,
    /// Selected users not on this page (hidden fields).
    pub others: Vec<String>,
    pub selected: usize,
    pub may_state: bool,
    pub may_manage: bool,
    pub error: Option<String>,
}

impl MfaListPage {
    pub fn selectable(&self) -> bool {
        self.may_state || self.may_manage
    }
}

/// One user's line of a confirmation or result page.
pub(crate) struct ResultRow {
    pub user: String,
    pub id: Option<String>,
    pub status: &'static str,
    pub status_class: &'static str,
    pub change: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "admin/confirm.html")]
pub(crate) struct ConfirmPage {
    pub tenant: String,
    pub chrome: Chrome,
    pub step: &'static str,
    pub heading: String,
    pub summary: String,
    pub confirm_label: &'static str,
    pub cancel_label: &'static str,
    pub rows: Vec<ResultRow>,
    pub failed: usize,
    /// Every selected user.
    pub users: Vec<String>,
    /// The selected users whose rows did not fail.
    pub ok_users: Vec<String>,
    pub list: ListFields,
}

/// One "Manage user settings" option.
pub(crate) struct SettingOption {
    pub name: &'static str,
    pub label: &'static str,
    pub hint: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "admin/manage.html")]
pub(crate) struct ManagePage {
    pub tenant: String,
    pub chrome: Chrome,
    pub count: usize,
    pub options: Vec<SettingOption>,
    pub error: Option<String>,
    pub rows: Vec<ResultRow>,
    pub failed: usize,
    pub users: Vec<String>,
    pub ok_users: Vec<String>,
    pub list: ListFields,
}

#[derive(Template)]
#[template(path = "admin/result.html")]
pub(crate) struct ResultPage {
    pub tenant: String,
    pub chrome: Chrome,
    pub heading: String,
    pub summary: String,
    pub applied: bool,
    pub rows: Vec<ResultRow>,
    pub close_href: String,
}

/// An audit record as a table row.
pub(crate) struct AuditRow {
    pub time: String,
    pub actor: String,
    pub ip: String,
    pub action: String,
    pub target: String,
    pub target_id: Option<String>,
    pub change: String,
}

impl From<&tessera_core::audit::AuditRecord> for AuditRow {
    fn from(r: &tessera_core::audit::AuditRecord) -> Self {
        Self {
            time: when(r.time),
            actor: r.actor_upn.clone(),
            ip: r.source_ip.map(|ip| ip.to_string()).unwrap_or_default(),
            action: r.action.as_str().to_owned(),
            target: r.target_upn.clone().unwrap_or_default(),
            target_id: r.target_id.map(|t| t.to_string()),
            change: super::changes::change_sentence(r.change.as_ref()),
        }
    }
}

/// A sign-in record as a table row.
pub(crate) struct SignInRow {
    pub time: String,
    pub user: String,
    pub user_id: Option<String>,
    pub result: String,
    pub reason: String,
    pub client: String,
    pub ip: String,
    pub mfa: String,
}

impl From<&tessera_core::signin::SignInRecord> for SignInRow {
    fn from(r: &tessera_core::signin::SignInRecord) -> Self {
        use tessera_core::signin::MfaRequiredBy;
        let required = match r.mfa_required_by {
            MfaRequiredBy::None => "Not required",
            MfaRequiredBy::PerUserState => "Per-user state",
        };
        Self {
            time: when(r.time),
            user: r.upn.clone(),
            user_id: r.user_id.map(|u| u.to_string()),
            result: r.result.as_str().to_owned(),
            reason: r.failure_reason.map(|f| f.as_str().to_owned()).unwrap_or_default(),
            client: r.client.as_str().to_owned(),
            ip: r.source_ip.map(|ip| ip.to_string()).unwrap_or_default(),
            mfa: match r.mfa_method {
                Some(m) => format!("{required}: {}", method_label(m)),
                None => required.to_owned(),
            },
        }
    }
}

pub(crate) use super::super::views::when;

pub(crate) struct AppPasswordRow {
    pub id: String,
    pub name: String,
    pub created: String,
    pub last_used: String,
}

pub(crate) struct DeviceLine {
    pub id: String,
    pub agent: String,
    /// The whole user agent, for the tooltip.
    pub title: String,
    pub ip: String,
    pub created: String,
    pub last_used: String,
    pub expires: String,
}

pub(crate) struct SessionLine {
    pub created: String,
    pub last_seen: String,
    pub expires: String,
    pub stage: &'static str,
    pub ip: String,
    pub agent: String,
}

#[derive(Template)]
#[template(path = "admin/user.html")]
pub(crate) struct UserPage {
    pub tenant: String,
    pub chrome: Chrome,
    pub id: String,
    pub name: String,
    pub upn: String,
    pub account_enabled: bool,
    pub roles: String,
    pub created: String,
    pub state: &'static str,
    pub state_label: &'static str,
    pub methods: Vec<super::super::views::MethodRow>,
    pub recovery_left: u32,
    pub app_passwords: Vec<AppPasswordRow>,
    pub devices_not_before: Option<String>,
    /// `None` when the role may not read sign-in data.
    pub devices: Option<Vec<DeviceLine>>,
    pub sessions: Option<Vec<SessionLine>>,
    pub history: Option<Vec<AuditRow>>,
    pub signins: Option<Vec<SignInRow>>,
    pub audit: Option<Vec<AuditRow>>,
    pub may_state: bool,
    pub may_manage: bool,
    /// Block / allow sign-in (not one's own account).
    pub may_account: bool,
    pub notice: Option<String>,
    pub audit_href: String,
    pub signins_href: String,
}

pub(crate) struct MethodOption {
    pub value: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

/// The messages of each settings field.
#[derive(Default)]
pub(crate) struct SettingsErrors {
    pub trusted_ips: Vec<String>,
    pub methods: Vec<String>,
    pub days: Vec<String>,
    pub other: Vec<String>,
}

impl SettingsErrors {
    pub fn is_empty(&self) -> bool {
        self.trusted_ips.is_empty() && self.methods.is_empty() && self.days.is_empty() && self.other.is_empty()
    }
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
pub(crate) struct SettingsPage {
    pub tenant: String,
    pub chrome: Chrome,
    pub editable: bool,
    pub allow_app_passwords: bool,
    pub trusted_ips: String,
    pub methods: Vec<MethodOption>,
    pub allow_remember: bool,
    pub days: String,
    pub errors: SettingsErrors,
    pub notice: Option<&'static str>,
}

/// Previous/next links of a log or report page.
pub(crate) struct Pager {
    pub page: usize,
    pub prev_href: Option<String>,
    pub next_href: Option<String>,
}

/// What both log pages show above their rows: the time filter and the export links.
pub(crate) struct LogFrame {
    pub since: String,
    pub until: String,
    pub since_error: Option<String>,
    pub until_error: Option<String>,
    pub csv_href: String,
    pub json_href: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
pub(crate) struct AuditPage {
    pub tenant: String,
    pub chrome: Chrome,
    pub log: LogFrame,
    pub actor: String,
    pub target: String,
    pub action: String,
    pub rows: Vec<AuditRow>,
    pub pager: Pager,
}

#[derive(Template)]
#[template(path = "admin/signins.html")]
pub(crate) struct SignInsPage {
    pub tenant: String,
    pub chrome: Chrome,
    pub log: LogFrame,
    pub user: String,
    pub result: String,
    pub rows: Vec<SignInRow>,
    pub pager: Pager,
}

/// One line of a report table.
pub(crate) struct CountRow {
    pub label: &'static str,
    pub count: u64,
    pub percent: String,
}

#[derive(Template)]
#[template(path = "admin/report.html")]
pub(crate) struct ReportPage {
    pub tenant: String,
    pub chrome: Chrome,
    pub total: u64,
    pub registered: u64,
    pub required_unregistered: u64,
    pub states: Vec<CountRow>,
    pub methods: Vec<CountRow>,
    /// Inline SVG built by `report::bar_chart` (numbers and fixed labels only).
    pub states_chart: String,
    pub methods_chart: String,
    pub unregistered: Vec<UserRow>,
    pub pager: Pager,
}
