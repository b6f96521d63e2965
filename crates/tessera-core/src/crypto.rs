//! Encryption of secrets at rest (TOTP seeds): AES-256-GCM with a keyring. The current key
//! encrypts; older keys still decrypt until `tessera keys rotate` has re-encrypted everything.
//! A blob is `0x01 | key id (4 bytes) | nonce (12 bytes) | ciphertext+tag`, and its row's id is
//! the associated data, so a ciphertext copied onto another row does not decrypt.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::CoreError;

const VERSION: u8 = 1;
pub const KEY_LEN: usize = 32;

/// One AES-256 key. Never printed.
pub struct DataKey {
    id: [u8; 4],
    cipher: Aes256Gcm,
}

impl DataKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CoreError> {
        if bytes.len() != KEY_LEN {
            return Err(CoreError::InvalidKey(format!("an encryption key is {KEY_LEN} bytes, got {}", bytes.len())));
        }
        let digest = Sha256::digest(bytes);
        let cipher = Aes256Gcm::new_from_slice(bytes).map_err(|_| CoreError::Internal("bad AES key".into()))?;
        Ok(Self { id: [digest[0], digest[1], digest[2], digest[3]], cipher })
    }

    /// A new random key, as raw bytes (to be saved by the caller).
    pub fn generate_bytes() -> Result<Zeroizing<Vec<u8>>, CoreError> {
        let mut k = Zeroizing::new(vec![0u8; KEY_LEN]);
        getrandom::fill(&mut k).map_err(|e| CoreError::Internal(format!("randomness: {e}")))?;
        Ok(k)
    }

    /// Short fingerprint for logs and `tessera keys` output.
    pub fn id_hex(&self) -> String {
        self.id.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DataKey({})", self.id_hex())
    }
}

#[derive(Debug)]
pub struct Keyring {
    current: DataKey,
    previous: Vec<DataKey>,
}

impl Keyring {
    pub fn new(current: DataKey, previous: Vec<DataKey>) -> Self {
        Self { current, previous }
    }

    pub fn current_id(&self) -> String {
        self.current.id_hex()
    }

    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CoreError> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|e| CoreError::Internal(format!("randomness: {e}")))?;
        let ct = self
            .current
            .cipher
            .encrypt(&nonce.into(), Payload { msg: plaintext, aad })
            .map_err(|_| CoreError::Internal("encryption failed".into()))?;
        let mut out = Vec::with_capacity(1 + 4 + 12 + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&self.current.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    pub fn decrypt(&self, blob: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, CoreError> {
        let fail = || CoreError::Internal("a stored secret could not be decrypted (wrong or missing key?)".into());
        if blob.len() < 1 + 4 + 12 + 16 || blob[0] != VERSION {
            return Err(fail());
        }
        let id = &blob[1..5];
        let key = std::iter::once(&self.current).chain(&self.previous).find(|k| k.id == id).ok_or_else(fail)?;
        let nonce: [u8; 12] = blob[5..17].try_into().map_err(|_| fail())?;
        key.cipher.decrypt(&nonce.into(), Payload { msg: &blob[17..], aad }).map(Zeroizing::new).map_err(|_| fail())
    }

    /// Whether `blob` was encrypted with an older key (and should be re-encrypted).
    pub fn is_stale(&self, blob: &[u8]) -> bool {
        blob.len() < 5 || blob[1..5] != self.current.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> DataKey {
        DataKey::from_bytes(&DataKey::generate_bytes().unwrap()).unwrap()
    }

    #[test]
    fn round_trip_binds_associated_data() {
        let ring = Keyring::new(key(), vec![]);
        let blob = ring.encrypt(b"seed", b"row-1").unwrap();
        assert!(!blob.windows(4).any(|w| w == b"seed"));
        assert_eq!(&ring.decrypt(&blob, b"row-1").unwrap()[..], b"seed");
        assert!(ring.decrypt(&blob, b"row-2").is_err(), "moved to another row");
        let mut tampered = blob.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(ring.decrypt(&tampered, b"row-1").is_err());
        assert!(ring.decrypt(b"short", b"row-1").is_err());
    }

    #[test]
    fn rotation_keeps_old_blobs_readable() {
        let old_bytes = DataKey::generate_bytes().unwrap();
        let old = Keyring::new(DataKey::from_bytes(&old_bytes).unwrap(), vec![]);
        let blob = old.encrypt(b"seed", b"a").unwrap();
        let new = Keyring::new(key(), vec![DataKey::from_bytes(&old_bytes).unwrap()]);
        assert!(new.is_stale(&blob));
        assert_eq!(&new.decrypt(&blob, b"a").unwrap()[..], b"seed");
        let fresh = new.encrypt(b"seed", b"a").unwrap();
        assert!(!new.is_stale(&fresh));
        let without_old = Keyring::new(key(), vec![]);
        assert!(without_old.decrypt(&blob, b"a").is_err());
        assert!(DataKey::from_bytes(&[0u8; 16]).is_err());
    }
}
