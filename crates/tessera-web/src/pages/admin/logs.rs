//! The audit log and the sign-in log: filters (time, actor, target, action / user, result),
//! keyset paging with a stack of previous cursors in the links, and exports of the whole
//! filtered log as CSV or JSON (`?format=csv|json`).

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use tessera_core::service::LogFilter;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use super::super::views::page;
use super::export;
use super::fields::{Fields, query_string};
use super::views::{AuditPage, AuditRow, Pager, SignInRow, SignInsPage};
use super::{AdminPage, Section, admin_url};
use crate::App;

const LOG_PAGE: u32 = 50;

pub(super) fn router() -> Router<App> {
    Router::new().route("/admin/{tenant}/audit", get(audit_page)).route("/admin/{tenant}/signins", get(signins_page))
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

/// A cursor is base64url; anything else is dropped.
fn cursor_ok(c: &str) -> bool {
    c.len() <= 200 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
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

/// `GET /admin/{tenant}/audit?since=&until=&actor=&target=&action=&cursor=&prev=[&format=csv|json]`.
async fn audit_page(State(app): State<App>, admin: AdminPage, Query(q): Query<Fields>) -> Response {
    let (since, until) = (time_field(q.get("since")), time_field(q.get("until")));
    let (actor, target, action) = (text(&q, "actor"), text(&q, "target"), text(&q, "action"));
    let filter_q = query_string([
        ("since", since.value.as_str(), false),
        ("until", until.value.as_str(), false),
        ("actor", actor.as_str(), false),
        ("target", target.as_str(), false),
        ("action", action.as_str(), false),
    ]);
    let paging = Paging::from(&q);
    let bad_input = since.error.is_some() || until.error.is_some();
    let filter = LogFilter {
        since: since.time,
        until: until.time,
        actor: Some(actor.clone()),
        target: Some(target.clone()),
        action: Some(action.clone()),
        limit: Some(LOG_PAGE),
        cursor: paging.cursor.clone(),
    };
    let base = admin_url(&admin.tenant, "/audit");
    if let Some(format) = q.get("format").filter(|_| !bad_input) {
        let csv = format == "csv";
        return match app.export_audit(&admin.actor, filter).await {
            Ok(e) => {
                let body = if csv { export::audit_csv(&e.items) } else { export::json(&e.items) };
                export::download(&format!("tessera-audit-{}", admin.tenant), csv, body, e.truncated)
            }
            Err(e) => admin.refused(e),
        };
    }
    let (rows, next) = if bad_input {
        // The service is still asked, with no filter, so a role without the logs is refused.
        match app.audit_log(&admin.actor, LogFilter { limit: Some(1), ..Default::default() }).await {
            Ok(_) => (Vec::new(), None),
            Err(e) => return admin.refused(e),
        }
    } else {
        match app.audit_log(&admin.actor, filter).await {
            Ok(p) => (p.items.iter().map(AuditRow::from).collect(), p.next),
            Err(e) => return admin.refused(e),
        }
    };
    let exp = |f: &str| export_href(&base, &filter_q, f);
    let p = AuditPage {
        tenant: admin.tenant.clone(),
        chrome: admin.chrome(Section::Audit),
        pager: paging.pager(&base, &filter_q, next.as_deref()),
        csv_href: exp("csv"),
        json_href: exp("json"),
        since: since.value,
        until: until.value,
        since_error: since.error,
        until_error: until.error,
        actor,
        target,
        action,
        rows,
    };
    page(if bad_input { StatusCode::BAD_REQUEST } else { StatusCode::OK }, &p)
}

/// `GET /admin/{tenant}/signins?since=&until=&user=&result=&cursor=&prev=[&format=csv|json]`.
async fn signins_page(State(app): State<App>, admin: AdminPage, Query(q): Query<Fields>) -> Response {
    let (since, until) = (time_field(q.get("since")), time_field(q.get("until")));
    let (user, result) = (text(&q, "user"), text(&q, "result"));
    let filter_q = query_string([
        ("since", since.value.as_str(), false),
        ("until", until.value.as_str(), false),
        ("user", user.as_str(), false),
        ("result", result.as_str(), false),
    ]);
    let paging = Paging::from(&q);
    let bad_input = since.error.is_some() || until.error.is_some();
    let filter = LogFilter {
        since: since.time,
        until: until.time,
        actor: Some(user.clone()),
        target: None,
        action: Some(result.clone()),
        limit: Some(LOG_PAGE),
        cursor: paging.cursor.clone(),
    };
    let base = admin_url(&admin.tenant, "/signins");
    if let Some(format) = q.get("format").filter(|_| !bad_input) {
        let csv = format == "csv";
        return match app.export_signins(&admin.actor, filter).await {
            Ok(e) => {
                let body = if csv { export::signins_csv(&e.items) } else { export::json(&e.items) };
                export::download(&format!("tessera-signins-{}", admin.tenant), csv, body, e.truncated)
            }
            Err(e) => admin.refused(e),
        };
    }
    let (rows, next) = if bad_input {
        match app.signin_log(&admin.actor, LogFilter { limit: Some(1), ..Default::default() }).await {
            Ok(_) => (Vec::new(), None),
            Err(e) => return admin.refused(e),
        }
    } else {
        match app.signin_log(&admin.actor, filter).await {
            Ok(p) => (p.items.iter().map(SignInRow::from).collect(), p.next),
            Err(e) => return admin.refused(e),
        }
    };
    let exp = |f: &str| export_href(&base, &filter_q, f);
    let p = SignInsPage {
        tenant: admin.tenant.clone(),
        chrome: admin.chrome(Section::SignIns),
        pager: paging.pager(&base, &filter_q, next.as_deref()),
        csv_href: exp("csv"),
        json_href: exp("json"),
        since: since.value,
        until: until.value,
        since_error: since.error,
        until_error: until.error,
        user,
        result,
        rows,
    };
    page(if bad_input { StatusCode::BAD_REQUEST } else { StatusCode::OK }, &p)
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
