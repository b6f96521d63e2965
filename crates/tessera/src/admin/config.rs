//! Credential storage: `credentials.json` in the config directory, mode 0600.
//!
//! The directory is `--config-dir` / `$TESSERA_CONFIG_DIR`, else `$XDG_CONFIG_HOME/tessera`,
//! else `~/.config/tessera`.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::error::CliError;
use super::values::AccessToken;

const FILE_NAME: &str = "credentials.json";
/// A token this close to its expiry is treated as expired, so a command does not fail halfway.
const EXPIRY_MARGIN: time::Duration = time::Duration::seconds(30);

/// What `tessera login` stores. `Debug` never shows the token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credentials {
    pub server: String,
    pub tenant: String,
    pub upn: String,
    pub access_token: AccessToken,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl Credentials {
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now + EXPIRY_MARGIN >= self.expires_at
    }
}

/// Resolves the config directory from the override and the environment.
pub fn config_dir(overridden: Option<&Path>) -> Result<PathBuf, CliError> {
    resolve_dir(
        overridden,
        std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from),
        std::env::var_os("HOME").map(PathBuf::from),
    )
}

fn resolve_dir(
    overridden: Option<&Path>,
    xdg_config_home: Option<PathBuf>,
    home: Option<PathBuf>,
) -> Result<PathBuf, CliError> {
    if let Some(dir) = overridden.filter(|d| !d.as_os_str().is_empty()) {
        return Ok(dir.to_path_buf());
    }
    // The XDG spec says to ignore relative values.
    if let Some(xdg) = xdg_config_home.filter(|d| d.is_absolute()) {
        return Ok(xdg.join("tessera"));
    }
    match home.filter(|d| !d.as_os_str().is_empty()) {
        Some(home) => Ok(home.join(".config").join("tessera")),
        None => Err(CliError::usage("cannot locate the config directory: set --config-dir or TESSERA_CONFIG_DIR")),
    }
}

pub fn credentials_path(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

/// Loads the stored credentials; `Ok(None)` when nobody is logged in.
pub fn load(dir: &Path) -> Result<Option<Credentials>, CliError> {
    let path = credentials_path(dir);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("read", &path, &e)),
    };
    warn_if_readable_by_others(&path);
    serde_json::from_str(&text).map(Some).map_err(|e| {
        CliError::auth(format!("{} is not a valid credentials file ({e}): run `tessera login` again", path.display()))
    })
}

/// Writes the credentials atomically with mode 0600 (directory 0700 when created).
pub fn save(dir: &Path, credentials: &Credentials) -> Result<PathBuf, CliError> {
    create_private_dir(dir).map_err(|e| io_error("create", dir, &e))?;
    let path = credentials_path(dir);
    let temp = dir.join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
    let json = serde_json::to_vec_pretty(credentials)
        .map_err(|e| CliError::unexpected(format!("cannot encode credentials: {e}")))?;
    let _ = fs::remove_file(&temp);
    let written = write_private(&temp, &json).and_then(|()| fs::rename(&temp, &path));
    if let Err(e) = written {
        // Best effort: do not leave a token behind in a stray file.
        let _ = fs::remove_file(&temp);
        return Err(io_error("write", &path, &e));
    }
    Ok(path)
}

/// Removes the stored credentials; `Ok(false)` when there were none.
pub fn remove(dir: &Path) -> Result<bool, CliError> {
    let path = credentials_path(dir);
    match fs::remove_file(&path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_error("remove", &path, &e)),
    }
}

fn io_error(verb: &str, path: &Path, error: &io::Error) -> CliError {
    CliError::unexpected(format!("cannot {verb} {}: {error}", path.display()))
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = fs::OpenOptions::new().write(true).create_new(true).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        eprintln!("warning: {} is readable by other users; run `chmod 600` on it", path.display());
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(expires_at: OffsetDateTime) -> Credentials {
        Credentials {
            server: "http://127.0.0.1:8080".into(),
            tenant: "contoso".into(),
            upn: "admin@contoso.com".into(),
            access_token: AccessToken::new("tok".into()),
            expires_at,
        }
    }

    #[test]
    fn dir_resolution_order() {
        let explicit = Path::new("/etc/x");
        let xdg = Some(PathBuf::from("/xdg"));
        let home = Some(PathBuf::from("/home/a"));
        let dir = |o, x, h| resolve_dir(o, x, h).unwrap();
        assert_eq!(dir(Some(explicit), xdg.clone(), home.clone()), explicit);
        assert_eq!(dir(None, xdg.clone(), home.clone()), Path::new("/xdg/tessera"));
        assert_eq!(dir(None, Some("relative".into()), home.clone()), Path::new("/home/a/.config/tessera"));
        assert_eq!(dir(None, None, home), Path::new("/home/a/.config/tessera"));
        assert!(resolve_dir(None, None, None).is_err());
    }

    #[test]
    fn save_load_remove_round_trip_with_private_mode() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("nested").join("tessera");
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let path = save(&dir, &sample(now)).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let text = fs::read_to_string(&path).unwrap();
        for key in ["server", "tenant", "upn", "access_token", "expires_at"] {
            assert!(text.contains(&format!("\"{key}\"")), "{key} missing: {text}");
        }
        let loaded = load(&dir).unwrap().unwrap();
        assert_eq!(loaded.expires_at, now);
        assert_eq!(loaded.access_token.expose(), "tok");
        save(&dir, &sample(now)).unwrap();
        assert!(remove(&dir).unwrap());
        assert!(!remove(&dir).unwrap());
        assert!(load(&dir).unwrap().is_none());
    }

    #[test]
    fn corrupt_file_asks_to_log_in_again() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(credentials_path(tmp.path()), "{").unwrap();
        let error = load(tmp.path()).unwrap_err();
        assert_eq!(error.exit_code(), super::super::error::exit::AUTH);
    }

    #[test]
    fn expiry_has_a_margin() {
        let now = OffsetDateTime::now_utc();
        assert!(sample(now).is_expired(now));
        assert!(sample(now + time::Duration::seconds(10)).is_expired(now));
        assert!(!sample(now + time::Duration::minutes(5)).is_expired(now));
    }

    #[test]
    fn debug_hides_the_token() {
        let mut credentials = sample(OffsetDateTime::now_utc());
        credentials.access_token = AccessToken::new("sekrit-token".into());
        let text = format!("{credentials:?}");
        assert!(!text.contains("sekrit"), "{text}");
    }
}
