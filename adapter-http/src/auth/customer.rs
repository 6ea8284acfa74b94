//! The ticketing platform's word for a customer: it signs the customer's external id with a
//! secret shared with this server, and the server trusts a matching signature.
//!
//! The signature is the lower- or upper-case hex form of HMAC-SHA256(secret, external id),
//! compared in constant time.

use std::fmt;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The fewest bytes a shared secret may have.
pub const MIN_SECRET_BYTES: usize = 32;

/// The secret shared with the ticketing platform. Its `Debug` output does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct CustomerSecret(Vec<u8>);

impl fmt::Debug for CustomerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CustomerSecret({} bytes)", self.0.len())
    }
}

/// Why the secret file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The file cannot be read.
    #[error(
        "--customer-secret-file (SHIFTDESK_CUSTOMER_SECRET_FILE): cannot read {path}: {source}"
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },
    /// The file holds too short a secret.
    #[error(
        "--customer-secret-file (SHIFTDESK_CUSTOMER_SECRET_FILE): {path} must hold at least \
         {MIN_SECRET_BYTES} bytes"
    )]
    TooShort {
        /// The file.
        path: PathBuf,
    },
}

type HmacSha256 = Hmac<Sha256>;

impl CustomerSecret {
    /// The secret from its bytes, if long enough.
    pub fn new(bytes: &[u8]) -> Option<CustomerSecret> {
        (bytes.len() >= MIN_SECRET_BYTES).then(|| CustomerSecret(bytes.to_vec()))
    }

    /// Reads the secret from a file: its text, surrounding whitespace removed.
    pub fn read(path: &Path) -> Result<CustomerSecret, SecretError> {
        let text = std::fs::read(path).map_err(|source| SecretError::Read {
            path: path.to_owned(),
            source,
        })?;
        CustomerSecret::new(text.trim_ascii()).ok_or_else(|| SecretError::TooShort {
            path: path.to_owned(),
        })
    }

    /// Whether `signature` (hex) is this secret's HMAC-SHA256 of `external_id`.
    pub fn verifies(&self, external_id: &str, signature: &str) -> bool {
        let Ok(signature) = hex::decode(signature.trim()) else {
            return false;
        };
        let Ok(mut mac) = HmacSha256::new_from_slice(&self.0) else {
            return false;
        };
        mac.update(external_id.as_bytes());
        mac.verify_slice(&signature).is_ok()
    }

    /// The signature of `external_id`, as the platform would send it.
    pub fn sign(&self, external_id: &str) -> String {
        match HmacSha256::new_from_slice(&self.0) {
            Ok(mut mac) => {
                mac.update(external_id.as_bytes());
                hex::encode(mac.finalize().into_bytes())
            }
            Err(_) => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> CustomerSecret {
        CustomerSecret::new(&[7; 32]).expect("long enough")
    }

    #[test]
    fn a_signature_of_the_external_id_verifies() {
        let signature = secret().sign("cust-42");
        assert_eq!(signature.len(), 64);
        assert!(secret().verifies("cust-42", &signature));
        assert!(secret().verifies("cust-42", &signature.to_uppercase()));
    }

    #[test]
    fn a_signature_of_another_id_or_by_another_secret_does_not() {
        let signature = secret().sign("cust-42");
        assert!(!secret().verifies("cust-43", &signature));
        let other = CustomerSecret::new(&[8; 32]).expect("long enough");
        assert!(!other.verifies("cust-42", &signature));
        assert!(!secret().verifies("cust-42", "not hex"));
        assert!(!secret().verifies("cust-42", &signature[..62]));
    }

    #[test]
    fn a_short_secret_is_refused() {
        assert!(CustomerSecret::new(&[7; 31]).is_none());
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("secret");
        std::fs::write(&path, "short\n").expect("write");
        assert!(matches!(
            CustomerSecret::read(&path),
            Err(SecretError::TooShort { .. })
        ));
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        assert_eq!(format!("{:?}", secret()), "CustomerSecret(32 bytes)");
    }
}
