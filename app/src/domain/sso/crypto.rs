//! Client secrets are sealed with AES-256-GCM before they are stored. Keys
//! have ids, and the id that sealed a secret is stored next to it, so keys
//! can be rotated: the first key seals, every listed key opens.
//!
//! A secret is sealed together with what it is for (associated data: the
//! issuer and client id it was entered for), and opens only for that: a
//! row whose issuer was changed, in the app or in the database, no longer
//! yields the secret to send to the new issuer.

use aes_gcm::{
    Aes256Gcm, KeyInit, Nonce,
    aead::{Aead, AeadCore, OsRng, Payload},
};
use base64::{Engine, engine::general_purpose::STANDARD};

/// The keys that seal and open client secrets.
#[derive(Clone)]
pub struct SecretKeys {
    keys: Vec<(String, Aes256Gcm)>,
    /// Derived from the sealing key; other keys are derived from it.
    root: [u8; 32],
}

impl std::fmt::Debug for SecretKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        write!(f, "SecretKeys({ids:?})")
    }
}

/// A secret could not be opened (unknown key id, or tampered ciphertext).
#[derive(Debug, thiserror::Error)]
#[error("the client secret cannot be decrypted (key {0:?})")]
pub struct OpenError(pub String);

impl SecretKeys {
    /// Parses `id:base64key[,id:base64key…]`; each key is 32 bytes.
    pub fn parse(spec: &str) -> Result<Self, String> {
        use sha2::Digest;
        let mut keys = Vec::new();
        let mut root = [0u8; 32];
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, key) = entry
                .split_once(':')
                .ok_or_else(|| format!("{entry:?} is not id:base64key"))?;
            if id.is_empty()
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(format!("key id {id:?} must be letters, digits, - or _"));
            }
            let bytes = STANDARD
                .decode(key)
                .map_err(|_| format!("key {id:?} is not base64"))?;
            if bytes.len() != 32 {
                return Err(format!(
                    "key {id:?} must be 32 bytes (it is {})",
                    bytes.len()
                ));
            }
            if keys.iter().any(|(existing, _)| existing == id) {
                return Err(format!("key id {id:?} appears twice"));
            }
            let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|e| e.to_string())?;
            if keys.is_empty() {
                root = sha2::Sha256::new()
                    .chain_update(b"trellis key derivation\0")
                    .chain_update(&bytes)
                    .finalize()
                    .into();
            }
            keys.push((id.to_string(), cipher));
        }
        if keys.is_empty() {
            return Err("no key given".into());
        }
        Ok(Self { keys, root })
    }

    /// A key for another purpose (`label`), derived from the sealing key, so
    /// every server of a deployment derives the same one.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::new()
            .chain_update(self.root)
            .chain_update(label.as_bytes())
            .finalize()
            .into()
    }

    /// The id of the key that seals new secrets.
    pub fn current_id(&self) -> &str {
        &self.keys[0].0
    }

    /// Seals `secret` for `purpose` with the current key: (key id, nonce ‖
    /// ciphertext ‖ tag). Only the same `purpose` opens it again.
    pub fn seal(&self, secret: &str, purpose: &[u8]) -> (String, Vec<u8>) {
        let (id, cipher) = &self.keys[0];
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let mut sealed = nonce.to_vec();
        sealed.extend(
            cipher
                .encrypt(
                    &nonce,
                    Payload {
                        msg: secret.as_bytes(),
                        aad: purpose,
                    },
                )
                .expect("AES-GCM encryption does not fail"),
        );
        (id.clone(), sealed)
    }

    /// Opens a secret sealed by [`SecretKeys::seal`] with key `key_id` for
    /// `purpose` (empty for secrets sealed before purposes existed).
    pub fn open(&self, key_id: &str, sealed: &[u8], purpose: &[u8]) -> Result<String, OpenError> {
        let fail = || OpenError(key_id.to_string());
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(id, _)| id == key_id)
            .ok_or_else(fail)?;
        if sealed.len() < 12 {
            return Err(fail());
        }
        let (nonce, ciphertext) = sealed.split_at(12);
        let plain = cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: purpose,
                },
            )
            .map_err(|_| fail())?;
        String::from_utf8(plain).map_err(|_| fail())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> String {
        STANDARD.encode([byte; 32])
    }

    #[test]
    fn secrets_round_trip_and_rotation_keeps_old_ones_readable() {
        let old = SecretKeys::parse(&format!("k1:{}", key(1))).unwrap();
        let (id, sealed) = old.seal("s3cret", b"p");
        assert_eq!(id, "k1");
        assert!(
            !sealed.windows(6).any(|w| w == b"s3cret"),
            "not stored in the clear"
        );
        let rotated = SecretKeys::parse(&format!("k2:{},k1:{}", key(2), key(1))).unwrap();
        assert_eq!(rotated.current_id(), "k2");
        assert_eq!(rotated.open("k1", &sealed, b"p").unwrap(), "s3cret");
        let (id2, sealed2) = rotated.seal("s3cret", b"p");
        assert_eq!(id2, "k2");
        assert_ne!(sealed2, sealed);
    }

    #[test]
    fn tampering_and_unknown_keys_are_refused() {
        let keys = SecretKeys::parse(&format!("k1:{}", key(1))).unwrap();
        let (_, mut sealed) = keys.seal("s3cret", b"p");
        assert!(
            keys.open("k1", &sealed, b"other").is_err(),
            "opens only for its purpose"
        );
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(keys.open("k1", &sealed, b"p").is_err());
        assert!(keys.open("k9", &sealed, b"p").is_err());
    }

    #[test]
    fn key_specs_are_checked() {
        assert!(SecretKeys::parse("").is_err());
        assert!(SecretKeys::parse("k1").is_err());
        assert!(SecretKeys::parse("k1:not-base64!").is_err());
        assert!(SecretKeys::parse(&format!("k1:{}", STANDARD.encode([0u8; 16]))).is_err());
        assert!(SecretKeys::parse(&format!("k1:{0},k1:{0}", key(1))).is_err());
        assert!(
            format!(
                "{:?}",
                SecretKeys::parse(&format!("k1:{}", key(1))).unwrap()
            )
            .contains("k1")
        );
    }
}
