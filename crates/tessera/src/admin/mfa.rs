//! `tessera mfa status|enable|enforce|disable|apply|reset`: per-user MFA, one user or in bulk.

use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;
use tessera_core::mfa::PerUserMfaState;

use super::Context;
use super::bulk::{self, BulkRequest};
use super::csv_input::{self, MfaRow, StatusColumn};
use super::error::{CliError, exit_codes_text};
use super::output::{self, OutputFormat, Table};
use super::users::{is_per_user, methods_text, parse_user_args, per_user_outcome, user_from_json};

const STATE_HELP: &str = concat!(
    "\
Users come from the arguments, or with --csv FILE from the Username column of a CSV file
such as the bulk update file of Microsoft's per-user MFA page (header matched
case-insensitively, other columns ignored; the MFA Status column is NOT read here: use
`tessera mfa apply --csv FILE` to apply the per-row states of such a file).

Every user is checked locally first (a bad row is reported with its line number and nothing
is sent); then all of them go to the server in ONE request, applied in one transaction: if a
row fails (unknown user, not allowed), nothing changes and the exit code is 7. Enable on an
enforced user is reported as skipped, not as a failure.

",
    exit_codes_text!()
);

const APPLY_HELP: &str = concat!(
    "\
CSV format (Microsoft's per-user MFA bulk update file):

  Username,MFA Status
  alice@contoso.com,Enabled
  bob@contoso.com,Enforced
  carol@contoso.com,Disabled

Header names match case-insensitively, other columns are ignored, blank lines are skipped,
a UTF-8 byte order mark is accepted; MFA Status is Enabled, Enforced or Disabled (any case).
A bad row (missing or malformed username, unknown status) is reported with its line number
and nothing is sent. Then the whole file goes to the server in ONE request, applied in one
transaction: if any row fails, nothing changes and the exit code is 7.

",
    exit_codes_text!()
);

const RESET_HELP: &str = concat!(
    "\
\"Manage user settings\": give at least one of --require-reregistration,
--delete-app-passwords and --revoke-remembered-devices. Users come from the arguments or
from the Username column of --csv FILE. All users go in ONE request, applied in one
transaction: if a row fails, nothing changes and the exit code is 7.

",
    exit_codes_text!()
);

#[derive(clap::Subcommand, Debug)]
pub enum MfaCommand {
    /// Show the per-user MFA state and registered methods of users.
    #[command(after_long_help = exit_codes_text!())]
    Status {
        /// UPNs or user ids.
        #[arg(required = true)]
        users: Vec<String>,
    },
    /// Enable MFA: the users must register a method at their next sign-in.
    #[command(after_long_help = STATE_HELP)]
    Enable(Targets),
    /// Enforce MFA: every interactive sign-in needs a second factor.
    #[command(after_long_help = STATE_HELP)]
    Enforce(Targets),
    /// Disable per-user MFA.
    #[command(after_long_help = STATE_HELP)]
    Disable(Targets),
    /// Apply the per-row MFA states of a bulk update CSV (Username,MFA Status).
    #[command(after_long_help = APPLY_HELP)]
    Apply(ApplyArgs),
    /// Manage user settings: require re-registration, delete app passwords, revoke
    /// remembered devices.
    #[command(after_long_help = RESET_HELP)]
    Reset(ResetArgs),
}

/// The users a bulk MFA command acts on.
#[derive(clap::Args, Debug)]
pub struct Targets {
    /// UPNs or user ids.
    #[arg(required_unless_present = "csv", conflicts_with = "csv")]
    pub users: Vec<String>,
    /// Take the users from the Username column of this CSV file.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Let the server check every row and report what would change, changing nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(clap::Args, Debug)]
pub struct ApplyArgs {
    /// CSV file with the columns Username and MFA Status.
    #[arg(long, value_name = "FILE")]
    pub csv: PathBuf,
    /// Let the server check every row and report what would change, changing nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(clap::Args, Debug)]
pub struct ResetArgs {
    #[command(flatten)]
    pub targets: Targets,
    #[command(flatten)]
    pub options: ResetOptions,
}

#[derive(clap::Args, Debug, Clone, Copy, Serialize)]
#[group(required = true, multiple = true)]
#[serde(rename_all = "camelCase")]
pub struct ResetOptions {
    /// Require the users to register their methods again (registered methods are removed).
    #[arg(long)]
    pub require_reregistration: bool,
    /// Delete all app passwords of the users.
    #[arg(long)]
    pub delete_app_passwords: bool,
    /// Restore MFA on all remembered devices (every "remember me" device stops counting).
    #[arg(long)]
    pub revoke_remembered_devices: bool,
}

/// Body of `POST /mfa/bulk`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct BulkBody {
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    users: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    items: Option<Vec<StateItem>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    options: Option<ResetOptions>,
    dry_run: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StateItem {
    user: String,
    per_user_mfa_state: PerUserMfaState,
}

/// Resolved targets: who, and the CSV line of each when they came from a file.
struct Resolved {
    users: Vec<String>,
    lines: Option<Vec<u64>>,
}

pub async fn run(cmd: MfaCommand, ctx: &Context) -> Result<(), CliError> {
    match cmd {
        MfaCommand::Status { users } => status(&users, ctx).await,
        MfaCommand::Enable(targets) => set_state("enable", &targets, ctx).await,
        MfaCommand::Enforce(targets) => set_state("enforce", &targets, ctx).await,
        MfaCommand::Disable(targets) => set_state("disable", &targets, ctx).await,
        MfaCommand::Apply(args) => apply(&args, ctx).await,
        MfaCommand::Reset(args) => reset(&args, ctx).await,
    }
}

async fn status(users: &[String], ctx: &Context) -> Result<(), CliError> {
    let users = parse_user_args(users)?;
    let api = ctx.open_api()?;
    let mut found = Vec::new();
    let mut failed = Vec::new();
    for user in &users {
        match api.get(&["users", user.as_str()], &[]).await {
            Ok(body) => found.push(body),
            Err(e) if is_per_user(&e) => {
                eprintln!("error: {}: {e}", user.as_str());
                failed.push((user.as_str(), e));
            }
            Err(e) => return Err(e),
        }
    }
    match ctx.format {
        OutputFormat::Json => output::print_json(&Value::Array(found))?,
        OutputFormat::Text if found.is_empty() => {}
        OutputFormat::Text => output::write_stdout(&status_table(&found)?)?,
    }
    per_user_outcome(&failed, users.len(), "shown")
}

fn status_table(users: &[Value]) -> Result<String, CliError> {
    let mut table = Table::new(vec!["UPN", "MFA STATE", "METHODS"]);
    for body in users {
        let user = user_from_json(body)?;
        let methods = methods_text(&user);
        table.push(vec![user.upn, user.per_user_mfa_state, methods]);
    }
    Ok(table.render())
}

async fn set_state(action: &'static str, targets: &Targets, ctx: &Context) -> Result<(), CliError> {
    let resolved = resolve(targets)?;
    let body =
        BulkBody { action, users: Some(resolved.users.clone()), items: None, options: None, dry_run: targets.dry_run };
    send(body, resolved, ctx).await
}

async fn apply(args: &ApplyArgs, ctx: &Context) -> Result<(), CliError> {
    let rows = read_mfa_csv(&args.csv, StatusColumn::Required)?;
    let body = BulkBody {
        action: "setState",
        users: None,
        items: Some(state_items(&rows)),
        options: None,
        dry_run: args.dry_run,
    };
    send(body, resolved_from_rows(&rows), ctx).await
}

fn state_items(rows: &[MfaRow]) -> Vec<StateItem> {
    rows.iter()
        .filter_map(|row| row.state.map(|state| StateItem { user: row.upn.to_string(), per_user_mfa_state: state }))
        .collect()
}

async fn reset(args: &ResetArgs, ctx: &Context) -> Result<(), CliError> {
    let resolved = resolve(&args.targets)?;
    let body = BulkBody {
        action: "manageUserSettings",
        users: Some(resolved.users.clone()),
        items: None,
        options: Some(args.options),
        dry_run: args.targets.dry_run,
    };
    send(body, resolved, ctx).await
}

async fn send(body: BulkBody, resolved: Resolved, ctx: &Context) -> Result<(), CliError> {
    let api = ctx.open_api()?;
    let request = BulkRequest {
        path: &["mfa", "bulk"],
        body: &body,
        rows: resolved.users.len(),
        dry_run: body.dry_run,
        lines: resolved.lines,
        sent: resolved.users,
        show_change: true,
    };
    bulk::send(&api, request, ctx.format).await
}

fn resolve(targets: &Targets) -> Result<Resolved, CliError> {
    match &targets.csv {
        Some(path) => Ok(resolved_from_rows(&read_mfa_csv(path, StatusColumn::Ignored)?)),
        None => {
            let users = parse_user_args(&targets.users)?;
            Ok(Resolved { users: users.iter().map(|u| u.as_str().to_owned()).collect(), lines: None })
        }
    }
}

fn resolved_from_rows(rows: &[MfaRow]) -> Resolved {
    Resolved {
        users: rows.iter().map(|r| r.upn.to_string()).collect(),
        lines: Some(rows.iter().map(|r| r.line).collect()),
    }
}

fn read_mfa_csv(path: &std::path::Path, status: StatusColumn) -> Result<Vec<MfaRow>, CliError> {
    let data = csv_input::read_file(path)?;
    csv_input::parse_mfa(&data, status).map_err(|e| csv_input::file_error(path, &e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_state_body_has_the_contract_shape() {
        let body = BulkBody {
            action: "enforce",
            users: Some(vec!["a@x.com".into()]),
            items: None,
            options: None,
            dry_run: false,
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"action": "enforce", "users": ["a@x.com"], "dryRun": false})
        );
    }

    #[test]
    fn apply_body_carries_per_row_states() {
        let rows = csv_input::parse_mfa(
            b"\xEF\xBB\xBFUsername,MFA Status\na@x.com,Enabled\nb@x.com,DISABLED\n",
            StatusColumn::Required,
        )
        .unwrap();
        let body =
            BulkBody { action: "setState", users: None, items: Some(state_items(&rows)), options: None, dry_run: true };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"action": "setState", "items": [
                {"user": "a@x.com", "perUserMfaState": "enabled"},
                {"user": "b@x.com", "perUserMfaState": "disabled"}
            ], "dryRun": true})
        );
        assert_eq!(resolved_from_rows(&rows).lines, Some(vec![2, 3]));
    }

    #[test]
    fn reset_body_carries_the_options() {
        let body = BulkBody {
            action: "manageUserSettings",
            users: Some(vec!["a@x.com".into()]),
            items: None,
            options: Some(ResetOptions {
                require_reregistration: true,
                delete_app_passwords: false,
                revoke_remembered_devices: true,
            }),
            dry_run: false,
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap()["options"],
            json!({"requireReregistration": true, "deleteAppPasswords": false, "revokeRememberedDevices": true})
        );
    }
}
