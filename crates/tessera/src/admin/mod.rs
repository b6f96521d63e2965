//! The admin commands of the `tessera` CLI: a client of the admin REST API (`docs/api.md`).
//!
//! `main.rs` flattens [`AdminCommand`] into its top-level subcommands, flattens
//! [`GlobalOpts`] into its top-level arguments and calls [`run`].

mod bulk;
mod client;
mod config;
mod credentials;
mod csv_input;
mod error;
mod login;
mod logs;
mod mfa;
mod output;
mod paging;
mod sessions;
mod settings;
mod users;
mod values;

use std::path::PathBuf;
use std::process::ExitCode;

use time::OffsetDateTime;

pub use error::{EXIT_CODES_HELP, exit};
pub use output::OutputFormat;

use client::Api;
use error::{CliError, exit_codes_text};

/// Admin commands: sign in to a server, then manage its users, their MFA, the logs and the
/// MFA service settings of the tenant.
#[derive(clap::Subcommand, Debug)]
pub enum AdminCommand {
    /// Sign in to a Tessera server as an administrator and store the session.
    #[command(after_long_help = LOGIN_HELP)]
    Login(login::LoginArgs),
    /// Forget the stored session.
    #[command(after_long_help = EXIT_CODES_HELP)]
    Logout,
    /// List, show, create, update, delete and import users; their sessions, app passwords and
    /// remembered devices.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Per-user MFA: status, Enable, Enforce, Disable, apply a CSV, manage user settings.
    #[command(subcommand)]
    Mfa(mfa::MfaCommand),
    /// Read the audit log (newest first).
    #[command(after_long_help = EXIT_CODES_HELP)]
    Audit(logs::AuditArgs),
    /// Read the sign-in log (newest first).
    #[command(after_long_help = EXIT_CODES_HELP)]
    Signins(logs::SigninArgs),
    /// Tenant service settings.
    #[command(subcommand)]
    Settings(settings::SettingsCommand),
}

const LOGIN_HELP: &str = concat!(
    "\
The session is stored in credentials.json (mode 0600) in the config directory:
--config-dir / $TESSERA_CONFIG_DIR, else $XDG_CONFIG_HOME/tessera, else ~/.config/tessera.
Every other admin command uses it; the server URL comes from --server / $TESSERA_SERVER.

The password comes from --password-file, else $TESSERA_PASSWORD, else a prompt without echo
when stdin is a terminal. An account with MFA needs --otp CODE: the current code of your
authenticator app, or one of your recovery codes. Each code is accepted once, on any server
of the deployment; a wrong or used code is exit code 3, and after a few wrong ones the
account is locked for a while (exit code 9: too many attempts, try again later).

",
    exit_codes_text!()
);

/// Options of the admin commands, valid on every subcommand.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct GlobalOpts {
    /// Output format: human-readable text, or the server's JSON.
    #[arg(long, global = true, value_enum, value_name = "FORMAT", default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Server URL, e.g. http://127.0.0.1:8080. Needed by `login`; for other commands it
    /// must match the server of the stored session.
    #[arg(long, global = true, env = "TESSERA_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// Directory of credentials.json (default $XDG_CONFIG_HOME/tessera or ~/.config/tessera).
    #[arg(long, global = true, env = "TESSERA_CONFIG_DIR", value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
}

/// What every command needs besides its own arguments.
pub struct Context {
    pub config_dir: PathBuf,
    pub format: OutputFormat,
    pub now: OffsetDateTime,
    server_override: Option<String>,
}

impl Context {
    fn new(global: &GlobalOpts) -> Result<Context, CliError> {
        Ok(Context {
            config_dir: config::config_dir(global.config_dir.as_deref())?,
            format: global.output,
            now: OffsetDateTime::now_utc(),
            server_override: global.server.clone(),
        })
    }

    /// The stored session; called after local input checks so that bad input is reported
    /// even when not logged in.
    pub fn open_api(&self) -> Result<Api, CliError> {
        Api::open(&self.config_dir, self.server_override.as_deref(), self.now)
    }
}

/// Runs one admin command; errors go to stderr, the result is the exit code (see [`exit`]).
pub async fn run(cmd: AdminCommand, global: &GlobalOpts) -> ExitCode {
    match execute(cmd, global).await {
        Ok(()) => ExitCode::from(exit::OK),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

async fn execute(cmd: AdminCommand, global: &GlobalOpts) -> Result<(), CliError> {
    let ctx = Context::new(global)?;
    match cmd {
        AdminCommand::Login(args) => login::login(args, global, &ctx).await,
        AdminCommand::Logout => login::logout(&ctx),
        AdminCommand::Users(cmd) => users::run(cmd, &ctx).await,
        AdminCommand::Mfa(cmd) => mfa::run(cmd, &ctx).await,
        AdminCommand::Audit(args) => logs::audit(args, &ctx).await,
        AdminCommand::Signins(args) => logs::signins(args, &ctx).await,
        AdminCommand::Settings(cmd) => settings::run(cmd, &ctx).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    /// Stand-in for main.rs: the admin commands flattened next to other subcommands.
    #[derive(Parser, Debug)]
    #[command(name = "tessera")]
    struct Cli {
        #[command(flatten)]
        global: GlobalOpts,
        #[command(subcommand)]
        command: Top,
    }

    #[derive(clap::Subcommand, Debug)]
    enum Top {
        Serve,
        #[command(flatten)]
        Admin(AdminCommand),
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("tessera").chain(args.iter().copied()))
    }

    #[test]
    fn command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_work_after_the_subcommand() {
        let cli = parse(&["users", "list", "--output", "json", "--config-dir", "/tmp/x"]).unwrap();
        assert_eq!(cli.global.output, OutputFormat::Json);
        assert_eq!(cli.global.config_dir, Some(PathBuf::from("/tmp/x")));
    }

    #[test]
    fn login_takes_server_tenant_and_upn() {
        let cli = parse(&[
            "login",
            "--server",
            "http://127.0.0.1:8080",
            "--tenant",
            "contoso",
            "--upn",
            "admin@contoso.com",
            "--otp",
            "123456",
        ])
        .unwrap();
        assert_eq!(cli.global.server.as_deref(), Some("http://127.0.0.1:8080"));
        assert!(matches!(cli.command, Top::Admin(AdminCommand::Login(_))));
    }

    #[test]
    fn mfa_reset_needs_an_option() {
        let error = parse(&["mfa", "reset", "a@x.com"]).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(parse(&["mfa", "reset", "a@x.com", "--delete-app-passwords"]).is_ok());
        assert!(parse(&["mfa", "reset", "--csv", "f.csv", "--require-reregistration", "--dry-run"]).is_ok());
    }

    #[test]
    fn mfa_targets_come_from_args_or_csv_not_both() {
        assert!(parse(&["mfa", "enable", "a@x.com", "b@x.com"]).is_ok());
        assert!(parse(&["mfa", "enforce", "--csv", "f.csv", "--dry-run"]).is_ok());
        assert!(parse(&["mfa", "disable"]).is_err());
        assert!(parse(&["mfa", "disable", "a@x.com", "--csv", "f.csv"]).is_err());
        assert!(parse(&["mfa", "apply", "--csv", "f.csv"]).is_ok());
        assert!(parse(&["mfa", "apply"]).is_err());
    }

    #[test]
    fn settings_set_needs_a_setting_and_checks_values() {
        assert!(parse(&["settings", "mfa", "set"]).is_err());
        assert!(parse(&["settings", "mfa", "show"]).is_ok());
        assert!(parse(&["settings", "mfa", "set", "--allow-app-passwords", "true"]).is_ok());
        assert!(parse(&["settings", "mfa", "set", "--allow-app-passwords", "maybe"]).is_err());
        assert!(parse(&["settings", "mfa", "set", "--allowed-methods", "totp,webauthn"]).is_ok());
        assert!(parse(&["settings", "mfa", "set", "--allowed-methods", "totp,pigeon"]).is_err());
        // Out of range is the server's answer (exit code 6), not a usage error.
        assert!(parse(&["settings", "mfa", "set", "--remember-device-days", "366"]).is_ok());
        assert!(parse(&["settings", "mfa", "set", "--remember-device-days", "many"]).is_err());
        assert!(parse(&["settings", "mfa", "set", "--trusted-ip", "10.0.0.0/8", "--clear-trusted-ips"]).is_err());
        assert!(parse(&["settings", "mfa", "set", "--trusted-ip", "10.0.0.0/8", "--trusted-ip", "::1/128"]).is_ok());
    }

    #[test]
    fn users_update_needs_a_change_and_one_direction() {
        assert!(parse(&["users", "update", "a@x.com"]).is_err());
        assert!(parse(&["users", "update", "a@x.com", "--disable"]).is_ok());
        assert!(parse(&["users", "update", "a@x.com", "--enable", "--password-file", "pw"]).is_ok());
        assert!(parse(&["users", "update", "a@x.com", "--password-file", "pw"]).is_ok());
        assert_eq!(parse(&["users", "update", "a@x.com", "--disable", "--enable"]).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn app_passwords_and_devices_take_a_user_and_ids() {
        assert!(parse(&["users", "app-passwords", "list", "a@x.com"]).is_ok());
        assert!(parse(&["users", "app-passwords", "delete", "a@x.com"]).is_err());
        assert!(parse(&["users", "app-passwords", "delete", "a@x.com", "id1", "id2"]).is_ok());
        assert!(parse(&["users", "remembered-devices", "list", "a@x.com"]).is_ok());
        assert!(parse(&["users", "devices", "forget", "a@x.com", "id1"]).is_ok());
        assert!(parse(&["users", "devices", "forget", "a@x.com"]).is_err());
        assert!(parse(&["settings", "mfa", "set", "--allow-remember-devices", "false"]).is_ok());
        assert!(parse(&["settings", "mfa", "set", "--allow-remember-devices", "sometimes"]).is_err());
    }

    #[test]
    fn list_paging_flags() {
        assert!(parse(&["users", "list", "--state", "enforced", "--search", "a", "--limit", "500", "--all"]).is_ok());
        assert!(parse(&["users", "list", "--limit", "0"]).is_err());
        assert!(parse(&["users", "list", "--all", "--cursor", "x"]).is_err());
        assert!(parse(&["audit", "--since", "2025-01-01T00:00:00Z", "--actor", "a@x.com", "--limit", "10"]).is_ok());
        assert!(parse(&["signins", "--user", "a@x.com", "--result", "failure"]).is_ok());
        assert!(parse(&["signins", "--actor", "a@x.com", "--action", "success"]).is_ok());
        assert!(parse(&["signins", "--result", "maybe"]).is_err());
    }

    #[test]
    fn help_mentions_exit_codes() {
        let mut cmd = Cli::command();
        let help = cmd
            .find_subcommand_mut("mfa")
            .and_then(|m| m.find_subcommand_mut("apply"))
            .map(|c| c.render_long_help().to_string())
            .unwrap_or_default();
        assert!(help.contains("Exit codes:") && help.contains("Username,MFA Status"), "{help}");
    }
}
