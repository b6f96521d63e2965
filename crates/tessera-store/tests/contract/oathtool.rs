//! A real third-party TOTP client agrees with Tessera: an authenticator registered with the
//! code that `oathtool` (OATH Toolkit, RFC 6238) computes from the offered base32 secret, then
//! signs in with `oathtool`'s codes at later times of the fake clock.
//!
//! `oathtool` is the Debian package of that name (`.ci/run` installs it). Without it the test
//! fails under `CI=true` and is skipped with a message otherwise.

use std::io::Write;
use std::process::{Command, Stdio};

use tessera_core::mfa::{MethodKind, PerUserMfaState};
use tessera_core::session::SessionStage;
use tessera_core::totp::{TotpSecret, base32_decode, step_of};
use time::macros::format_description;
use time::{Duration, OffsetDateTime};

use crate::common::{T0, awaiting_registration, ctx, envs, mfa_session, services};

/// Whether `oathtool` can run here; `false` (with a message) lets a local run skip.
fn oathtool_available() -> bool {
    let found = Command::new("oathtool")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var("CI").map(|v| v != "true").unwrap_or(true),
            "CI=true but oathtool is not installed (Debian package oathtool; .ci/run installs it)"
        );
        eprintln!("oathtool is not installed: skipping the oathtool agreement test (apt-get install -y oathtool)");
    }
    found
}

/// The code `oathtool --totp` prints for the base32 `secret` at time `at`. The secret goes
/// in on stdin (`-`), not on the command line where other processes could read it.
fn oathtool_code(secret_base32: &str, at: OffsetDateTime) -> String {
    let now = at
        .to_offset(time::UtcOffset::UTC)
        .format(format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC"))
        .unwrap();
    let mut child = Command::new("oathtool")
        .args(["--totp", "--base32", "--now", &now, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run oathtool");
    child.stdin.take().unwrap().write_all(format!("{secret_base32}\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "oathtool --now '{now}' failed: {}", String::from_utf8_lossy(&out.stderr));
    let code = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "oathtool printed {code:?}");
    code
}

#[test]
fn oathtool_formats_the_fake_clock_as_it_expects() {
    let text = T0.format(format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC")).unwrap();
    assert_eq!(text, "2025-03-10 09:00:00 UTC");
}

#[tokio::test]
async fn oathtool_registers_and_signs_in_with_the_same_codes() {
    if !oathtool_available() {
        return;
    }
    for env in envs().await {
        let b = env.b;
        let svc = services(&env, env.store().clone());
        let upn = "olga@contoso.com";
        let started = awaiting_registration(&env, &svc, upn).await;
        let pending = svc.begin_totp_registration(&started.token).await.unwrap();
        assert!(pending.otpauth_uri.contains(&format!("secret={}", pending.secret_base32)), "[{b}]");
        let secret = TotpSecret::from_bytes(base32_decode(&pending.secret_base32).unwrap());

        // Registration: the code typed is the one oathtool shows for the offered secret.
        let now = env.clock.get();
        assert_eq!(now, T0, "[{b}] the fake clock starts at T0");
        let first = oathtool_code(&pending.secret_base32, now);
        assert_eq!(first, format!("{:06}", secret.code_at_step(step_of(now))), "[{b}] at {now}");
        let (done, recovery) = svc.finish_totp_registration(&started.token, &first, None, &ctx()).await.unwrap();
        assert_eq!(done.session.stage, SessionStage::SignedIn, "[{b}]");
        assert_eq!(recovery.len(), 10, "[{b}]");
        let olga = env.get(upn).await.unwrap();
        assert_eq!(olga.per_user_mfa_state, PerUserMfaState::Enforced, "[{b}]");
        assert!(olga.methods.contains(&MethodKind::Totp), "[{b}] {:?}", olga.methods);

        // Later sign-ins: at each time the fake clock shows, oathtool's code is Tessera's
        // code of that step and is accepted as the second factor.
        for offset in [
            Duration::seconds(30),
            Duration::seconds(60),
            Duration::seconds(105),
            Duration::hours(1),
            Duration::days(1) + Duration::seconds(17),
        ] {
            let at = T0 + offset;
            env.clock.advance(at - env.clock.get());
            let code = oathtool_code(&pending.secret_base32, at);
            assert_eq!(code, format!("{:06}", secret.code_at_step(step_of(at))), "[{b}] at {at}");
            let s = mfa_session(&svc, upn).await;
            let signed_in = svc
                .verify_mfa(&s.token, &code, &ctx())
                .await
                .unwrap_or_else(|e| panic!("[{b}] oathtool's code at {at} refused: {e}"));
            assert_eq!(signed_in.session.stage, SessionStage::SignedIn, "[{b}] at {at}");
            assert_eq!(signed_in.session.mfa_method, Some(MethodKind::Totp), "[{b}] at {at}");
        }
    }
}
