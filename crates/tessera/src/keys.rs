//! The key that encrypts secrets at rest (TOTP seeds): loading, first-start creation, and
//! rotation.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use base64::Engine;
use clap::Args;
use tessera_core::crypto::{DataKey, Keyring};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

#[derive(Args, Debug)]
pub struct KeyArgs {
    /// File with the base64 AES-256 key that encrypts secrets at rest. Default:
    /// DATA_DIR/secret.key, created on first start. Nodes sharing one database share this file.
    #[arg(long, env = "TESSERA_ENCRYPTION_KEY_FILE")]
    pub encryption_key_file: Option<PathBuf>,
    /// Older keys that still decrypt during a rotation (repeatable).
    #[arg(long = "previous-encryption-key-file")]
    pub previous: Vec<PathBuf>,
}

fn read_key(path: &Path) -> anyhow::Result<DataKey> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading the key file {}", path.display()))?;
    let bytes = zeroize::Zeroizing::new(
        B64.decode(text.trim()).with_context(|| format!("{} does not hold a base64 key", path.display()))?,
    );
    DataKey::from_bytes(&bytes).with_context(|| format!("{} does not hold a 32-byte key", path.display()))
}

/// Writes a new random key to `path` (mode 0600), refusing to overwrite.
pub fn create_key_file(path: &Path) -> anyhow::Result<()> {
    let key = DataKey::generate_bytes()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path).with_context(|| format!("creating the key file {}", path.display()))?;
    writeln!(f, "{}", B64.encode(&*key))?;
    f.sync_all()?;
    Ok(())
}

impl KeyArgs {
    /// Loads the keyring; the default key file in `data_dir` is created if it does not exist yet.
    pub fn keyring(&self, data_dir: &Path) -> anyhow::Result<Arc<Keyring>> {
        let path = match &self.encryption_key_file {
            Some(p) => p.clone(),
            None => {
                let p = data_dir.join("secret.key");
                if !p.exists() {
                    std::fs::create_dir_all(data_dir)?;
                    create_key_file(&p)?;
                    tracing::info!(path = %p.display(), "created the encryption key for secrets at rest: back it up");
                }
                p
            }
        };
        let current = read_key(&path)?;
        let previous = self.previous.iter().map(|p| read_key(p)).collect::<anyhow::Result<Vec<_>>>()?;
        if previous.iter().any(|k| k.id_hex() == current.id_hex()) {
            bail!("a previous key is the same as the current key");
        }
        Ok(Arc::new(Keyring::new(current, previous)))
    }
}
