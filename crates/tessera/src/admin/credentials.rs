//! `tessera users app-passwords list|delete` and `tessera users remembered-devices
//! list|forget` (alias `devices`): a user's app passwords and remembered devices.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use tessera_web::wire::{AppPassword, AppPasswordList, RememberedDevice, RememberedDeviceList};

use super::Context;
use super::error::{CliError, exit_codes_text};
use super::output::{self, OutputFormat, Table};
use super::sessions::{dash, short_time};
use super::users::{is_per_user, parse_user_args};
use super::values::{looks_like_uuid, printable};

#[derive(clap::Subcommand, Debug)]
pub enum AppPasswordsCommand {
    /// List a user's app passwords: name, id, created, last used (never the secrets).
    #[command(after_long_help = APP_PASSWORDS_HELP)]
    List {
        /// UPN or user id.
        user: String,
    },
    /// Delete app passwords of a user by id (each one separately).
    #[command(after_long_help = APP_PASSWORDS_HELP)]
    Delete {
        /// UPN or user id.
        user: String,
        /// Ids of the app passwords, as `app-passwords list` shows them.
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum DevicesCommand {
    /// List a user's remembered devices that still skip the MFA prompt.
    #[command(after_long_help = DEVICES_HELP)]
    List {
        /// UPN or user id.
        user: String,
    },
    /// Forget remembered devices of a user by id (each one separately): their next sign-in
    /// asks for the second factor again.
    #[command(after_long_help = DEVICES_HELP)]
    Forget {
        /// UPN or user id.
        user: String,
        /// Ids of the devices, as `remembered-devices list` shows them.
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
    },
}

pub const APP_PASSWORDS_HELP: &str = concat!(
    "\
App passwords let legacy clients (mail clients, printers, LDAP) sign in when MFA is
enforced. Users create them themselves when the tenant allows it (`tessera settings mfa set
--allow-app-passwords true`); the secret is shown to them once and never stored, so
administrators only see names and times. Deleting one stops the clients that use it at their
next sign-in; it is audited as user.appPassword.delete. To delete all of a user's app
passwords at once: `tessera mfa reset USER --delete-app-passwords`.

Listing needs a role that reads the directory; deleting needs the right to manage the user's
methods (Helpdesk and Authentication Administrators: users without admin roles only).
--output json prints the server's answer (list) or {\"deleted\": [...], \"failed\": [...]}.

",
    exit_codes_text!()
);

pub const DEVICES_HELP: &str = concat!(
    "\
A remembered device is a browser where the user ticked \"Don't ask again for N days\" at the
MFA prompt (when the tenant allows it: `tessera settings mfa set --allow-remember-devices
true`); until it expires, sign-ins from it skip the second factor. The list shows when each
was remembered, last used and expires, and the IP address and user agent it was remembered
from. Forgetting one is audited as user.rememberedDevice.delete. To forget all of a user's
devices at once: `tessera mfa reset USER --revoke-remembered-devices`.

Listing needs a role that reads the sign-in log (not Helpdesk); forgetting needs the right to
manage the user's methods (Helpdesk and Authentication Administrators: users without admin
roles only). --output json prints the server's answer (list) or {\"forgotten\": [...],
\"failed\": [...]}.

",
    exit_codes_text!()
);

/// What a command family calls its items and its API path.
struct Kind {
    /// Path segment under `/users/{user}/`.
    segment: &'static str,
    /// "app password(s)", "remembered device(s)".
    singular: &'static str,
    plural: &'static str,
    /// "Deleted", "Forgot"; the JSON key of the done ids; "deleted", "forgotten".
    done: &'static str,
    key: &'static str,
}

const APP_PASSWORDS: Kind = Kind {
    segment: "appPasswords",
    singular: "app password",
    plural: "app passwords",
    done: "Deleted",
    key: "deleted",
};

const DEVICES: Kind = Kind {
    segment: "rememberedDevices",
    singular: "remembered device",
    plural: "remembered devices",
    done: "Forgot",
    key: "forgotten",
};

pub async fn app_passwords(cmd: AppPasswordsCommand, ctx: &Context) -> Result<(), CliError> {
    match cmd {
        AppPasswordsCommand::List { user } => {
            let Some((user, list)) = list::<AppPasswordList>(&user, &APP_PASSWORDS, ctx).await? else {
                return Ok(());
            };
            output::write_stdout(&app_passwords_table(&list.items, &user))
        }
        AppPasswordsCommand::Delete { user, ids } => delete(&user, &ids, &APP_PASSWORDS, ctx).await,
    }
}

pub async fn devices(cmd: DevicesCommand, ctx: &Context) -> Result<(), CliError> {
    match cmd {
        DevicesCommand::List { user } => {
            let Some((user, list)) = list::<RememberedDeviceList>(&user, &DEVICES, ctx).await? else {
                return Ok(());
            };
            output::write_stdout(&devices_table(&list.items, &user))
        }
        DevicesCommand::Forget { user, ids } => delete(&user, &ids, &DEVICES, ctx).await,
    }
}

/// Fetches the list; prints it and returns `None` for `--output json`, else the list.
async fn list<L: for<'de> Deserialize<'de>>(
    user: &str,
    kind: &Kind,
    ctx: &Context,
) -> Result<Option<(String, L)>, CliError> {
    let user = parse_user_args(&[user.to_owned()])?.remove(0);
    let api = ctx.open_api()?;
    let body = api.get(&["users", user.as_str(), kind.segment], &[]).await?;
    if ctx.format == OutputFormat::Json {
        output::print_json(&body)?;
        return Ok(None);
    }
    let listing = L::deserialize(&body)
        .map_err(|e| CliError::unexpected(format!("the server's list of {} is malformed: {e}", kind.plural)))?;
    Ok(Some((user.as_str().to_owned(), listing)))
}

fn app_passwords_table(items: &[AppPassword], user: &str) -> String {
    if items.is_empty() {
        return format!("No app passwords for {}.\n", printable(user));
    }
    let mut table = Table::new(["ID", "NAME", "CREATED", "LAST USED"]);
    for a in items {
        table.push(vec![
            a.id.clone(),
            a.name.clone(),
            short_time(&a.created_at),
            a.last_used_at.as_deref().map_or_else(|| "never".to_owned(), short_time),
        ]);
    }
    table.render()
}

fn devices_table(items: &[RememberedDevice], user: &str) -> String {
    if items.is_empty() {
        return format!("No remembered devices for {}.\n", printable(user));
    }
    let mut table = Table::new(["ID", "REMEMBERED", "LAST USED", "EXPIRES", "IP", "USER AGENT"]);
    for d in items {
        table.push(vec![
            d.id.clone(),
            short_time(&d.created_at),
            d.last_used_at.as_deref().map_or_else(|| "never".to_owned(), short_time),
            short_time(&d.expires_at),
            dash(d.source_ip.as_deref()),
            dash(d.user_agent.as_deref()),
        ]);
    }
    table.render()
}

/// Deletes the items one request each; an item (or user) that cannot be found or touched is
/// reported and the others are still done. Exit code: the first failure's.
async fn delete(user: &str, ids: &[String], kind: &Kind, ctx: &Context) -> Result<(), CliError> {
    let user = parse_user_args(&[user.to_owned()])?.remove(0);
    let ids = parse_ids(ids, kind)?;
    let api = ctx.open_api()?;
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for id in &ids {
        match api.delete(&["users", user.as_str(), kind.segment, id]).await {
            Ok(()) => {
                if ctx.format == OutputFormat::Text {
                    output::write_stdout(&format!("{} {} {id} of {}.\n", kind.done, kind.singular, user.as_str()))?;
                }
                done.push(id.as_str());
            }
            Err(e) if is_per_user(&e) => {
                eprintln!("error: {} {id}: {e}", kind.singular);
                failed.push((id.as_str(), e));
            }
            Err(e) => return Err(e),
        }
    }
    if ctx.format == OutputFormat::Json {
        let failures: Vec<Value> = failed.iter().map(|(id, e)| json!({"id": id, "message": e.to_string()})).collect();
        let mut report = Map::new();
        report.insert("user".into(), json!(user.as_str()));
        report.insert(kind.key.into(), json!(done));
        report.insert("failed".into(), json!(failures));
        output::print_json(&Value::Object(report))?;
    }
    per_item_outcome(&failed, ids.len(), kind)
}

/// The first failure's exit code, with how many of how many failed.
fn per_item_outcome(failed: &[(&str, CliError)], total: usize, kind: &Kind) -> Result<(), CliError> {
    match failed.first() {
        None => Ok(()),
        Some((_, first)) => Err(CliError::new(
            first.kind(),
            format!("{} of {total} {}(s) could not be {}", failed.len(), kind.singular, kind.key),
        )),
    }
}

/// Ids as `list` shows them (UUIDs); every malformed one is named, and nothing is sent.
fn parse_ids(ids: &[String], kind: &Kind) -> Result<Vec<String>, CliError> {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for id in ids {
        let id = id.trim();
        if looks_like_uuid(id) {
            good.push(id.to_ascii_lowercase());
        } else {
            bad.push(format!(
                "'{}' is not the id of {} {}: use an ID from the list command",
                printable(id),
                if kind.singular.starts_with('a') { "an" } else { "a" },
                kind.singular
            ));
        }
    }
    if bad.is_empty() { Ok(good) } else { Err(CliError::bad_input(bad.join("\n"))) }
}

#[cfg(test)]
mod tests {
    use super::super::error::Failure;
    use super::*;

    #[test]
    fn app_passwords_render_as_a_table() {
        let list = AppPasswordList::deserialize(&json!({"items": [
            {"id": "0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b", "name": "Mail on my phone",
             "createdAt": "2025-03-10T09:00:00.5Z", "lastUsedAt": null},
            {"id": "x", "name": "Printer", "createdAt": "2025-03-11T09:00:00Z", "lastUsedAt": "2025-03-12T10:00:00Z"}
        ]}))
        .unwrap();
        let text = app_passwords_table(&list.items, "a@x.com");
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("ID") && lines[0].ends_with("LAST USED"), "{text}");
        assert!(lines[1].contains("Mail on my phone  2025-03-10T09:00:00Z  never"), "{text}");
        assert!(lines[2].ends_with("2025-03-11T09:00:00Z  2025-03-12T10:00:00Z"), "{text}");
        assert_eq!(app_passwords_table(&[], "a@x.com"), "No app passwords for a@x.com.\n");
    }

    #[test]
    fn devices_render_as_a_table() {
        let list = RememberedDeviceList::deserialize(&json!({"items": [{
            "id": "d1", "createdAt": "2025-03-10T09:00:00Z", "lastUsedAt": null,
            "expiresAt": "2025-03-24T09:00:00Z", "sourceIp": "192.0.2.1", "userAgent": "Mozilla/5.0 (X11)"
        }]}))
        .unwrap();
        let text = devices_table(&list.items, "a@x.com");
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("ID") && lines[0].ends_with("USER AGENT"), "{text}");
        assert!(lines[1].contains("never") && lines[1].ends_with("192.0.2.1  Mozilla/5.0 (X11)"), "{text}");
        assert_eq!(devices_table(&[], "a@x.com"), "No remembered devices for a@x.com.\n");
    }

    #[test]
    fn ids_are_checked_before_anything_is_sent() {
        let ids = vec!["0190A5B2-7C3D-7E4F-8A9B-0C1D2E3F4A5B".to_owned()];
        assert_eq!(parse_ids(&ids, &APP_PASSWORDS).unwrap(), ["0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b"]);
        let bad = vec!["nope".to_owned(), ids[0].clone(), "1-2".to_owned()];
        let error = parse_ids(&bad, &DEVICES).unwrap_err();
        assert_eq!(error.exit_code(), 6);
        let message = error.to_string();
        assert!(
            message.contains("'nope' is not the id of a remembered device") && message.contains("'1-2'"),
            "{message}"
        );
        assert!(parse_ids(&["x".into()], &APP_PASSWORDS).unwrap_err().to_string().contains("an app password"));
    }

    #[test]
    fn partial_failures_name_the_items() {
        let failed = vec![("a", CliError::new(Failure::NotFound, "x"))];
        let error = per_item_outcome(&failed, 2, &DEVICES).unwrap_err();
        assert_eq!(
            (error.exit_code(), error.to_string()),
            (5, "1 of 2 remembered device(s) could not be forgotten".into())
        );
        assert!(per_item_outcome(&[], 2, &APP_PASSWORDS).is_ok());
    }
}
