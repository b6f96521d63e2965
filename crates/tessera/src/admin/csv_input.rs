//! CSV files of the bulk commands, validated completely before anything is sent.
//!
//! Two formats:
//! - user import: header `upn,displayName,password` (password column optional);
//! - bulk MFA, as exported by Microsoft's per-user MFA page: header `Username,MFA Status`.
//!
//! In both, header names match case-insensitively, extra columns are ignored, blank lines
//! (and rows of empty cells) are skipped and a UTF-8 byte order mark is accepted. Every bad
//! row is reported with its line number.

use std::fmt;
use std::path::Path;

use tessera_core::ids::Upn;
use tessera_core::mfa::PerUserMfaState;

use super::error::CliError;
use super::values::{Password, printable};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
/// How many bad rows one error message lists before summarising the rest.
const MAX_LISTED_ROW_ERRORS: usize = 20;

/// One row of a user import file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    pub line: u64,
    pub upn: Upn,
    pub display_name: String,
    pub password: Option<Password>,
}

/// One row of a bulk MFA file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaRow {
    pub line: u64,
    pub upn: Upn,
    /// `None` when the status column is not used (see [`StatusColumn::Ignored`]).
    pub state: Option<PerUserMfaState>,
}

/// Whether a bulk MFA file's `MFA Status` column is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusColumn {
    Required,
    Ignored,
}

/// A problem on one line of a CSV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub message: String,
}

/// Why a CSV file was refused. Nothing is sent when this happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsvError {
    /// No header line at all.
    Empty,
    /// A header line but no data row.
    NoRows,
    /// A required column is missing from the header line.
    MissingColumn { line: u64, column: &'static str, found: Vec<String> },
    /// One or more rows are invalid (or unreadable).
    Rows(Vec<RowError>),
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CsvError::Empty => f.write_str("the file is empty: expected a header line"),
            CsvError::NoRows => f.write_str("the file has a header line but no data rows"),
            CsvError::MissingColumn { line, column, found } => {
                write!(f, "line {line}: missing column '{column}' (header has: {})", found.join(", "))
            }
            CsvError::Rows(errors) => write_row_errors(f, errors),
        }
    }
}

fn write_row_errors(f: &mut fmt::Formatter<'_>, errors: &[RowError]) -> fmt::Result {
    write!(f, "{} invalid row(s), nothing was sent:", errors.len())?;
    for error in errors.iter().take(MAX_LISTED_ROW_ERRORS) {
        write!(f, "\n  line {}: {}", error.line, error.message)?;
    }
    if errors.len() > MAX_LISTED_ROW_ERRORS {
        write!(f, "\n  ... and {} more", errors.len() - MAX_LISTED_ROW_ERRORS)?;
    }
    Ok(())
}

/// Reads a CSV file into memory (bulk files are at most 100,000 rows).
pub fn read_file(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::bad_input(format!("cannot read {}: {e}", path.display())))
}

/// Wraps a CSV error with the file name for the user.
pub fn file_error(path: &Path, error: &CsvError) -> CliError {
    CliError::bad_input(format!("{}: {error}", path.display()))
}

/// Parses a user import file (`upn,displayName[,password]`).
pub fn parse_import(data: &[u8]) -> Result<Vec<ImportRow>, CsvError> {
    let mut records = Records::new(data);
    let header = records.header()?;
    let upn_col = header.require("upn")?;
    let name_col = header.require("displayName")?;
    let password_col = header.find("password");

    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut first_line_of = std::collections::HashMap::new();
    records.for_each(&mut errors, |line, record| {
        let row = import_row(line, record, upn_col, name_col, password_col)?;
        if let Some(first) = first_line_of.insert(row.upn.key(), line) {
            return Err(format!("duplicate upn '{}' (first on line {first})", row.upn));
        }
        rows.push(row);
        Ok(())
    });
    finish(rows, errors)
}

fn import_row(
    line: u64,
    record: &csv::StringRecord,
    upn_col: usize,
    name_col: usize,
    password_col: Option<usize>,
) -> Result<ImportRow, String> {
    let upn = upn_cell(record, upn_col, "upn")?;
    let display_name = cell(record, name_col).trim();
    if display_name.is_empty() {
        return Err("missing displayName".into());
    }
    if display_name.chars().any(char::is_control) {
        return Err("displayName contains a control character".into());
    }
    // Passwords are taken verbatim (spaces are significant) and never echoed.
    let password = password_col.and_then(|col| Password::new(cell(record, col).to_owned()));
    Ok(ImportRow { line, upn, display_name: display_name.to_owned(), password })
}

/// Parses a bulk MFA file (`Username,MFA Status`).
pub fn parse_mfa(data: &[u8], status: StatusColumn) -> Result<Vec<MfaRow>, CsvError> {
    let mut records = Records::new(data);
    let header = records.header()?;
    let user_col = header.require("Username")?;
    let status_col = match status {
        StatusColumn::Required => Some(header.require("MFA Status")?),
        StatusColumn::Ignored => None,
    };

    let mut rows = Vec::new();
    let mut errors = Vec::new();
    records.for_each(&mut errors, |line, record| {
        let upn = upn_cell(record, user_col, "Username")?;
        let state = status_col.map(|col| state_cell(record, col)).transpose()?;
        rows.push(MfaRow { line, upn, state });
        Ok(())
    });
    finish(rows, errors)
}

fn state_cell(record: &csv::StringRecord, col: usize) -> Result<PerUserMfaState, String> {
    let text = cell(record, col).trim();
    if text.is_empty() {
        return Err("missing MFA Status".into());
    }
    PerUserMfaState::parse(text)
        .map_err(|_| format!("unknown MFA Status '{}' (expected Enabled, Enforced or Disabled)", printable(text)))
}

fn upn_cell(record: &csv::StringRecord, col: usize, column: &str) -> Result<Upn, String> {
    let text = cell(record, col).trim();
    if text.is_empty() {
        return Err(format!("missing {column}"));
    }
    Upn::parse(text).map_err(|e| format!("{column} {e}"))
}

fn cell(record: &csv::StringRecord, col: usize) -> &str {
    record.get(col).unwrap_or("")
}

/// The header line: column names folded for case-insensitive lookup.
struct Header {
    line: u64,
    names: Vec<String>,
}

impl Header {
    fn find(&self, column: &str) -> Option<usize> {
        let wanted = column.to_lowercase();
        self.names.iter().position(|name| name.trim().to_lowercase() == wanted)
    }

    fn require(&self, column: &'static str) -> Result<usize, CsvError> {
        self.find(column).ok_or_else(|| CsvError::MissingColumn {
            line: self.line,
            column,
            found: self.names.iter().map(|n| printable(n.trim())).collect(),
        })
    }
}

/// The records of a CSV file, with their true line numbers.
///
/// The csv crate's record positions are taken before it skips empty lines and the `\n` of
/// a `\r\n`, so lines are counted here from the byte offsets instead.
struct Records<'a> {
    reader: csv::Reader<&'a [u8]>,
    lines: LineCounter<'a>,
}

impl<'a> Records<'a> {
    fn new(data: &'a [u8]) -> Records<'a> {
        let data = data.strip_prefix(UTF8_BOM).unwrap_or(data);
        let reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(data);
        Records { reader, lines: LineCounter::new(data) }
    }

    /// The first non-blank line.
    fn header(&mut self) -> Result<Header, CsvError> {
        let mut record = csv::StringRecord::new();
        loop {
            match self.reader.read_record(&mut record) {
                Ok(false) => return Err(CsvError::Empty),
                Ok(true) if is_blank(&record) => {}
                Ok(true) => {
                    return Ok(Header {
                        line: self.lines.of(record.position()),
                        names: record.iter().map(str::to_owned).collect(),
                    });
                }
                Err(e) => return Err(CsvError::Rows(vec![self.unreadable(&e)])),
            }
        }
    }

    /// Calls `check` on every non-blank data record with its line number; collects its
    /// errors (and unreadable lines) in `errors`.
    fn for_each(
        &mut self,
        errors: &mut Vec<RowError>,
        mut check: impl FnMut(u64, &csv::StringRecord) -> Result<(), String>,
    ) {
        let mut record = csv::StringRecord::new();
        loop {
            match self.reader.read_record(&mut record) {
                Ok(false) => return,
                Ok(true) if is_blank(&record) => {}
                Ok(true) => {
                    let line = self.lines.of(record.position());
                    if let Err(message) = check(line, &record) {
                        errors.push(RowError { line, message });
                    }
                }
                Err(e) => {
                    let fatal = !matches!(e.kind(), csv::ErrorKind::Utf8 { .. });
                    errors.push(self.unreadable(&e));
                    if fatal {
                        return;
                    }
                }
            }
        }
    }

    fn unreadable(&mut self, error: &csv::Error) -> RowError {
        let line = self.lines.of(error.position());
        let message = match error.kind() {
            csv::ErrorKind::Utf8 { .. } => "not valid UTF-8 (save the file as UTF-8 CSV)".to_owned(),
            csv::ErrorKind::Io(e) => format!("cannot read: {e}"),
            _ => format!("malformed CSV: {error}"),
        };
        RowError { line, message }
    }
}

/// Turns byte offsets of record starts (increasing) into 1-based line numbers.
struct LineCounter<'a> {
    data: &'a [u8],
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(data: &'a [u8]) -> LineCounter<'a> {
        LineCounter { data, offset: 0, line: 1 }
    }

    /// The line of the record that starts at `position` or after the line breaks there.
    fn of(&mut self, position: Option<&csv::Position>) -> u64 {
        let Some(position) = position else {
            return self.line;
        };
        let mut start = usize::try_from(position.byte()).unwrap_or(usize::MAX);
        start = start.min(self.data.len());
        while matches!(self.data.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        if start > self.offset {
            let newlines = self.data[self.offset..start].iter().filter(|&&b| b == b'\n').count();
            self.line += u64::try_from(newlines).unwrap_or(u64::MAX);
            self.offset = start;
        }
        self.line
    }
}

fn finish<T>(rows: Vec<T>, errors: Vec<RowError>) -> Result<Vec<T>, CsvError> {
    if !errors.is_empty() {
        return Err(CsvError::Rows(errors));
    }
    if rows.is_empty() {
        return Err(CsvError::NoRows);
    }
    Ok(rows)
}

fn is_blank(record: &csv::StringRecord) -> bool {
    record.iter().all(|field| field.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mfa(text: &str) -> Result<Vec<MfaRow>, CsvError> {
        parse_mfa(text.as_bytes(), StatusColumn::Required)
    }

    fn row_lines(error: CsvError) -> Vec<u64> {
        match error {
            CsvError::Rows(rows) => rows.iter().map(|r| r.line).collect(),
            other => panic!("expected row errors, got {other:?}"),
        }
    }

    #[test]
    fn microsoft_export_with_bom_parses() {
        let data = b"\xEF\xBB\xBFUsername,MFA Status\r\nalice@contoso.com,Enabled\r\nbob@contoso.com,enforced\r\n";
        let rows = parse_mfa(data, StatusColumn::Required).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].upn.as_str(), "alice@contoso.com");
        assert_eq!(rows[0].state, Some(PerUserMfaState::Enabled));
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[1].state, Some(PerUserMfaState::Enforced));
        assert_eq!(rows[1].line, 3);
    }

    #[test]
    fn header_matches_case_insensitively_and_extra_columns_are_ignored() {
        let text = "Display Name, mfa status ,USERNAME,Department\n\
                    Alice,DISABLED,alice@contoso.com,IT\n";
        let rows = mfa(text).unwrap();
        assert_eq!(rows[0].upn.as_str(), "alice@contoso.com");
        assert_eq!(rows[0].state, Some(PerUserMfaState::Disabled));
    }

    #[test]
    fn blank_lines_are_skipped_and_lines_still_counted() {
        let text = "\nUsername,MFA Status\n\nalice@contoso.com,Enabled\n,\n  \nbob@contoso.com,Disabled\n\n";
        let rows = mfa(text).unwrap();
        let lines: Vec<u64> = rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![4, 7]);
    }

    #[test]
    fn crlf_files_with_blank_lines_count_lines_right() {
        let data = b"\xEF\xBB\xBF\r\nUsername,MFA Status\r\n\r\n\r\nalice@contoso.com,Enabled\r\nbob,Enabled\r\n";
        let error = parse_mfa(data, StatusColumn::Required).unwrap_err();
        assert_eq!(row_lines(error), vec![6]);
        let missing = parse_mfa(b"\r\n\r\nUser\r\na@b\r\n", StatusColumn::Ignored).unwrap_err();
        assert!(missing.to_string().starts_with("line 3: missing column 'Username'"), "{missing}");
    }

    #[test]
    fn bad_rows_are_all_reported_with_their_line_numbers() {
        let text = "Username,MFA Status\n\
                    alice@contoso.com,Enabled\n\
                    ,Enabled\n\
                    bob,Enabled\n\
                    carol@contoso.com,Sometimes\n\
                    dave@contoso.com\n\
                    e ve@contoso.com,Enabled\n\
                    a@b@c,Enabled\n";
        let error = mfa(text).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("line 3: missing Username"), "{message}");
        assert!(message.contains("line 4: Username 'bob'"), "{message}");
        assert!(message.contains("line 5: unknown MFA Status 'Sometimes'"), "{message}");
        assert!(message.contains("line 6: missing MFA Status"), "{message}");
        assert_eq!(row_lines(error), vec![3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn status_column_can_be_ignored() {
        let text = "Username\nalice@contoso.com\n";
        let rows = parse_mfa(text.as_bytes(), StatusColumn::Ignored).unwrap();
        assert_eq!(rows[0].state, None);
        let with_junk = "Username,MFA Status\nalice@contoso.com,whatever\n";
        assert!(parse_mfa(with_junk.as_bytes(), StatusColumn::Ignored).is_ok());
        let error = parse_mfa(text.as_bytes(), StatusColumn::Required).unwrap_err();
        assert!(matches!(error, CsvError::MissingColumn { column: "MFA Status", .. }));
    }

    #[test]
    fn missing_header_columns_and_empty_files_are_errors() {
        let error = mfa("User,Status\nalice@contoso.com,Enabled\n").unwrap_err();
        assert_eq!(error.to_string(), "line 1: missing column 'Username' (header has: User, Status)");
        assert_eq!(mfa(""), Err(CsvError::Empty));
        assert_eq!(mfa("\u{feff}"), Err(CsvError::Empty));
        assert_eq!(mfa("Username,MFA Status\n\n"), Err(CsvError::NoRows));
    }

    #[test]
    fn quoted_multiline_fields_keep_line_numbers_right() {
        let text = "Username,MFA Status,Note\n\
                    alice@contoso.com,Enabled,\"two\nlines\"\n\
                    bob,Enabled,x\n";
        assert_eq!(row_lines(mfa(text).unwrap_err()), vec![4]);
    }

    #[test]
    fn invalid_utf8_is_reported_with_its_line() {
        let data = b"Username,MFA Status\nalice@contoso.com,Enabled\nb\xffb@contoso.com,Enabled\n";
        let error = parse_mfa(data, StatusColumn::Required).unwrap_err();
        assert!(error.to_string().contains("not valid UTF-8"), "{error}");
        assert_eq!(row_lines(error), vec![3]);
    }

    #[test]
    fn import_rows_parse_with_optional_password() {
        let data = b"\xEF\xBB\xBFUPN,DisplayName,Password,Office\n\
                     alice@contoso.com, Alice Smith ,  s3cret ,HQ\n\
                     bob@contoso.com,Bob,,HQ\n";
        let rows = parse_import(data).unwrap();
        assert_eq!(rows[0].display_name, "Alice Smith");
        assert_eq!(rows[0].password, Password::new("  s3cret ".into()));
        assert_eq!(rows[1].password, None);
        assert_eq!(rows[1].line, 3);
    }

    #[test]
    fn import_without_password_column() {
        let rows = parse_import(b"displayname,upn\nAlice,alice@contoso.com\n").unwrap();
        assert_eq!(rows[0].upn.as_str(), "alice@contoso.com");
        assert_eq!(rows[0].password, None);
    }

    #[test]
    fn import_bad_rows_name_their_lines_and_hide_passwords() {
        let text = "upn,displayName,password\n\
                    alice@contoso.com,Alice,topsecret1\n\
                    alice,Alice,topsecret2\n\
                    bob@contoso.com,,topsecret3\n\
                    ALICE@contoso.com,Alice again,topsecret4\n";
        let error = parse_import(text.as_bytes()).unwrap_err();
        let message = error.to_string();
        assert!(!message.contains("topsecret"), "{message}");
        assert!(message.contains("line 3: upn 'alice'"), "{message}");
        assert!(message.contains("line 4: missing displayName"), "{message}");
        assert!(message.contains("line 5: duplicate upn 'ALICE@contoso.com' (first on line 2)"));
        assert_eq!(row_lines(error), vec![3, 4, 5]);
    }

    #[test]
    fn import_requires_upn_and_display_name_columns() {
        let error = parse_import(b"upn,password\na@b,x\n").unwrap_err();
        assert!(matches!(error, CsvError::MissingColumn { column: "displayName", .. }));
    }

    #[test]
    fn long_error_lists_are_capped() {
        let mut text = String::from("Username,MFA Status\n");
        for _ in 0..30 {
            text.push_str("nobody,Enabled\n");
        }
        let message = mfa(&text).unwrap_err().to_string();
        assert!(message.starts_with("30 invalid row(s)"), "{message}");
        assert!(message.contains("... and 10 more"), "{message}");
    }
}
