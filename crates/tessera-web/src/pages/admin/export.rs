//! Log exports: CSV (safe to open in a spreadsheet) and JSON, as a download.

use std::borrow::Cow;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tessera_core::audit::AuditRecord;
use tessera_core::signin::SignInRecord;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::wire;

/// What a spreadsheet would read as a formula (a cell starting with `=`, `+`, `-`, `@`, a tab
/// or a carriage return) gets a leading `'`.
fn defused(s: &str) -> Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { Cow::Owned(format!("'{s}")) } else { Cow::Borrowed(s) }
}

/// A CSV file of `header` and `rows`: CRLF line ends, cells quoted only when they hold a comma,
/// a quote or a line break, formulas defused.
fn csv<const N: usize>(header: [&str; N], rows: impl IntoIterator<Item = [String; N]>) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    let written = std::iter::once(header.map(str::to_owned))
        .chain(rows)
        .try_for_each(|r| w.write_record(r.iter().map(|c| defused(c).into_owned())));
    // Into memory, writing fails only when memory runs out.
    if written.is_err() {
        return Vec::new();
    }
    w.into_inner().unwrap_or_default()
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn json_text(v: Option<&serde_json::Value>) -> String {
    v.map(serde_json::Value::to_string).unwrap_or_default()
}

fn or_empty(v: Option<impl ToString>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

pub(crate) fn audit_csv(items: &[AuditRecord]) -> Vec<u8> {
    let header = [
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
    ];
    csv(
        header,
        items.iter().map(|r| {
            let (before, after) = r.json();
            [
                rfc3339(r.time),
                r.actor_upn.clone(),
                or_empty(r.actor_id),
                or_empty(r.source_ip.as_ref()),
                r.action.as_str().to_owned(),
                or_empty(r.target_upn.as_ref()),
                or_empty(r.target_id),
                json_text(before.as_ref()),
                json_text(after.as_ref()),
                r.correlation_id.to_string(),
                r.id.to_string(),
            ]
        }),
    )
}

pub(crate) fn signins_csv(items: &[SignInRecord]) -> Vec<u8> {
    let header = [
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
    ];
    csv(
        header,
        items.iter().map(|r| {
            [
                rfc3339(r.time),
                r.upn.clone(),
                or_empty(r.user_id),
                r.result.as_str().to_owned(),
                or_empty(r.failure_reason.map(|f| f.as_str())),
                r.client.as_str().to_owned(),
                or_empty(r.source_ip.as_ref()),
                or_empty(r.user_agent.as_ref()),
                r.mfa_required_by.as_str().to_owned(),
                or_empty(r.mfa_method.map(|m| m.as_str())),
                r.id.to_string(),
            ]
        }),
    )
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

/// A log record, exported as JSON in the shape the API sends it.
pub(crate) trait Exported: Clone {
    type Wire: Serialize + From<Self>;
}

impl Exported for AuditRecord {
    type Wire = wire::AuditRecord;
}

impl Exported for SignInRecord {
    type Wire = wire::SignInRecord;
}

pub(crate) fn json<T: Exported>(items: &[T]) -> Vec<u8> {
    let items: Vec<T::Wire> = items.iter().cloned().map(T::Wire::from).collect();
    serde_json::to_vec_pretty(&items).unwrap_or_else(|_| b"[]".to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One cell as it stands in a line of the file.
    fn csv_cell(s: &str) -> String {
        let file = String::from_utf8(csv(["x", "y"], [[s.to_owned(), "z".to_owned()]])).unwrap();
        file.strip_prefix("x,y\r\n").and_then(|l| l.strip_suffix(",z\r\n")).unwrap().to_owned()
    }

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
