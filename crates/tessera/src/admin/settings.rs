//! `tessera settings mfa show|set`: the tenant's MFA service settings.

use std::net::IpAddr;

use serde::Deserialize;
use serde_json::{Map, Value, json};
use tessera_web::wire::MfaSettings;

use super::Context;
use super::error::{CliError, EXIT_CODES_HELP};
use super::output::{self, OutputFormat};
use super::values::printable;

/// Verification methods the API knows (`allowedMethods`).
const METHODS: [&str; 6] = ["totp", "webauthn", "email", "sms", "recoveryCode", "temporaryAccessPass"];

#[derive(clap::Subcommand, Debug)]
pub enum SettingsCommand {
    /// MFA service settings of the tenant.
    #[command(subcommand)]
    Mfa(MfaSettingsCommand),
}

#[derive(clap::Subcommand, Debug)]
pub enum MfaSettingsCommand {
    /// Show the MFA service settings.
    #[command(after_long_help = EXIT_CODES_HELP)]
    Show,
    /// Change some MFA service settings; the others stay as they are.
    #[command(after_long_help = EXIT_CODES_HELP)]
    Set(SetArgs),
}

#[derive(clap::Args, Debug)]
#[group(required = true, multiple = true)]
pub struct SetArgs {
    /// Allow users to create app passwords for legacy clients.
    #[arg(long, value_name = "true|false")]
    pub allow_app_passwords: Option<bool>,
    /// Allow users to remember MFA on devices they trust: the MFA prompt offers "Don't ask
    /// again" for --remember-device-days days.
    #[arg(long, value_name = "true|false")]
    pub allow_remember_devices: Option<bool>,
    /// Trusted IP range (CIDR) whose sign-ins skip MFA; repeat for several. Replaces the
    /// whole list.
    #[arg(long = "trusted-ip", value_name = "CIDR", conflicts_with = "clear_trusted_ips")]
    pub trusted_ips: Vec<String>,
    /// Remove all trusted IP ranges.
    #[arg(long)]
    pub clear_trusted_ips: bool,
    /// Allowed verification methods, comma-separated (replaces the list).
    #[arg(long, value_name = "METHODS", value_delimiter = ',', value_parser = METHODS)]
    pub allowed_methods: Option<Vec<String>>,
    /// Remember MFA on trusted devices for this many days (1-365).
    // The range is the server's rule: it answers `invalid_setting` (exit code 6) with its
    // own message, so the CLI does not duplicate it (clap would make it a usage error, 2).
    #[arg(long, value_name = "N")]
    pub remember_device_days: Option<u32>,
}

pub async fn run(cmd: SettingsCommand, ctx: &Context) -> Result<(), CliError> {
    let SettingsCommand::Mfa(cmd) = cmd;
    let body = match cmd {
        MfaSettingsCommand::Show => ctx.open_api()?.get(&["settings", "mfa"], &[]).await?,
        MfaSettingsCommand::Set(args) => {
            let patch = patch_body(&args)?;
            ctx.open_api()?.patch(&["settings", "mfa"], &patch).await?
        }
    };
    match ctx.format {
        OutputFormat::Json => output::print_json(&body),
        OutputFormat::Text => output::write_stdout(&describe(&body)?),
    }
}

fn patch_body(args: &SetArgs) -> Result<Value, CliError> {
    let mut patch = Map::new();
    if let Some(allow) = args.allow_app_passwords {
        patch.insert("allowAppPasswords".into(), json!(allow));
    }
    if let Some(allow) = args.allow_remember_devices {
        patch.insert("allowRememberDevices".into(), json!(allow));
    }
    if args.clear_trusted_ips {
        patch.insert("trustedIpRanges".into(), json!([]));
    } else if !args.trusted_ips.is_empty() {
        let ranges = args.trusted_ips.iter().map(|c| parse_cidr(c)).collect::<Result<Vec<_>, _>>()?;
        patch.insert("trustedIpRanges".into(), json!(ranges));
    }
    if let Some(methods) = &args.allowed_methods {
        patch.insert("allowedMethods".into(), json!(methods));
    }
    if let Some(days) = args.remember_device_days {
        patch.insert("rememberDeviceDays".into(), json!(days));
    }
    Ok(Value::Object(patch))
}

/// Checks a CIDR range such as `10.0.0.0/8` or `2001:db8::/32`.
fn parse_cidr(text: &str) -> Result<String, CliError> {
    let text = text.trim();
    let bad = |why: &str| CliError::bad_input(format!("--trusted-ip '{}' is not a CIDR range: {why}", printable(text)));
    let (address, prefix) =
        text.split_once('/').ok_or_else(|| bad("expected ADDRESS/PREFIX, e.g. 203.0.113.0/24 or 203.0.113.7/32"))?;
    let address: IpAddr = address.parse().map_err(|_| bad("invalid IP address"))?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    match prefix.parse::<u8>() {
        Ok(prefix) if prefix <= max => Ok(text.to_owned()),
        _ => Err(bad(&format!("the prefix length must be 0 to {max}"))),
    }
}

fn describe(body: &Value) -> Result<String, CliError> {
    let settings = MfaSettings::deserialize(body)
        .map_err(|e| CliError::unexpected(format!("the server's settings are malformed: {e}")))?;
    let list = |items: &[String]| {
        if items.is_empty() { "none".to_owned() } else { items.join(", ") }
    };
    let yes_no = |flag: bool| if flag { "yes" } else { "no" }.to_owned();
    let days = format!("{} days", settings.remember_device_days);
    let lines = [
        ("Allow app passwords", yes_no(settings.allow_app_passwords)),
        ("Allow remembered devices", yes_no(settings.allow_remember_devices)),
        ("Trusted IP ranges", list(&settings.trusted_ip_ranges)),
        ("Allowed methods", list(&settings.allowed_methods)),
        ("Remember MFA on trusted devices", days),
    ];
    Ok(lines.iter().map(|(name, value)| format!("{:<33}{}\n", format!("{name}:"), printable(value))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_args() -> SetArgs {
        SetArgs {
            allow_app_passwords: None,
            allow_remember_devices: None,
            trusted_ips: Vec::new(),
            clear_trusted_ips: false,
            allowed_methods: None,
            remember_device_days: None,
        }
    }

    #[test]
    fn cidr_ranges_are_checked() {
        for good in ["10.0.0.0/8", "203.0.113.7/32", "2001:db8::/32", "::1/128", "0.0.0.0/0"] {
            assert!(parse_cidr(good).is_ok(), "{good}");
        }
        for bad in ["10.0.0.0", "10.0.0.0/33", "10.0.0/8", "::/129", "x/1", "10.0.0.0/-1"] {
            assert_eq!(parse_cidr(bad).unwrap_err().exit_code(), 6, "{bad}");
        }
    }

    #[test]
    fn patch_holds_only_what_was_given() {
        let mut args = set_args();
        args.allow_app_passwords = Some(true);
        args.trusted_ips = vec!["10.0.0.0/8".into()];
        args.remember_device_days = Some(30);
        assert_eq!(
            patch_body(&args).unwrap(),
            json!({"allowAppPasswords": true, "trustedIpRanges": ["10.0.0.0/8"], "rememberDeviceDays": 30})
        );
        let mut remember = set_args();
        remember.allow_remember_devices = Some(false);
        assert_eq!(patch_body(&remember).unwrap(), json!({"allowRememberDevices": false}));
        let mut clear = set_args();
        clear.clear_trusted_ips = true;
        clear.allowed_methods = Some(vec!["totp".into(), "webauthn".into()]);
        assert_eq!(patch_body(&clear).unwrap(), json!({"trustedIpRanges": [], "allowedMethods": ["totp", "webauthn"]}));
    }

    #[test]
    fn settings_render() {
        let text = describe(&json!({"allowAppPasswords": false, "trustedIpRanges": [],
            "allowedMethods": ["totp"], "allowRememberDevices": true, "rememberDeviceDays": 14}))
        .unwrap();
        assert!(text.contains("Allow app passwords:             no\n"), "{text}");
        assert!(text.contains("Allow remembered devices:        yes\n"), "{text}");
        assert!(text.contains("Trusted IP ranges:               none\n"), "{text}");
        assert!(text.contains("Remember MFA on trusted devices: 14 days\n"), "{text}");
    }
}
