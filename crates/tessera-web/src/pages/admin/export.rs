//! Log exports: CSV (safe to open in a spreadsheet) and JSON, as a download.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tessera_core::audit::AuditRecord;
use tessera_core::signin::SignInRecord;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// One CSV cell. A cell that a spreadsheet would read as a formula (starting with `=`, `+`,
/// `-`, `@`, a tab or a carriage return) gets a leading `'`; cells with a comma, a quote or a
/// line break are quoted.
pub(crate) fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_owned() };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

fn csv_line(out: &mut String, cells: &[&str]) {
    let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
    out.push_str(&line.join(","));
    out.push_str("\r\n");
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn json_text(v: Option<&serde_json::Value>) -> String {
    v.map(serde_json::Value::to_string).unwrap_or_default()
}

pub(crate) fn audit_csv(items: &[AuditRecord]) -> String {
    let mut out = String::new();
    csv_line(
        &mut out,
        &[
            "time",
            "actor",
            "actorId",
            "sourceIp",
            "action",
            "target",
            "targetId",
            "before",
            "after",
            "correlationId",
            "id",
        ],
    );
    for r in items {
        let (actor_id, target_id) = (
            r.actor_id.map(|i| i.to_string()).unwrap_or_default(),
            r.target_id.map(|i| i.to_string()).unwrap_or_default(),
        );
        csv_line(
            &mut out,
            &[
                &rfc3339(r.time),
                &r.actor_upn,
                &actor_id,
                r.source_ip.as_deref().unwrap_or_default(),
                r.action.as_str(),
                r.target_upn.as_deref().unwrap_or_default(),
                &target_id,
                &json_text(r.before.as_ref()),
                &json_text(r.after.as_ref()),
                &r.correlation_id.to_string(),
                &r.id.to_string(),
            ],
        );
    }
    out
}

pub(crate) fn signins_csv(items: &[SignInRecord]) -> String {
    let mut out = String::new();
    csv_line(
        &mut out,
        &[
            "time",
            "user",
            "userId",
            "result",
            "failureReason",
            "client",
            "sourceIp",
            "userAgent",
            "mfaRequiredBy",
            "mfaMethod",
            "id",
        ],
    );
    for r in items {
        csv_line(
            &mut out,
            &[
                &rfc3339(r.time),
                &r.upn,
                &r.user_id.map(|i| i.to_string()).unwrap_or_default(),
                r.result.as_str(),
                r.failure_reason.map(|r| r.as_str()).unwrap_or_default(),
                r.client.as_str(),
                r.source_ip.as_deref().unwrap_or_default(),
                r.user_agent.as_deref().unwrap_or_default(),
                r.mfa_required_by.as_str(),
                r.mfa_method.map(|m| m.as_str()).unwrap_or_default(),
                &r.id.to_string(),
            ],
        );
    }
    out
}

/// A download named `name` (`.csv` or `.json` added).
pub(crate) fn download(name: &str, csv: bool, body: Vec<u8>, truncated: bool) -> Response {
    let (ext, mime) = if csv { ("csv", "text/csv; charset=utf-8") } else { ("json", "application/json") };
    let disposition = format!("attachment; filename=\"{name}.{ext}\"");
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    if let Ok(v) = HeaderValue::try_from(disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if truncated {
        h.insert("x-tessera-export-truncated", HeaderValue::from_static("true"));
    }
    resp
}

pub(crate) fn json<T: Serialize>(items: &[T]) -> Vec<u8> {
    serde_json::to_vec_pretty(items).unwrap_or_else(|_| b"[]".to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_quotes_escaped() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-2"), "'-2");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("\tx"), "'\tx");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(csv_cell("alice@contoso.com"), "alice@contoso.com");
        assert_eq!(csv_cell(""), "");
    }
}
