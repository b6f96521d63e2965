//! `tessera users sessions USER` and `tessera users revoke-sessions USER...`: a user's
//! sessions, and the administrator's "revoke all sessions".

use serde::Deserialize;
use serde_json::{Value, json};
use tessera_web::wire::{Revoked, Session, SessionList};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Context;
use super::error::{CliError, exit_codes_text};
use super::logs::format_time;
use super::output::{self, OutputFormat, Table};
use super::users::{is_per_user, parse_user_args, per_user_outcome};
use super::values::printable;

pub const SESSIONS_HELP: &str = concat!(
    "\
Lists the user's active sign-in sessions (browser sessions): when each started, was last
used and expires, its stage (signed_in; mfa or register: the password was accepted and the
second factor or a registration is due), and the IP address and user agent it started
from. API tokens (from `tessera login` or POST /api/v1/auth/token) are not listed, but
`tessera users revoke-sessions` ends them too. --output json prints the server's answer.

",
    exit_codes_text!()
);

pub const REVOKE_HELP: &str = concat!(
    "\
\"Revoke all sessions\": every browser session and every API token of each user ends at
once (the user must sign in again; `tessera` commands run with such a token fail with exit
code 3). Each user is one request, audited as user.sessions.revoke; when a user cannot be
found or may not be managed by your role, the others are still revoked and the exit code is
the first failure's. Helpdesk and Authentication Administrators may revoke the sessions of
users without admin roles only.

",
    exit_codes_text!()
);

pub async fn list(user: &str, ctx: &Context) -> Result<(), CliError> {
    let user = parse_user_args(&[user.to_owned()])?.remove(0);
    let api = ctx.open_api()?;
    let body = api.get(&["users", user.as_str(), "sessions"], &[]).await?;
    if ctx.format == OutputFormat::Json {
        return output::print_json(&body);
    }
    let list = SessionList::deserialize(&body)
        .map_err(|e| CliError::unexpected(format!("the server's session list is malformed: {e}")))?;
    output::write_stdout(&sessions_table(&list.items, user.as_str()))
}

fn sessions_table(sessions: &[Session], user: &str) -> String {
    if sessions.is_empty() {
        return format!("No active sessions for {} (API tokens are not listed).\n", printable(user));
    }
    let mut table = Table::new(["ID", "CREATED", "LAST SEEN", "EXPIRES", "STAGE", "IP", "USER AGENT"]);
    for s in sessions {
        table.push(vec![
            s.id.clone(),
            short_time(&s.created_at),
            short_time(&s.last_seen_at),
            short_time(&s.expires_at),
            s.stage.clone(),
            dash(s.source_ip.as_deref()),
            dash(s.user_agent.as_deref()),
        ]);
    }
    table.render()
}

/// An RFC 3339 time of the server, to the second; anything else as it came (`-` if empty).
pub fn short_time(text: &str) -> String {
    OffsetDateTime::parse(text, &Rfc3339).map(format_time).unwrap_or_else(|_| dash(Some(text)))
}

pub fn dash(value: Option<&str>) -> String {
    value.filter(|v| !v.is_empty()).unwrap_or("-").to_owned()
}

pub async fn revoke(users: &[String], ctx: &Context) -> Result<(), CliError> {
    let users = parse_user_args(users)?;
    let api = ctx.open_api()?;
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for user in &users {
        match api.post(&["users", user.as_str(), "sessions", "revoke"], &json!({})).await {
            Ok(body) => {
                let revoked = Revoked::deserialize(&body)
                    .map_err(|e| CliError::unexpected(format!("the server's revoke answer is malformed: {e}")))?
                    .revoked;
                if ctx.format == OutputFormat::Text {
                    output::write_stdout(&revoked_line(user.as_str(), revoked))?;
                }
                done.push(json!({"user": user.as_str(), "revoked": revoked}));
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
        output::print_json(&json!({"results": done, "failed": failures}))?;
    }
    per_user_outcome(&failed, users.len(), "revoked")
}

fn revoked_line(user: &str, revoked: u64) -> String {
    match revoked {
        0 => format!("{user}: no active sessions or API tokens; nothing to end.\n"),
        1 => format!("{user}: ended 1 session or API token.\n"),
        n => format!("{user}: ended {n} sessions and API tokens.\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_render_as_a_table() {
        let list = SessionList::deserialize(&json!({"items": [{
            "id": "abc123def456", "createdAt": "2025-03-10T09:00:00.123456Z",
            "lastSeenAt": "2025-03-10T09:05:00Z", "expiresAt": "2025-03-10T21:00:00Z",
            "stage": "signed_in", "sourceIp": "192.0.2.1", "userAgent": "Mozilla/5.0 (X11)"
        }, {
            "id": "x", "createdAt": "later", "lastSeenAt": "", "expiresAt": "",
            "stage": "mfa", "sourceIp": null
        }]}))
        .unwrap();
        let text = sessions_table(&list.items, "a@x.com");
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("ID") && lines[0].ends_with("USER AGENT"), "{text}");
        assert!(lines[1].contains("2025-03-10T09:00:00Z  2025-03-10T09:05:00Z"), "{text}");
        assert!(lines[1].contains("signed_in") && lines[1].ends_with("192.0.2.1  Mozilla/5.0 (X11)"), "{text}");
        assert!(lines[2].starts_with("x             later                 -"), "{text}");
        assert!(lines[2].contains("mfa ") && lines[2].ends_with(" -"), "{text}");
        assert!(sessions_table(&[], "a@x.com").starts_with("No active sessions for a@x.com"));
    }

    #[test]
    fn revoked_counts_read_well() {
        assert_eq!(revoked_line("a@x.com", 2), "a@x.com: ended 2 sessions and API tokens.\n");
        assert_eq!(revoked_line("a@x.com", 1), "a@x.com: ended 1 session or API token.\n");
        assert!(revoked_line("a@x.com", 0).contains("nothing to end"));
    }
}
