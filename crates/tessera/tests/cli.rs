//! End-to-end tests of the `tessera` binary, the way an administrator uses it: `tessera init`,
//! `tessera serve` as a child process on port 0, then the admin commands against it, checking
//! exit codes, `--output json` and the messages on stderr.
//!
//! Every scenario runs on SQLite (`<module>::sqlite::<name>`) and on PostgreSQL
//! (`<module>::postgres::<name>`, when `TESSERA_TEST_DATABASE_URL` is set: a fresh database
//! per test; required under `CI=true`). Each test has its own directory, server and CLI
//! session, so the tests are independent of each other and of their order.

#[path = "cli/direct.rs"]
mod direct;
#[path = "cli/harness.rs"]
mod harness;

/// Turns scenarios `fn NAME(env: Env)` into one `#[test]` per backend.
macro_rules! on_both_backends {
    ($($scenario:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $scenario() {
                    super::$scenario(crate::harness::Env::start(crate::harness::Backend::Sqlite));
                }
            )+
        }

        mod postgres {
            $(
                #[test]
                fn $scenario() {
                    if let Some(backend) = crate::harness::Backend::postgres() {
                        super::$scenario(crate::harness::Env::start(backend));
                    }
                }
            )+
        }
    };
}

#[path = "cli/account.rs"]
mod account;
#[path = "cli/credentials.rs"]
mod credentials;
#[path = "cli/ldap.rs"]
mod ldap;
#[path = "cli/mfa.rs"]
mod mfa;
#[path = "cli/otp.rs"]
mod otp;
#[path = "cli/replay.rs"]
mod replay;
#[path = "cli/sessions.rs"]
mod sessions;
#[path = "cli/settings.rs"]
mod settings;
#[path = "cli/users.rs"]
mod users;
