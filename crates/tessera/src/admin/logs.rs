//! `tessera audit` and `tessera signins`: the audit log and the sign-in log, newest first.

use serde::de::DeserializeOwned;
use tessera_web::wire::{AuditRecord, SignInRecord};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Context;
use super::error::CliError;
use super::output::{self, OutputFormat, Table};
use super::paging::{self, PageArgs};
use super::values::printable;

/// Time window shared by both logs.
#[derive(clap::Args, Debug, Default)]
pub struct TimeArgs {
    /// Only records at or after this time (RFC 3339, e.g. 2025-06-01T00:00:00Z).
    #[arg(long, value_name = "RFC3339")]
    pub since: Option<String>,
    /// Only records before this time (RFC 3339).
    #[arg(long, value_name = "RFC3339")]
    pub until: Option<String>,
}

/// Filters of `tessera audit`.
#[derive(clap::Args, Debug)]
pub struct AuditArgs {
    #[command(flatten)]
    pub window: TimeArgs,
    /// Only changes made by this user.
    #[arg(long, value_name = "UPN")]
    pub actor: Option<String>,
    /// Only changes to this user.
    #[arg(long, value_name = "UPN")]
    pub target: Option<String>,
    /// Only actions starting with this prefix, e.g. `user.mfa`.
    #[arg(long, value_name = "PREFIX")]
    pub action: Option<String>,
    #[command(flatten)]
    pub paging: PageArgs,
}

/// Filters of `tessera signins`.
#[derive(clap::Args, Debug)]
pub struct SigninArgs {
    #[command(flatten)]
    pub window: TimeArgs,
    /// Only sign-ins of this user (sent as the API's `actor` filter).
    #[arg(long, visible_alias = "actor", value_name = "UPN")]
    pub user: Option<String>,
    /// Only successful or only failed sign-ins (sent as the API's `action` filter).
    #[arg(long, visible_alias = "action", value_name = "RESULT", value_parser = ["success", "failure"])]
    pub result: Option<String>,
    #[command(flatten)]
    pub paging: PageArgs,
}

pub async fn audit(args: AuditArgs, ctx: &Context) -> Result<(), CliError> {
    let mut query = window_query(&args.window)?;
    push_filter(&mut query, "actor", args.actor.as_deref());
    push_filter(&mut query, "target", args.target.as_deref());
    push_filter(&mut query, "action", args.action.as_deref());
    show_log(ctx, "audit", query, &args.paging, audit_row, AUDIT_HEADERS).await
}

pub async fn signins(args: SigninArgs, ctx: &Context) -> Result<(), CliError> {
    let mut query = window_query(&args.window)?;
    push_filter(&mut query, "actor", args.user.as_deref());
    push_filter(&mut query, "action", args.result.as_deref());
    show_log(ctx, "signins", query, &args.paging, signin_row, SIGNIN_HEADERS).await
}

const AUDIT_HEADERS: [&str; 6] = ["TIME", "ACTOR", "ACTION", "TARGET", "BEFORE → AFTER", "SOURCE IP"];
const SIGNIN_HEADERS: [&str; 8] =
    ["TIME", "UPN", "CLIENT", "RESULT", "MFA REQUIRED BY", "METHOD", "FAILURE", "SOURCE IP"];

async fn show_log<R: DeserializeOwned>(
    ctx: &Context,
    path: &str,
    query: Vec<(&'static str, String)>,
    paging: &PageArgs,
    row: fn(R) -> Vec<String>,
    headers: impl IntoIterator<Item = &'static str>,
) -> Result<(), CliError> {
    let api = ctx.open_api()?;
    let listing = paging::fetch(&api, &[path], query, paging, ctx.format).await?;
    if ctx.format == OutputFormat::Json {
        return output::print_json(&listing.to_json());
    }
    if listing.items.is_empty() {
        output::write_stdout("No records found.\n")?;
    } else {
        let mut table = Table::new(headers);
        for item in &listing.items {
            let record = R::deserialize(item)
                .map_err(|e| CliError::unexpected(format!("the server's {path} record is malformed: {e}")))?;
            table.push(row(record));
        }
        output::write_stdout(&table.render())?;
    }
    listing.hint_more(ctx.format);
    Ok(())
}

fn audit_row(record: AuditRecord) -> Vec<String> {
    vec![
        record.time,
        either(Some(record.actor_upn).filter(|upn| !upn.is_empty()), record.actor_id),
        record.action,
        either(record.target_upn, record.target_id),
        output::change_of(record.before.as_ref(), record.after.as_ref()),
        dash(record.source_ip),
    ]
}

fn signin_row(record: SignInRecord) -> Vec<String> {
    vec![
        record.time,
        record.upn,
        record.client,
        record.result,
        record.mfa_required_by,
        dash(record.mfa_method),
        dash(record.failure_reason),
        dash(record.source_ip),
    ]
}

fn window_query(window: &TimeArgs) -> Result<Vec<(&'static str, String)>, CliError> {
    let mut query = Vec::new();
    for (name, value) in [("since", &window.since), ("until", &window.until)] {
        if let Some(value) = value {
            query.push((name, check_time(name, value)?));
        }
    }
    Ok(query)
}

fn push_filter(query: &mut Vec<(&'static str, String)>, name: &'static str, value: Option<&str>) {
    if let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) {
        query.push((name, value.to_owned()));
    }
}

fn check_time(flag: &str, value: &str) -> Result<String, CliError> {
    let value = value.trim();
    OffsetDateTime::parse(value, &Rfc3339).map(|_| value.to_owned()).map_err(|e| {
        CliError::bad_input(format!(
            "--{flag} '{}' is not an RFC 3339 time such as 2025-06-01T00:00:00Z: {e}",
            printable(value)
        ))
    })
}

/// Formats a time as RFC 3339, to the second.
pub fn format_time(time: OffsetDateTime) -> String {
    let time = time.replace_nanosecond(0).unwrap_or(time);
    time.format(&Rfc3339).unwrap_or_else(|_| time.unix_timestamp().to_string())
}

fn either(first: Option<String>, second: Option<String>) -> String {
    dash(first.or(second))
}

fn dash(value: Option<String>) -> String {
    value.unwrap_or_else(|| "-".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn render<R: DeserializeOwned>(
        items: &[Value],
        row: fn(R) -> Vec<String>,
        headers: impl IntoIterator<Item = &'static str>,
    ) -> String {
        let mut table = Table::new(headers);
        for item in items {
            table.push(row(R::deserialize(item).unwrap()));
        }
        table.render()
    }

    #[test]
    fn times_are_checked_before_sending() {
        let mut window = TimeArgs { since: Some("2025-06-01T00:00:00Z".into()), until: None };
        let query = window_query(&window).unwrap();
        assert_eq!(query, vec![("since", "2025-06-01T00:00:00Z".to_owned())]);
        window.until = Some("yesterday".into());
        let error = window_query(&window).unwrap_err();
        assert_eq!(error.exit_code(), 6);
        assert!(error.to_string().contains("--until 'yesterday'"), "{error}");
    }

    #[test]
    fn empty_filters_are_not_sent() {
        let mut query = Vec::new();
        push_filter(&mut query, "actor", Some("  "));
        push_filter(&mut query, "action", None);
        push_filter(&mut query, "target", Some(" a@x.com "));
        assert_eq!(query, vec![("target", "a@x.com".to_owned())]);
    }

    #[test]
    fn audit_records_render() {
        let text = render(
            &[json!({
                "id": "1", "time": "2025-06-01T10:00:00Z", "actorId": "a", "actorUpn": "admin@x.com",
                "sourceIp": "127.0.0.1", "action": "user.mfa.enforce", "targetId": "b", "targetUpn": "bob@x.com",
                "before": "disabled", "after": "enforced", "correlationId": "c"
            })],
            audit_row,
            AUDIT_HEADERS,
        );
        let row = text.lines().nth(1).unwrap();
        assert!(row.contains("admin@x.com  user.mfa.enforce  bob@x.com  disabled → enforced  127.0.0.1"), "{text}");
    }

    #[test]
    fn signin_records_render() {
        let text = render(
            &[json!({
                "id": "1", "time": "2025-06-01T10:00:00Z", "userId": "u", "upn": "a@x.com", "sourceIp": null,
                "userAgent": "x", "client": "api", "result": "failure", "failureReason": "invalid_credentials",
                "mfaRequiredBy": "none", "mfaMethod": null
            })],
            signin_row,
            SIGNIN_HEADERS,
        );
        let row = text.lines().nth(1).unwrap();
        assert!(row.ends_with("a@x.com  api     failure  none             -       invalid_credentials  -"), "{text}");
    }
}
