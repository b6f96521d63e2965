//! Bulk requests (`POST /mfa/bulk`, `POST /users/import`): one request, one transaction,
//! and the per-row report.

use std::collections::HashMap;

use serde::Serialize;
use tessera_web::wire::{BulkReport, BulkRow};

use super::client::Api;
use super::error::{CliError, Failure};
use super::output::{self, OutputFormat, Table};

fn shown_user(row: &BulkRow) -> &str {
    row.upn.as_deref().unwrap_or(&row.user)
}

fn error_text(row: &BulkRow) -> String {
    match &row.error {
        Some(e) if !e.message.is_empty() => e.message.clone(),
        Some(e) if !e.code.is_empty() => e.code.clone(),
        _ => String::new(),
    }
}

/// Failed rows: the summary's count, or the rows that say so if more.
fn failed(report: &BulkReport) -> u64 {
    let counted = report.results.iter().filter(|r| r.is_failure()).count();
    report.summary.failed.max(u64::try_from(counted).unwrap_or(u64::MAX))
}

fn total(report: &BulkReport) -> u64 {
    let counted = u64::try_from(report.results.len()).unwrap_or(u64::MAX);
    report.summary.total.max(counted)
}

/// A bulk request ready to send: where, what, and the CSV line of each row (if any).
pub struct BulkRequest<'a, B: Serialize> {
    pub path: &'a [&'a str],
    pub body: &'a B,
    pub rows: usize,
    pub dry_run: bool,
    /// CSV line numbers, in the order of the rows sent.
    pub lines: Option<Vec<u64>>,
    /// The rows as sent (`user` of each result), to find lines when the order differs.
    pub sent: Vec<String>,
    /// Whether the report has a `BEFORE → AFTER` column (not for imports: `after` is the
    /// whole new user).
    pub show_change: bool,
}

/// Sends a bulk request (one request, however many rows), prints the report and turns a
/// rejection into exit code 7.
pub async fn send<B: Serialize>(api: &Api, request: BulkRequest<'_, B>, format: OutputFormat) -> Result<(), CliError> {
    let verb = if request.dry_run { "Checking" } else { "Applying" };
    let progress = output::spinner(format, format!("{verb} {} row(s) on the server", request.rows));
    let answer = api.bulk(request.path, request.body).await;
    progress.finish_and_clear();
    let answer = answer?;

    let report = serde_json::from_value::<BulkReport>(answer.report.clone());
    match format {
        OutputFormat::Json => output::print_json(&answer.report)?,
        OutputFormat::Text => {
            let report = report
                .as_ref()
                .map_err(|e| CliError::unexpected(format!("the server's bulk report is malformed: {e}")))?;
            output::write_stdout(&render(report, &request))?;
        }
    }
    let failed_rows = report.as_ref().map_or(0, failed);
    if answer.rejected || failed_rows > 0 {
        return Err(rejection(report.ok().as_ref(), request.dry_run));
    }
    Ok(())
}

fn rejection(report: Option<&BulkReport>, dry_run: bool) -> CliError {
    let counts = report.map(|r| format!(": {} of {} row(s) failed", failed(r), total(r))).unwrap_or_default();
    let what = if dry_run { "dry run found failing rows" } else { "bulk request rejected" };
    CliError::new(Failure::BulkRejected, format!("{what}{counts}; nothing was applied"))
}

/// The text report: one line per row, then a summary line.
pub fn render<B: Serialize>(report: &BulkReport, request: &BulkRequest<'_, B>) -> String {
    let lines = row_lines(report, request);
    let mut headers = vec!["USER", "STATUS"];
    if request.show_change {
        headers.push("BEFORE → AFTER");
    }
    headers.push("ERROR");
    if lines.is_some() {
        headers.insert(0, "LINE");
    }
    let mut table = Table::new(headers);
    for (i, row) in report.results.iter().enumerate() {
        let mut cells = vec![shown_user(row).to_owned(), row.status.clone()];
        if request.show_change {
            cells.push(output::change_of(row.before.as_ref(), row.after.as_ref()));
        }
        cells.push(error_text(row));
        if let Some(lines) = &lines {
            let line = lines.get(i).copied().flatten();
            cells.insert(0, line.map_or_else(|| "?".to_owned(), |l| l.to_string()));
        }
        table.push(cells);
    }
    let mut out = if table.is_empty() { String::new() } else { table.render() };
    out.push_str(&summary_line(report, request.dry_run));
    out.push('\n');
    out
}

/// The CSV line of each result: by position when the server answered every row in order,
/// else by the user as given.
fn row_lines<B: Serialize>(report: &BulkReport, request: &BulkRequest<'_, B>) -> Option<Vec<Option<u64>>> {
    let lines = request.lines.as_ref()?;
    let in_order = report.results.len() == lines.len()
        && report.results.iter().zip(&request.sent).all(|(row, sent)| row.user == *sent);
    if in_order {
        return Some(lines.iter().copied().map(Some).collect());
    }
    let mut by_user = HashMap::new();
    for (sent, line) in request.sent.iter().zip(lines) {
        by_user.entry(sent.as_str()).or_insert(*line);
    }
    Some(report.results.iter().map(|row| by_user.get(row.user.as_str()).copied()).collect())
}

fn summary_line(report: &BulkReport, dry_run: bool) -> String {
    let s = &report.summary;
    let total = total(report);
    let failed = failed(report);
    if failed > 0 {
        let prefix = if dry_run { "Dry run" } else { "Rejected" };
        return format!(
            "{prefix}: {failed} of {total} row(s) failed; nothing was applied \
             (fix or remove the failing rows and run again)."
        );
    }
    if dry_run || report.dry_run {
        return format!(
            "Dry run, nothing applied: {total} row(s), {} would change, {} unchanged.",
            s.changed, s.unchanged
        );
    }
    if !report.applied {
        return format!("The server applied nothing: {total} row(s).");
    }
    format!("Applied: {total} row(s), {} changed, {} unchanged.", s.changed, s.unchanged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn request(lines: Option<Vec<u64>>, sent: &[&str], dry_run: bool) -> BulkRequest<'static, Value> {
        static BODY: Value = Value::Null;
        BulkRequest {
            path: &["mfa", "bulk"],
            body: &BODY,
            rows: sent.len(),
            dry_run,
            lines,
            sent: sent.iter().map(|s| (*s).to_owned()).collect(),
            show_change: true,
        }
    }

    fn report(value: Value) -> BulkReport {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn rejected_report_shows_lines_changes_and_errors() {
        let report = report(json!({
            "dryRun": false, "applied": false,
            "results": [
                {"user": "a@x.com", "id": "1", "upn": "a@x.com", "status": "changed",
                 "before": "disabled", "after": "enabled", "error": null},
                {"user": "b@x.com", "id": null, "upn": null, "status": "not_found",
                 "before": null, "after": null,
                 "error": {"code": "not_found", "message": "no such user"}}
            ],
            "summary": {"total": 2, "changed": 1, "unchanged": 0, "failed": 1}
        }));
        assert_eq!(failed(&report), 1);
        let text = render(&report, &request(Some(vec![2, 5]), &["a@x.com", "b@x.com"], false));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("LINE  USER"), "{text}");
        assert!(lines[1].starts_with("2     a@x.com  changed    disabled → enabled"), "{text}");
        assert!(lines[2].starts_with("5     b@x.com  not_found") && lines[2].ends_with("no such user"));
        assert!(lines[3].starts_with("Rejected: 1 of 2 row(s) failed"), "{text}");
    }

    #[test]
    fn lines_are_found_by_user_when_the_order_differs() {
        let report = report(json!({"results": [
            {"user": "b@x.com", "status": "unchanged"},
            {"user": "a@x.com", "status": "changed"}
        ]}));
        let req = request(Some(vec![2, 3]), &["a@x.com", "b@x.com"], false);
        assert_eq!(row_lines(&report, &req), Some(vec![Some(3), Some(2)]));
    }

    #[test]
    fn clean_dry_run_and_applied_summaries() {
        let report = report(json!({"dryRun": true, "applied": false,
            "results": [{"user": "a@x.com", "status": "changed", "before": {"methods": 2}, "after": {"methods": 0}}],
            "summary": {"total": 1, "changed": 1, "unchanged": 0, "failed": 0}}));
        let text = render(&report, &request(None, &["a@x.com"], true));
        assert!(text.contains("methods: 2 → 0"), "{text}");
        assert!(!text.contains("LINE"));
        assert!(text.ends_with("Dry run, nothing applied: 1 row(s), 1 would change, 0 unchanged.\n"));
        let applied = BulkReport { dry_run: false, applied: true, ..report };
        let text = render(&applied, &request(None, &["a@x.com"], false));
        assert!(text.ends_with("Applied: 1 row(s), 1 changed, 0 unchanged.\n"), "{text}");
    }

    #[test]
    fn failing_rows_count_even_without_a_summary() {
        let report = report(json!({"results": [{"user": "x@y", "status": "forbidden"}]}));
        assert_eq!(failed(&report), 1);
        let error = rejection(Some(&report), true);
        assert_eq!(error.exit_code(), 7);
        assert_eq!(error.to_string(), "dry run found failing rows: 1 of 1 row(s) failed; nothing was applied");
    }
}
