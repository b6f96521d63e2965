//! `tessera login` and `tessera logout`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use reqwest::Url;
use serde::Serialize;
use serde_json::json;
use tessera_core::ids::Upn;
use tessera_web::wire;

use super::client::{self, Answer, ApiError};
use super::config::{self, Credentials};
use super::error::CliError;
use super::logs::format_time;
use super::output::{self, OutputFormat};
use super::values::{AccessToken, Password};
use super::{Context, GlobalOpts};

/// Environment variable holding the password for `tessera login`.
pub const PASSWORD_ENV: &str = "TESSERA_PASSWORD";

#[derive(clap::Args, Debug)]
pub struct LoginArgs {
    /// Tenant slug, e.g. `contoso`.
    #[arg(long, value_name = "SLUG")]
    pub tenant: String,
    /// Your user principal name, e.g. `admin@contoso.com`.
    #[arg(long, value_name = "UPN")]
    pub upn: String,
    /// Read the password from this file (first line; a trailing newline is ignored).
    /// Otherwise $TESSERA_PASSWORD, otherwise a prompt without echo when stdin is a terminal.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// One-time code of your authenticator app (or an unused recovery code), when your
    /// account requires MFA.
    #[arg(long, value_name = "CODE")]
    pub otp: Option<String>,
}

#[derive(Serialize)]
struct TokenRequest<'a> {
    tenant: &'a str,
    upn: &'a str,
    password: &'a Password,
    #[serde(skip_serializing_if = "Option::is_none")]
    otp: Option<&'a str>,
}

pub async fn login(args: LoginArgs, global: &GlobalOpts, ctx: &Context) -> Result<(), CliError> {
    let server_text = global
        .server
        .as_deref()
        .ok_or_else(|| CliError::usage("`tessera login` needs --server URL (or TESSERA_SERVER)"))?;
    let server = client::parse_server(server_text)?;
    let upn = Upn::parse(args.upn.trim()).map_err(|e| CliError::bad_input(format!("--upn {e}")))?;
    let tenant = args.tenant.trim();
    if tenant.is_empty() {
        return Err(CliError::bad_input("--tenant must not be empty"));
    }
    warn_if_cleartext(&server);
    let password = read_login_password(args.password_file.as_deref(), &upn)?;
    let otp = args.otp.as_deref().map(str::trim).filter(|c| !c.is_empty());

    let request = TokenRequest { tenant, upn: upn.as_str(), password: &password, otp };
    let token = request_token(&server, &request).await?;
    let credentials = Credentials {
        server: client::normalize_server(&server),
        tenant: tenant.to_owned(),
        upn: upn.to_string(),
        access_token: AccessToken::new(token.access_token),
        expires_at: ctx.now + time::Duration::seconds(token.expires_in.max(0)),
    };
    config::save(&ctx.config_dir, &credentials)?;
    print_login(&credentials, ctx.format)
}

async fn request_token(server: &Url, body: &TokenRequest<'_>) -> Result<wire::TokenResponse, CliError> {
    let url = client::endpoint(server, &["api", "v1", "auth", "token"])?;
    let request = client::http_client()?.post(url).json(body);
    match client::exchange(request, server).await? {
        Answer::Success(body) => serde_json::from_value(body)
            .map_err(|e| CliError::unexpected(format!("the server's token answer is malformed: {e}"))),
        Answer::Failure(error, _) => Err(login_error(&error, body, server)),
    }
}

fn login_error(error: &ApiError, request: &TokenRequest<'_>, server: &Url) -> CliError {
    let message = match error.code.as_str() {
        "invalid_otp" | "mfa_required" if request.otp.is_some() => {
            "the one-time code was not accepted (wrong, expired, or used already: each code works \
             once): run `tessera login` again with the next code of your authenticator app, or an \
             unused recovery code, as --otp CODE"
                .to_owned()
        }
        "too_many_requests" => client::too_many_attempts(error),
        "mfa_required" => format!(
            "{} needs a second factor: run `tessera login` again with --otp CODE \
             (the code shown by your authenticator app)",
            request.upn
        ),
        "mfa_registration_required" => format!(
            "{} must register an MFA method first: sign in at {server} in a browser to \
             register one, then run `tessera login` again",
            request.upn
        ),
        "account_disabled" => format!(
            "the account {} is disabled: an administrator must enable it first \
             (`tessera users update {} --enable`)",
            request.upn, request.upn
        ),
        "invalid_credentials" => format!(
            "invalid credentials for {} in tenant {} (wrong password or one-time code)",
            request.upn, request.tenant
        ),
        _ => error.describe(),
    };
    CliError::new(error.kind(), message)
}

fn print_login(credentials: &Credentials, format: OutputFormat) -> Result<(), CliError> {
    let expires = format_time(credentials.expires_at);
    match format {
        OutputFormat::Json => output::print_json(&json!({
            "server": credentials.server,
            "tenant": credentials.tenant,
            "upn": credentials.upn,
            "expiresAt": expires,
        })),
        OutputFormat::Text => output::write_stdout(&format!(
            "Logged in to {} as {} (tenant {}); the session expires at {expires}.\n",
            credentials.server, credentials.upn, credentials.tenant
        )),
    }
}

pub fn logout(ctx: &Context) -> Result<(), CliError> {
    let removed = config::remove(&ctx.config_dir)?;
    match ctx.format {
        OutputFormat::Json => output::print_json(&json!({ "loggedOut": removed })),
        OutputFormat::Text if removed => output::write_stdout("Logged out.\n"),
        OutputFormat::Text => output::write_stdout("Not logged in.\n"),
    }
}

/// The login password: `--password-file`, else $TESSERA_PASSWORD, else a prompt.
fn read_login_password(file: Option<&Path>, upn: &Upn) -> Result<Password, CliError> {
    if let Some(path) = file {
        return read_password_file(path);
    }
    if let Ok(text) = std::env::var(PASSWORD_ENV)
        && let Some(password) = Password::new(text)
    {
        return Ok(password);
    }
    if std::io::stdin().is_terminal() {
        let text = rpassword::prompt_password(format!("Password for {upn}: "))
            .map_err(|e| CliError::unexpected(format!("cannot read the password: {e}")))?;
        return Password::new(text).ok_or_else(|| CliError::bad_input("the password is empty"));
    }
    Err(CliError::usage(format!(
        "no password given: use --password-file FILE or set {PASSWORD_ENV} \
         (stdin is not a terminal, so there is no prompt)"
    )))
}

/// Reads a password file: its first line, without the line ending.
pub fn read_password_file(path: &Path) -> Result<Password, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::bad_input(format!("cannot read password file {}: {e}", path.display())))?;
    password_from_file_text(text)
        .ok_or_else(|| CliError::bad_input(format!("password file {} is empty", path.display())))
}

fn password_from_file_text(mut text: String) -> Option<Password> {
    if let Some(end) = text.find('\n') {
        text.truncate(end);
    }
    if text.ends_with('\r') {
        text.pop();
    }
    Password::new(text)
}

fn warn_if_cleartext(server: &Url) {
    let loopback = match server.host_str() {
        Some("localhost") => true,
        Some(host) => host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()),
        None => false,
    };
    if server.scheme() == "http" && !loopback {
        eprintln!(
            "warning: {server} uses plain http: the password and the session token cross \
             the network unencrypted"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::error::Failure;

    fn login_failure(code: &str, otp: Option<&str>) -> (Failure, String) {
        let password = Password::new("pw".into()).unwrap();
        let request = TokenRequest { tenant: "contoso", upn: "a@contoso.com", password: &password, otp };
        let status = match code {
            "mfa_registration_required" | "account_disabled" => 403,
            "too_many_requests" => 429,
            _ => 401,
        };
        let error = ApiError { status, code: code.into(), message: String::new() };
        let server = Url::parse("http://127.0.0.1:1").unwrap();
        let cli = login_error(&error, &request, &server);
        (cli.kind(), cli.to_string())
    }

    #[test]
    fn password_files_lose_only_the_line_ending() {
        let p = |t: &str| password_from_file_text(t.to_owned());
        assert_eq!(p("secret\n"), Password::new("secret".into()));
        assert_eq!(p("secret\r\n"), Password::new("secret".into()));
        assert_eq!(p(" sec ret \nignored"), Password::new(" sec ret ".into()));
        assert_eq!(p("\n"), None);
        assert_eq!(p(""), None);
    }

    #[test]
    fn mfa_answers_tell_what_to_do() {
        let (kind, message) = login_failure("mfa_required", None);
        assert_eq!(kind, Failure::Auth);
        assert!(message.contains("--otp"), "{message}");
        let (_, message) = login_failure("mfa_required", Some("123456"));
        assert!(message.contains("not accepted"), "{message}");
        let (kind, message) = login_failure("mfa_registration_required", None);
        assert_eq!(kind, Failure::Auth);
        assert!(message.contains("register"), "{message}");
        let (kind, message) = login_failure("invalid_otp", Some("123456"));
        assert_eq!(kind, Failure::Auth);
        assert!(message.contains("not accepted") && message.contains("once"), "{message}");
        let (kind, message) = login_failure("too_many_requests", Some("123456"));
        assert_eq!(kind, Failure::TooManyAttempts);
        assert!(message.starts_with("too many attempts, try again later"), "{message}");
        let (kind, message) = login_failure("account_disabled", None);
        assert_eq!(kind, Failure::Auth);
        assert!(message.contains("is disabled") && message.contains("--enable"), "{message}");
        let (kind, message) = login_failure("invalid_credentials", None);
        assert_eq!(kind, Failure::Auth);
        assert!(!message.contains("pw"), "{message}");
    }

    #[test]
    fn token_request_skips_a_missing_otp() {
        let password = Password::new("pw".into()).unwrap();
        let request = TokenRequest { tenant: "t", upn: "a@b", password: &password, otp: None };
        let value = serde_json::to_value(&request).unwrap();
        assert_eq!(value, json!({"tenant": "t", "upn": "a@b", "password": "pw"}));
    }

    #[test]
    fn token_request_carries_the_otp() {
        let password = Password::new("pw".into()).unwrap();
        let request = TokenRequest { tenant: "t", upn: "a@b", password: &password, otp: Some("ABCDE-FGHJK") };
        let value = serde_json::to_value(&request).unwrap();
        assert_eq!(value, json!({"tenant": "t", "upn": "a@b", "password": "pw", "otp": "ABCDE-FGHJK"}));
    }
}
