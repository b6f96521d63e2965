//! The audit log and the sign-in log: filters (time, actor, target, action / user, result),
//! keyset paging with a stack of previous cursors in the links, and exports of the whole
//! filtered log as CSV or JSON (`?format=csv|json`).

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use tessera_core::CoreError;
use tessera_core::access::Actor;
use tessera_core::audit::{AuditRecord, Page};
use tessera_core::service::{Export, LogFilter};
use tessera_core::signin::SignInRecord;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use super::super::views::page;
use super::export;
use super::fields::{Fields, cursor_ok, query_string};
use super::views::{AuditPage, AuditRow, Chrome, LogFrame, Pager, SignInRow, SignInsPage};
use super::{AdminPage, Section, admin_url};
use crate::{App, Backend};

const LOG_PAGE: u32 = 50;

pub(super) fn router<S: Backend>() -> Router<App<S>> {
    Router::new()
        .route("/admin/{tenant}/audit", get(log_page::<S, Audit>))
        .route("/admin/{tenant}/signins", get(log_page::<S, SignIns>))
}

/// A time as a `datetime-local` field sends it (`2026-01-31T12:00`, seconds optional), a
/// date, or RFC 3339; without an offset it is UTC.
pub(super) fn parse_time(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    let with_seconds = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let minutes = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    PrimitiveDateTime::parse(s, with_seconds)
        .or_else(|_| PrimitiveDateTime::parse(s, minutes))
        .map(PrimitiveDateTime::assume_utc)
        .ok()
        .or_else(|| Date::parse(s, format_description!("[year]-[month]-[day]")).ok().map(|d| d.midnight().assume_utc()))
}

/// How a parsed time goes back into a `datetime-local` field.
fn local_value(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]")).unwrap_or_default()
}

/// The two time fields: the value to show again and the parsed time, or an error.
struct TimeField {
    value: String,
    time: Option<OffsetDateTime>,
    error: Option<String>,
}

fn time_field(v: Option<&str>) -> TimeField {
    match v {
        None => TimeField { value: String::new(), time: None, error: None },
        Some(s) => match parse_time(s) {
            Some(t) => TimeField { value: local_value(t), time: Some(t), error: None },
            None => TimeField {
                value: s.chars().take(64).collect(),
                time: None,
                error: Some("Enter a date and time like 2026-01-31T12:00 (UTC).".into()),
            },
        },
    }
}

/// The cursor of the page shown and the stack of the pages before (see `selection.rs`), in
/// the links of a page.
pub(super) struct Paging {
    pub cursor: Option<String>,
    prev: Vec<String>,
}

impl Paging {
    pub(super) fn from(q: &Fields) -> Self {
        let cursor = q.get("cursor").filter(|c| cursor_ok(c)).map(str::to_owned);
        let mut prev: Vec<String> = q.all("prev").filter(|c| cursor_ok(c)).take(10_000).map(str::to_owned).collect();
        if cursor.is_some() && prev.is_empty() {
            prev.push(String::new());
        }
        if cursor.is_none() {
            prev.clear();
        }
        Self { cursor, prev }
    }

    /// The links, given the filter's query string and the page's `next` cursor.
    pub(super) fn pager(&self, base: &str, filter: &str, next: Option<&str>) -> Pager {
        let href = |cursor: Option<&str>, prev: &[String]| {
            let mut pairs: Vec<(&str, &str, bool)> = Vec::new();
            if let Some(c) = cursor {
                pairs.push(("cursor", c, false));
                pairs.extend(prev.iter().map(|p| ("prev", p.as_str(), true)));
            }
            let paging = query_string(pairs);
            let q = [filter, paging.as_str()].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join("&");
            if q.is_empty() { base.to_owned() } else { format!("{base}?{q}") }
        };
        let prev_href = self.cursor.as_ref().map(|_| {
            let (last, rest) = self.prev.split_last().map_or((None, &[][..]), |(l, r)| (Some(l), r));
            match last.filter(|l| !l.is_empty()) {
                Some(c) => href(Some(c), rest),
                None => href(None, &[]),
            }
        });
        let next_href = next.map(|n| {
            let mut stack = self.prev.clone();
            stack.push(self.cursor.clone().unwrap_or_default());
            href(Some(n), &stack)
        });
        Pager { page: if self.cursor.is_some() { self.prev.len() + 1 } else { 1 }, prev_href, next_href }
    }
}

/// The link of an export of the filtered log.
fn export_href(base: &str, filter: &str, format: &str) -> String {
    if filter.is_empty() { format!("{base}?format={format}") } else { format!("{base}?{filter}&format={format}") }
}

fn text(q: &Fields, name: &str) -> String {
    q.get(name).unwrap_or_default().chars().take(254).collect()
}

/// Which part of the service's [`LogFilter`] a text filter of a page sets.
#[derive(Clone, Copy)]
enum Sets {
    Actor,
    Target,
    Action,
}

/// What the audit log and the sign-in log do differently; [`log_page`] does the rest.
trait Log {
    type Record: export::Exported;
    /// The page's path under the tenant's admin center, and the name of its exports.
    const PATH: &'static str;
    const EXPORT_NAME: &'static str;
    const SECTION: Section;
    /// The page's text filters (after the times): the query field, and what it sets.
    const TEXT: &'static [(&'static str, Sets)];

    fn read<S: Backend>(
        app: &App<S>,
        actor: &Actor,
        f: LogFilter,
    ) -> impl Future<Output = CoreResult<Page<Self::Record>>> + Send;
    fn export<S: Backend>(
        app: &App<S>,
        actor: &Actor,
        f: LogFilter,
    ) -> impl Future<Output = CoreResult<Export<Self::Record>>> + Send;
    fn csv(items: &[Self::Record]) -> Vec<u8>;
    /// The page, given what both logs show and the values of [`Log::TEXT`], in order.
    fn render(frame: LogPageFrame, text: Vec<String>, items: &[Self::Record]) -> Response;
}

type CoreResult<T> = Result<T, CoreError>;

/// What [`Log::render`] gets besides the rows.
struct LogPageFrame {
    status: StatusCode,
    tenant: String,
    chrome: Chrome,
    pager: Pager,
    log: LogFrame,
}

struct Audit;

impl Log for Audit {
    type Record = AuditRecord;
    const PATH: &'static str = "/audit";
    const EXPORT_NAME: &'static str = "audit";
    const SECTION: Section = Section::Audit;
    const TEXT: &'static [(&'static str, Sets)] =
        &[("actor", Sets::Actor), ("target", Sets::Target), ("action", Sets::Action)];

    fn read<S: Backend>(
        app: &App<S>,
        actor: &Actor,
        f: LogFilter,
    ) -> impl Future<Output = CoreResult<Page<AuditRecord>>> + Send {
        app.audit_log(actor, f)
    }
    fn export<S: Backend>(
        app: &App<S>,
        actor: &Actor,
        f: LogFilter,
    ) -> impl Future<Output = CoreResult<Export<AuditRecord>>> + Send {
        app.export_audit(actor, f)
    }
    fn csv(items: &[AuditRecord]) -> Vec<u8> {
        export::audit_csv(items)
    }
    fn render(frame: LogPageFrame, text: Vec<String>, items: &[AuditRecord]) -> Response {
        let [actor, target, action] = text.try_into().unwrap_or_default();
        let rows = items.iter().map(AuditRow::from).collect();
        let LogPageFrame { status, tenant, chrome, pager, log } = frame;
        page(status, &AuditPage { tenant, chrome, pager, log, actor, target, action, rows })
    }
}

struct SignIns;

impl Log for SignIns {
    type Record = SignInRecord;
    const PATH: &'static str = "/signins";
    const EXPORT_NAME: &'static str = "signins";
    const SECTION: Section = Section::SignIns;
    const TEXT: &'static [(&'static str, Sets)] = &[("user", Sets::Actor), ("result", Sets::Action)];

    fn read<S: Backend>(
        app: &App<S>,
        actor: &Actor,
        f: LogFilter,
    ) -> impl Future<Output = CoreResult<Page<SignInRecord>>> + Send {
        app.signin_log(actor, f)
    }
    fn export<S: Backend>(
        app: &App<S>,
        actor: &Actor,
        f: LogFilter,
    ) -> impl Future<Output = CoreResult<Export<SignInRecord>>> + Send {
        app.export_signins(actor, f)
    }
    fn csv(items: &[SignInRecord]) -> Vec<u8> {
        export::signins_csv(items)
    }
    fn render(frame: LogPageFrame, text: Vec<String>, items: &[SignInRecord]) -> Response {
        let [user, result] = text.try_into().unwrap_or_default();
        let rows = items.iter().map(SignInRow::from).collect();
        let LogPageFrame { status, tenant, chrome, pager, log } = frame;
        page(status, &SignInsPage { tenant, chrome, pager, log, user, result, rows })
    }
}

/// `GET /admin/{tenant}/audit?since=&until=&actor=&target=&action=&cursor=&prev=[&format=csv|json]`
/// and `GET /admin/{tenant}/signins?since=&until=&user=&result=&cursor=&prev=[&format=csv|json]`.
async fn log_page<S: Backend, L: Log>(
    State(app): State<App<S>>,
    admin: AdminPage,
    Query(q): Query<Fields>,
) -> Response {
    let (since, until) = (time_field(q.get("since")), time_field(q.get("until")));
    let text: Vec<String> = L::TEXT.iter().map(|(name, _)| text(&q, name)).collect();
    let times = [("since", since.value.as_str(), false), ("until", until.value.as_str(), false)];
    let filter_q =
        query_string(times.into_iter().chain(L::TEXT.iter().zip(&text).map(|((n, _), v)| (*n, v.as_str(), false))));
    let paging = Paging::from(&q);
    let bad_input = since.error.is_some() || until.error.is_some();
    let mut filter = LogFilter {
        since: since.time,
        until: until.time,
        limit: Some(LOG_PAGE),
        cursor: paging.cursor.clone(),
        ..Default::default()
    };
    for ((_, sets), v) in L::TEXT.iter().zip(&text) {
        let slot = match sets {
            Sets::Actor => &mut filter.actor,
            Sets::Target => &mut filter.target,
            Sets::Action => &mut filter.action,
        };
        *slot = Some(v.clone());
    }
    let base = admin_url(&admin.tenant, L::PATH);
    if let Some(format) = q.get("format").filter(|_| !bad_input) {
        let csv = format == "csv";
        return match L::export(&app, &admin.actor, filter).await {
            Ok(e) => {
                let body = if csv { L::csv(&e.items) } else { export::json(&e.items) };
                export::download(&format!("tessera-{}-{}", L::EXPORT_NAME, admin.tenant), csv, body, e.truncated)
            }
            Err(e) => admin.refused(e),
        };
    }
    // With a bad time the service is still asked, with no filter, so a role without the logs
    // is refused.
    let filter = if bad_input { LogFilter { limit: Some(1), ..Default::default() } } else { filter };
    let (items, next) = match L::read(&app, &admin.actor, filter).await {
        Ok(_) if bad_input => (Vec::new(), None),
        Ok(p) => (p.items, p.next),
        Err(e) => return admin.refused(e),
    };
    let exp = |f: &str| export_href(&base, &filter_q, f);
    let log = LogFrame {
        csv_href: exp("csv"),
        json_href: exp("json"),
        since: since.value,
        until: until.value,
        since_error: since.error,
        until_error: until.error,
    };
    let frame = LogPageFrame {
        status: if bad_input { StatusCode::BAD_REQUEST } else { StatusCode::OK },
        tenant: admin.tenant.clone(),
        chrome: admin.chrome(L::SECTION),
        pager: paging.pager(&base, &filter_q, next.as_deref()),
        log,
    };
    L::render(frame, text, &items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_from_forms_and_links() {
        let t = parse_time("2026-01-31T12:30").unwrap();
        assert_eq!(t.format(&Rfc3339).unwrap(), "2026-01-31T12:30:00Z");
        assert_eq!(parse_time("2026-01-31T12:30:15").unwrap().second(), 15);
        assert_eq!(parse_time("2026-01-31T12:30:00+01:00").unwrap().to_offset(time::UtcOffset::UTC).hour(), 11);
        assert_eq!(parse_time("2026-01-31").unwrap().hour(), 0);
        assert!(parse_time("yesterday").is_none());
        assert_eq!(local_value(t), "2026-01-31T12:30:00");
    }

    #[test]
    fn pager_links_carry_the_stack() {
        let p = Paging::from(&Fields::of(&[]));
        let pager = p.pager("/admin/c/audit", "actor=a", Some("Q1"));
        assert_eq!((pager.page, pager.prev_href), (1, None));
        assert_eq!(pager.next_href.as_deref(), Some("/admin/c/audit?actor=a&cursor=Q1&prev="));
        let p = Paging::from(&Fields::of(&[("cursor", "Q2"), ("prev", ""), ("prev", "Q1")]));
        let pager = p.pager("/admin/c/audit", "", Some("Q3"));
        assert_eq!(pager.page, 3);
        assert_eq!(pager.prev_href.as_deref(), Some("/admin/c/audit?cursor=Q1&prev="));
        assert_eq!(pager.next_href.as_deref(), Some("/admin/c/audit?cursor=Q3&prev=&prev=Q1&prev=Q2"));
        let p = Paging::from(&Fields::of(&[("cursor", "Q1"), ("prev", "")]));
        assert_eq!(p.pager("/x", "", None).prev_href.as_deref(), Some("/x"));
    }
}
