//! `tessera users list|show|add|update|delete|import`; `sessions` and `revoke-sessions` are
//! in `sessions.rs`, `app-passwords` and `remembered-devices` in `credentials.rs`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tessera_core::ids::{Upn, UserRef};
use tessera_core::mfa::PerUserMfaState;
use tessera_web::wire::User;

use super::Context;
use super::bulk::{self, BulkRequest};
use super::credentials::{self, AppPasswordsCommand, DevicesCommand};
use super::csv_input::{self, ImportRow};
use super::error::{CliError, EXIT_CODES_HELP, Failure, exit_codes_text};
use super::login::read_password_file;
use super::output::{self, OutputFormat, Table};
use super::paging::{self, PageArgs};
use super::sessions;
use super::values::{Password, printable, state_arg};

#[derive(clap::Subcommand, Debug)]
pub enum UsersCommand {
    /// List users, 50 per page by default.
    #[command(after_long_help = EXIT_CODES_HELP)]
    List(ListArgs),
    /// Show one user.
    #[command(after_long_help = EXIT_CODES_HELP)]
    Show {
        /// UPN or user id.
        user: String,
    },
    /// Create a user.
    #[command(after_long_help = EXIT_CODES_HELP)]
    Add(AddArgs),
    /// Disable or enable a user's account, and/or set a new password.
    #[command(after_long_help = UPDATE_HELP)]
    Update(UpdateArgs),
    /// Delete users (each one separately; the others are still deleted if one fails).
    #[command(after_long_help = EXIT_CODES_HELP)]
    Delete {
        /// UPNs or user ids.
        #[arg(required = true)]
        users: Vec<String>,
    },
    /// Create many users from a CSV file, all or nothing.
    #[command(after_long_help = IMPORT_HELP)]
    Import(ImportArgs),
    /// List a user's active sign-in sessions.
    #[command(after_long_help = sessions::SESSIONS_HELP)]
    Sessions {
        /// UPN or user id.
        user: String,
    },
    /// Revoke all sessions: end every session and API token of users (each one separately).
    #[command(after_long_help = sessions::REVOKE_HELP)]
    RevokeSessions {
        /// UPNs or user ids.
        #[arg(required = true)]
        users: Vec<String>,
    },
    /// List or delete a user's app passwords (for legacy clients).
    #[command(subcommand)]
    AppPasswords(AppPasswordsCommand),
    /// List or forget a user's remembered devices ("Don't ask again" at the MFA prompt).
    #[command(subcommand, visible_alias = "devices")]
    RememberedDevices(DevicesCommand),
}

const UPDATE_HELP: &str = concat!(
    "\
--disable: the user can no longer sign in (browser, API, LDAP; app passwords too), and every
session, API token and remembered device of the user ends at once. --enable undoes the
block (ended sessions and devices stay ended). --password-file sets a new password, read
from the first line of the file (8-256 characters); the user's remembered devices end, app
passwords stay. Give one or both; the change is one transaction, audited as
user.account.update (never the password). Needs a Global Administrator; nobody disables
their own account. --output json prints the user as the server answers.

",
    exit_codes_text!()
);

const IMPORT_HELP: &str = concat!(
    "\
CSV format: a header line with the columns upn and displayName, and optionally password
(names match case-insensitively; other columns are ignored; a UTF-8 byte order mark and
blank lines are accepted):

  upn,displayName,password
  alice@contoso.com,Alice Smith,Correct-Horse-1
  bob@contoso.com,Bob Jones,

Every row is checked first; a bad row is reported with its line number and nothing is sent.
Then the whole file goes to the server in one request, applied in one transaction: if any
row fails there (exit code 7), no user is created. --output json prints the server's report,
whose results are in the order of the file's rows.

",
    exit_codes_text!()
);

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// Only users in this per-user MFA state.
    #[arg(long, value_parser = state_arg())]
    pub state: Option<PerUserMfaState>,
    /// Only users whose UPN starts with this prefix.
    #[arg(long, value_name = "PREFIX")]
    pub search: Option<String>,
    #[command(flatten)]
    pub paging: PageArgs,
}

#[derive(clap::Args, Debug)]
pub struct AddArgs {
    /// The new user's UPN, e.g. `alice@contoso.com`.
    pub upn: String,
    /// The name shown for the user.
    #[arg(long, value_name = "NAME")]
    pub display_name: String,
    /// Initial password, read from this file (first line). Without it the user has none.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct UpdateArgs {
    /// UPN or user id.
    pub user: String,
    #[command(flatten)]
    pub change: AccountChange,
}

/// What `users update` changes: at least one.
#[derive(clap::Args, Debug)]
#[group(required = true, multiple = true)]
pub struct AccountChange {
    /// Disable the account: no sign-in; sessions, API tokens and remembered devices end.
    #[arg(long, conflicts_with = "enable")]
    pub disable: bool,
    /// Enable the account again.
    #[arg(long)]
    pub enable: bool,
    /// New password, read from this file (first line).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// CSV file with the columns upn, displayName and optionally password.
    pub file: PathBuf,
    /// Let the server check every row without creating anyone.
    #[arg(long)]
    pub dry_run: bool,
}

/// The user of an API answer (unknown fields ignored, missing ones defaulted).
pub fn user_from_json(value: &Value) -> Result<User, CliError> {
    User::deserialize(value).map_err(|e| CliError::unexpected(format!("the server's user answer is malformed: {e}")))
}

pub fn methods_text(user: &User) -> String {
    if user.methods.is_empty() { "-".to_owned() } else { user.methods.join(", ") }
}

pub async fn run(cmd: UsersCommand, ctx: &Context) -> Result<(), CliError> {
    match cmd {
        UsersCommand::List(args) => list(args, ctx).await,
        UsersCommand::Show { user } => show(&user, ctx).await,
        UsersCommand::Add(args) => add(args, ctx).await,
        UsersCommand::Delete { users } => delete(&users, ctx).await,
        UsersCommand::Import(args) => import(args, ctx).await,
        UsersCommand::Sessions { user } => sessions::list(&user, ctx).await,
        UsersCommand::RevokeSessions { users } => sessions::revoke(&users, ctx).await,
        UsersCommand::Update(args) => update(args, ctx).await,
        UsersCommand::AppPasswords(cmd) => credentials::app_passwords(cmd, ctx).await,
        UsersCommand::RememberedDevices(cmd) => credentials::devices(cmd, ctx).await,
    }
}

async fn list(args: ListArgs, ctx: &Context) -> Result<(), CliError> {
    let mut query = Vec::new();
    if let Some(state) = args.state {
        query.push(("mfaState", state.as_str().to_owned()));
    }
    if let Some(search) = args.search {
        query.push(("search", search));
    }
    let api = ctx.open_api()?;
    let listing = paging::fetch(&api, &["users"], query, &args.paging, ctx.format).await?;
    if ctx.format == OutputFormat::Json {
        return output::print_json(&listing.to_json());
    }
    let users = listing.items.iter().map(user_from_json).collect::<Result<Vec<_>, _>>()?;
    output::write_stdout(&users_table(&users))?;
    listing.hint_more(ctx.format);
    Ok(())
}

fn users_table(users: &[User]) -> String {
    if users.is_empty() {
        return "No users found.\n".to_owned();
    }
    let mut table = Table::new(vec!["UPN", "DISPLAY NAME", "MFA STATE", "METHODS", "ENABLED"]);
    for user in users {
        table.push(vec![
            user.upn.clone(),
            user.display_name.clone(),
            user.per_user_mfa_state.clone(),
            methods_text(user),
            yes_no(user.account_enabled),
        ]);
    }
    table.render()
}

fn yes_no(flag: bool) -> String {
    if flag { "yes" } else { "no" }.to_owned()
}

async fn show(user: &str, ctx: &Context) -> Result<(), CliError> {
    let user = parse_user_args(&[user.to_owned()])?.remove(0);
    let api = ctx.open_api()?;
    let body = api.get(&["users", user.as_str()], &[]).await?;
    if ctx.format == OutputFormat::Json {
        return output::print_json(&body);
    }
    output::write_stdout(&user_details(&user_from_json(&body)?))
}

fn user_details(user: &User) -> String {
    let roles = if user.roles.is_empty() { "-".to_owned() } else { user.roles.join(", ") };
    let fields = [
        ("UPN", user.upn.clone()),
        ("Display name", user.display_name.clone()),
        ("Id", user.id.clone()),
        ("Account enabled", yes_no(user.account_enabled)),
        ("MFA state", user.per_user_mfa_state.clone()),
        ("Methods", methods_text(user)),
        ("Roles", roles),
        ("Created", user.created_at.clone()),
    ];
    fields.iter().map(|(name, value)| format!("{:<16} {}\n", format!("{name}:"), printable(value))).collect()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewUser<'a> {
    upn: &'a str,
    display_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<&'a Password>,
}

async fn add(args: AddArgs, ctx: &Context) -> Result<(), CliError> {
    let upn = Upn::parse(args.upn.trim()).map_err(|e| CliError::bad_input(e.to_string()))?;
    let display_name = args.display_name.trim();
    if display_name.is_empty() {
        return Err(CliError::bad_input("--display-name must not be empty"));
    }
    let password = args.password_file.as_deref().map(read_password_file).transpose()?;
    let body = NewUser { upn: upn.as_str(), display_name, password: password.as_ref() };
    let api = ctx.open_api()?;
    let created = api.post(&["users"], &body).await?;
    if ctx.format == OutputFormat::Json {
        return output::print_json(&created);
    }
    let user = user_from_json(&created)?;
    output::write_stdout(&format!("Created user {} ({}).\n", printable(&user.upn), printable(&user.id)))
}

/// The body of `PATCH /users/{user}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AccountPatch<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    account_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<&'a Password>,
}

impl AccountChange {
    fn account_enabled(&self) -> Option<bool> {
        match (self.disable, self.enable) {
            (true, _) => Some(false),
            (_, true) => Some(true),
            _ => None,
        }
    }
}

async fn update(args: UpdateArgs, ctx: &Context) -> Result<(), CliError> {
    let user = parse_user_args(&[args.user])?.remove(0);
    let password = args.change.password_file.as_deref().map(read_password_file).transpose()?;
    let account_enabled = args.change.account_enabled();
    let body = AccountPatch { account_enabled, password: password.as_ref() };
    let api = ctx.open_api()?;
    let updated = api.patch(&["users", user.as_str()], &body).await?;
    if ctx.format == OutputFormat::Json {
        return output::print_json(&updated);
    }
    let updated = user_from_json(&updated)?;
    output::write_stdout(&update_summary(&updated.upn, account_enabled, password.is_some()))
}

fn update_summary(upn: &str, account_enabled: Option<bool>, password: bool) -> String {
    let upn = printable(upn);
    let mut out = String::new();
    match account_enabled {
        Some(false) => out.push_str(&format!(
            "Disabled the account of {upn}: its sessions, API tokens and remembered devices ended.\n"
        )),
        Some(true) => out.push_str(&format!("Enabled the account of {upn}.\n")),
        None => {}
    }
    if password {
        out.push_str(&format!("Set a new password for {upn}: its remembered devices ended.\n"));
    }
    out
}

async fn delete(users: &[String], ctx: &Context) -> Result<(), CliError> {
    let users = parse_user_args(users)?;
    let api = ctx.open_api()?;
    let mut deleted = Vec::new();
    let mut failed = Vec::new();
    for user in &users {
        match api.delete(&["users", user.as_str()]).await {
            Ok(()) => {
                if ctx.format == OutputFormat::Text {
                    output::write_stdout(&format!("Deleted {}.\n", user.as_str()))?;
                }
                deleted.push(user.as_str());
            }
            Err(e) if is_per_user(&e) => {
                eprintln!("error: {}: {e}", user.as_str());
                failed.push((user.as_str(), e));
            }
            Err(e) => return Err(e),
        }
    }
    if ctx.format == OutputFormat::Json {
        let failures: Vec<Value> =
            failed.iter().map(|(user, e)| json!({"user": user, "message": e.to_string()})).collect();
        output::print_json(&json!({"deleted": deleted, "failed": failures}))?;
    }
    per_user_outcome(&failed, users.len(), "deleted")
}

/// Errors about one user (it does not exist, or may not be touched) let a multi-user
/// command go on with the next user; any other error stops it.
pub fn is_per_user(error: &CliError) -> bool {
    matches!(error.kind(), Failure::NotFound | Failure::Forbidden)
}

/// The result of a command that handled users one by one: the first failure's exit code.
pub fn per_user_outcome(failed: &[(&str, CliError)], total: usize, verb: &str) -> Result<(), CliError> {
    match failed.first() {
        None => Ok(()),
        Some((_, first)) => {
            Err(CliError::new(first.kind(), format!("{} of {total} user(s) could not be {verb}", failed.len())))
        }
    }
}

/// Parses positional user arguments (UPNs or ids) as the API takes them; every bad one is named.
pub fn parse_user_args(args: &[String]) -> Result<Vec<String>, CliError> {
    let checked = |a: &String| UserRef::parse(a).map(|_| a.trim().to_owned()).map_err(|e| e.to_string());
    let (good, bad): (Vec<_>, Vec<_>) = args.iter().map(checked).partition(Result::is_ok);
    if bad.is_empty() {
        return Ok(good.into_iter().filter_map(Result::ok).collect());
    }
    let messages: Vec<String> = bad.into_iter().filter_map(Result::err).collect();
    Err(CliError::bad_input(messages.join("\n")))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImportBody<'a> {
    users: Vec<NewUser<'a>>,
    dry_run: bool,
}

async fn import(args: ImportArgs, ctx: &Context) -> Result<(), CliError> {
    let data = csv_input::read_file(&args.file)?;
    let rows = csv_input::parse_import(&data).map_err(|e| csv_input::file_error(&args.file, &e))?;
    let body = import_body(&rows, args.dry_run);
    let api = ctx.open_api()?;
    let request = BulkRequest {
        path: &["users", "import"],
        body: &body,
        rows: rows.len(),
        dry_run: args.dry_run,
        lines: Some(rows.iter().map(|r| r.line).collect()),
        sent: rows.iter().map(|r| r.upn.to_string()).collect(),
        show_change: false,
    };
    bulk::send(&api, request, ctx.format).await
}

fn import_body(rows: &[ImportRow], dry_run: bool) -> ImportBody<'_> {
    ImportBody {
        users: rows
            .iter()
            .map(|row| NewUser {
                upn: row.upn.as_str(),
                display_name: &row.display_name,
                password: row.password.as_ref(),
            })
            .collect(),
        dry_run,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_body_has_the_contract_shape() {
        let rows = csv_input::parse_import(b"upn,displayName,password\na@x.com,A,pw1\nb@x.com,B,\n").unwrap();
        let value = serde_json::to_value(import_body(&rows, true)).unwrap();
        assert_eq!(
            value,
            json!({"users": [
                {"upn": "a@x.com", "displayName": "A", "password": "pw1"},
                {"upn": "b@x.com", "displayName": "B"}
            ], "dryRun": true})
        );
    }

    #[test]
    fn user_args_report_every_bad_one() {
        let args = vec!["a@x.com".to_owned(), "bob".to_owned(), "c@".to_owned()];
        let error = parse_user_args(&args).unwrap_err();
        assert_eq!(error.exit_code(), 6);
        let message = error.to_string();
        assert!(message.contains("'bob'") && message.contains("'c@'"), "{message}");
        assert_eq!(parse_user_args(&args[..1]).unwrap().len(), 1);
    }

    #[test]
    fn users_render_as_a_table() {
        let user = user_from_json(&json!({
            "id": "1", "upn": "a@x.com", "displayName": "A", "accountEnabled": true,
            "perUserMfaState": "enforced", "methods": ["totp"], "roles": [], "createdAt": "2025-01-01T00:00:00Z"
        }))
        .unwrap();
        let text = users_table(&[user]);
        assert!(text.lines().nth(1).unwrap().contains("enforced   totp     yes"), "{text}");
        assert_eq!(users_table(&[]), "No users found.\n");
    }

    #[test]
    fn account_patches_hold_only_what_was_given() {
        let change = |disable, enable| AccountChange { disable, enable, password_file: None };
        let password = Password::new("new password 1".into()).unwrap();
        let body = |c: &AccountChange, p: Option<&Password>| {
            serde_json::to_value(AccountPatch { account_enabled: c.account_enabled(), password: p }).unwrap()
        };
        assert_eq!(body(&change(true, false), None), json!({"accountEnabled": false}));
        assert_eq!(
            body(&change(false, true), Some(&password)),
            json!({"accountEnabled": true, "password": "new password 1"})
        );
        assert_eq!(body(&change(false, false), Some(&password)), json!({"password": "new password 1"}));
        let text = update_summary("a@x.com", Some(false), true);
        assert!(
            text.starts_with("Disabled the account of a@x.com: its sessions") && text.contains("Set a new password")
        );
        assert_eq!(update_summary("a@x.com", Some(true), false), "Enabled the account of a@x.com.\n");
    }

    #[test]
    fn per_user_failures_keep_the_first_code() {
        let failed = vec![("a", CliError::new(Failure::NotFound, "x")), ("b", CliError::new(Failure::Forbidden, "y"))];
        let error = per_user_outcome(&failed, 3, "deleted").unwrap_err();
        assert_eq!(error.exit_code(), 5);
        assert_eq!(error.to_string(), "2 of 3 user(s) could not be deleted");
        assert!(per_user_outcome(&[], 3, "deleted").is_ok());
    }
}
