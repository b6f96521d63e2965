//! The registration report: users per MFA state and per registered method (as tables and as
//! server-drawn SVG bar charts), and the users who are enabled or enforced but have
//! registered nothing, paged.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use tessera_core::mfa::{MethodKind, PerUserMfaState};

use super::super::views::page;
use super::fields::Fields;
use super::list::PAGE_SIZE;
use super::logs::Paging;
use super::selection::Selection;
use super::views::{CountRow, ReportPage, method_label, state_label};
use super::{AdminPage, Section, admin_url};
use crate::{App, Backend};

pub(super) fn router<S: Backend>() -> Router<App<S>> {
    Router::new().route("/admin/{tenant}/reports/registration", get(report_page))
}

/// `GET /admin/{tenant}/reports/registration[?cursor=&prev=]`.
async fn report_page<S: Backend>(State(app): State<App<S>>, admin: AdminPage, Query(q): Query<Fields>) -> Response {
    let paging = Paging::from(&q);
    let r = match app.registration_report(&admin.actor, Some(PAGE_SIZE), paging.cursor.as_deref()).await {
        Ok(r) => r,
        Err(e) => return admin.refused(e),
    };
    let c = &r.counts;
    let percent = |n: u64| format!("{}%", (n * 1000).checked_div(c.total).map_or(0, |permille| (permille + 5) / 10));
    let states: Vec<CountRow> = PerUserMfaState::ALL
        .iter()
        .map(|s| CountRow { label: state_label(*s), count: c.state(*s), percent: percent(c.state(*s)) })
        .collect();
    let methods: Vec<CountRow> = MethodKind::ALL
        .iter()
        .map(|m| CountRow { label: method_label(*m), count: c.method(*m), percent: percent(c.method(*m)) })
        .collect();
    let base = admin_url(&admin.tenant, "/reports/registration");
    let p = ReportPage {
        tenant: admin.tenant.clone(),
        chrome: admin.chrome(Section::Reports),
        total: c.total,
        registered: c.registered,
        required_unregistered: c.required_unregistered,
        states_chart: bar_chart("chart-states", "Users by MFA status", &states),
        methods_chart: bar_chart("chart-methods", "Users by registered method", &methods),
        states,
        methods,
        pager: paging.pager(&base, "", r.unregistered.next.as_deref()),
        unregistered: r.unregistered.items.into_iter().map(|u| super::list::row(u, &Selection::default())).collect(),
    };
    page(StatusCode::OK, &p)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A horizontal bar chart as inline SVG: one labelled bar per row, scaled to the largest
/// count, with the count after the bar. Titled for screen readers (the table below has the
/// same numbers).
pub(super) fn bar_chart(id: &str, title: &str, rows: &[CountRow]) -> String {
    const WIDTH: u64 = 640;
    const LABEL: u64 = 210;
    const BAR_MAX: u64 = 340;
    const ROW: u64 = 34;
    const BAR: u64 = 22;
    let max = rows.iter().map(|r| r.count).max().unwrap_or(0).max(1);
    let height = ROW * rows.len() as u64 + 8;
    let desc: Vec<String> = rows.iter().map(|r| format!("{}: {}", r.label, r.count)).collect();
    let mut svg = format!(
        r#"<svg id="{id}" role="img" aria-labelledby="{id}-title {id}-desc" viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(title),
        escape(&desc.join("; "))
    );
    for (i, r) in rows.iter().enumerate() {
        let y = 4 + ROW * i as u64;
        let w = if r.count == 0 { 0 } else { (r.count * BAR_MAX / max).max(2) };
        let text_y = y + BAR / 2 + 5;
        svg.push_str(&format!(
            r##"<g class="bar"><text x="{x}" y="{text_y}" text-anchor="end" font-size="14" fill="#374151">{label}</text><rect x="{LABEL}" y="{y}" width="{w}" height="{BAR}" rx="3" fill="#1d4ed8"></rect><text x="{vx}" y="{text_y}" font-size="14" fill="#111827">{count}</text></g>"##,
            x = LABEL - 10,
            label = escape(r.label),
            vx = LABEL + w + 8,
            count = r.count,
        ));
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_are_labelled() {
        let rows = [
            CountRow { label: "Disabled", count: 10, percent: String::new() },
            CountRow { label: "Enabled", count: 5, percent: String::new() },
            CountRow { label: "Enforced", count: 0, percent: String::new() },
        ];
        let svg = bar_chart("c", "Users <by> state", &rows);
        assert!(svg.starts_with(r#"<svg id="c" role="img" aria-labelledby="c-title c-desc""#));
        assert!(svg.contains("<title id=\"c-title\">Users &lt;by&gt; state</title>"));
        assert!(svg.contains("Disabled: 10; Enabled: 5; Enforced: 0"));
        assert!(svg.contains(r#"width="340""#) && svg.contains(r#"width="170""#) && svg.contains(r#"width="0""#));
        assert_eq!(svg.matches("<rect").count(), 3);
    }
}
