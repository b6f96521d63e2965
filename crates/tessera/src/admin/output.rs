//! Printing: human tables (text) or the server's JSON, and the progress spinner.

use std::io::{self, IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use super::error::CliError;
use super::values::printable;

/// `--output`: how results are printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// Human-readable tables and summaries.
    #[default]
    Text,
    /// The server's JSON, pretty-printed (for bulk commands: the report).
    Json,
}

/// The longest a table cell may be before it is cut with an ellipsis.
const MAX_CELL_CHARS: usize = 80;

/// Writes text to stdout; a closed pipe (`tessera users list | head`) is not an error.
pub fn write_stdout(text: &str) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(CliError::unexpected(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

/// Prints a JSON value, pretty, on stdout.
pub fn print_json(value: &Value) -> Result<(), CliError> {
    let text =
        serde_json::to_string_pretty(value).map_err(|e| CliError::unexpected(format!("cannot encode JSON: {e}")))?;
    write_stdout(&format!("{text}\n"))
}

/// A plain text table with left-aligned columns.
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Table {
        Table { headers: headers.into_iter().map(Into::into).collect(), rows: Vec::new() }
    }

    /// Adds a row; cells are cleaned of control characters and shortened.
    pub fn push(&mut self, cells: Vec<String>) {
        self.rows.push(cells.iter().map(|c| clean_cell(c)).collect());
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn render(&self) -> String {
        let widths = self.widths();
        let mut out = String::new();
        render_line(&mut out, &self.headers, &widths);
        for row in &self.rows {
            render_line(&mut out, row, &widths);
        }
        out
    }

    fn widths(&self) -> Vec<usize> {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        widths
    }
}

fn render_line(out: &mut String, cells: &[String], widths: &[usize]) {
    let last = widths.len().saturating_sub(1);
    for (i, width) in widths.iter().enumerate() {
        let cell = cells.get(i).map_or("", String::as_str);
        if i == last {
            out.push_str(cell);
        } else {
            out.push_str(cell);
            let pad = width.saturating_sub(cell.chars().count()) + 2;
            out.extend(std::iter::repeat_n(' ', pad));
        }
    }
    let trimmed = out.trim_end_matches(' ').len();
    out.truncate(trimmed);
    out.push('\n');
}

fn clean_cell(text: &str) -> String {
    let clean = printable(text);
    if clean.chars().count() <= MAX_CELL_CHARS {
        return clean;
    }
    let mut cut: String = clean.chars().take(MAX_CELL_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// Renders a JSON value in one short line: `-` for null, strings bare, arrays joined by
/// commas, objects as `key=value` pairs.
pub fn compact(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) if items.is_empty() => "-".to_owned(),
        Value::Array(items) => items.iter().map(compact).collect::<Vec<_>>().join(", "),
        Value::Object(map) => map.iter().map(|(k, v)| format!("{k}={}", compact(v))).collect::<Vec<_>>().join(", "),
    }
}

/// `before → after`, or `-` when the server gave neither. Two objects (e.g. counts of
/// methods and app passwords) show only the keys that differ, `key: before → after`.
pub fn change(before: &Value, after: &Value) -> String {
    match (before, after) {
        (Value::Null, Value::Null) => "-".to_owned(),
        (Value::Object(old), Value::Object(new)) => {
            let diffs: Vec<String> = new
                .iter()
                .filter(|(key, value)| old.get(*key).unwrap_or(&Value::Null) != *value)
                .map(|(key, value)| {
                    format!("{key}: {} → {}", compact(old.get(key).unwrap_or(&Value::Null)), compact(value))
                })
                .collect();
            if diffs.is_empty() { compact(after) } else { diffs.join("; ") }
        }
        _ => format!("{} → {}", compact(before), compact(after)),
    }
}

/// [`change`] of a change record whose sides may be missing (`null`).
pub fn change_of(before: Option<&Value>, after: Option<&Value>) -> String {
    change(before.unwrap_or(&Value::Null), after.unwrap_or(&Value::Null))
}

/// A spinner on stderr, shown only when stderr is a terminal and the output is text;
/// otherwise hidden (all calls are no-ops).
pub fn spinner(format: OutputFormat, message: String) -> ProgressBar {
    if format == OutputFormat::Json || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        bar.set_style(style);
    }
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table_aligns_columns_and_trims_line_ends() {
        let mut table = Table::new(vec!["UPN", "STATE"]);
        table.push(vec!["alice@contoso.com".into(), "enabled".into()]);
        table.push(vec!["b@c".into(), String::new()]);
        assert_eq!(table.render(), "UPN                STATE\nalice@contoso.com  enabled\nb@c\n");
    }

    #[test]
    fn cells_lose_control_characters_and_long_text() {
        assert_eq!(clean_cell("a\u{1b}[31mb"), "a\u{FFFD}[31mb");
        let long = "x".repeat(100);
        assert_eq!(clean_cell(&long).chars().count(), MAX_CELL_CHARS);
    }

    #[test]
    fn compact_values() {
        assert_eq!(compact(&json!(null)), "-");
        assert_eq!(compact(&json!("enabled")), "enabled");
        assert_eq!(compact(&json!(["totp", "webauthn"])), "totp, webauthn");
        assert_eq!(compact(&json!({"methods": 2})), "methods=2");
        assert_eq!(change(&json!("disabled"), &json!("enabled")), "disabled → enabled");
        assert_eq!(change(&json!(null), &json!(null)), "-");
        assert_eq!(
            change(&json!({"methods": 2, "appPasswords": 0}), &json!({"methods": 0, "appPasswords": 0})),
            "methods: 2 → 0"
        );
        assert_eq!(change(&json!({"methods": 0}), &json!({"methods": 0})), "methods=0");
    }
}
