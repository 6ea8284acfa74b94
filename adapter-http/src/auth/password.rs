//! Password hashing and verification with argon2id, always on the blocking threads: a hash
//! takes tens of milliseconds of CPU on purpose, which must not stall the request tasks.

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash as Phc, SaltString};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use axum::http::StatusCode;
use shiftdesk_core::account::PasswordHash;

use crate::problem::Problem;

/// The fewest characters a new password may have.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The most bytes a password may have: longer ones are refused before anything is hashed.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// The length of a generated password, in characters (about 143 bits).
pub const GENERATED_PASSWORD_CHARS: usize = 24;

/// A hash of a password nobody knows, verified against when a login names nobody, so that
/// an unknown login takes as long to refuse as a wrong password.
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| {
    let password = generate_password().ok()?;
    hash_now(&password)
        .ok()
        .map(|hash| hash.as_str().to_owned())
});

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The operating system gave no random bytes for the salt.
    #[error("no random bytes for a salt: {0}")]
    Random(String),
    /// The hasher refused.
    #[error("the password cannot be hashed: {0}")]
    Hash(String),
    /// The blocking task did not finish.
    #[error("the hashing task failed: {0}")]
    Task(String),
}

/// Refuses a new password that is too short or too long, naming `field`.
pub fn check_new_password(field: &str, password: &str) -> Result<(), Problem> {
    let refused = |code, detail: String| {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail).with_field(field)
    };
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(refused(
            "too_short",
            format!("{field} must be at least {MIN_PASSWORD_CHARS} characters long"),
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(refused(
            "too_long",
            format!("{field} must be at most {MAX_PASSWORD_BYTES} bytes long"),
        ));
    }
    Ok(())
}

/// Hashes `password` with argon2id and a random salt, on a blocking thread.
pub async fn hash(password: String) -> Result<PasswordHash, HashError> {
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|error| HashError::Task(error.to_string()))?
}

/// Whether `password` matches `hash`, checked on a blocking thread. A hash that cannot be
/// read matches nothing.
pub async fn verify(password: String, hash: PasswordHash) -> bool {
    let hash = hash.as_str().to_owned();
    tokio::task::spawn_blocking(move || verify_now(&password, &hash))
        .await
        .unwrap_or(false)
}

/// Spends as long as [`verify`] does, for a login that names nobody; always `false`.
pub async fn verify_nobody(password: String) -> bool {
    tokio::task::spawn_blocking(move || {
        if let Some(hash) = DUMMY_HASH.as_deref() {
            let _ = verify_now(&password, hash);
        }
        false
    })
    .await
    .unwrap_or(false)
}

/// Makes the dummy hash now, so the first unknown login is not the only slow one.
pub async fn prepare() {
    let _ = tokio::task::spawn_blocking(|| DUMMY_HASH.is_some()).await;
}

/// A random password of [`GENERATED_PASSWORD_CHARS`] letters and digits.
pub fn generate_password() -> Result<String, HashError> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut password = String::with_capacity(GENERATED_PASSWORD_CHARS);
    while password.len() < GENERATED_PASSWORD_CHARS {
        let mut bytes = [0_u8; 32];
        getrandom::fill(&mut bytes).map_err(|error| HashError::Random(error.to_string()))?;
        // Rejection sampling: only bytes below the largest multiple of the alphabet's size,
        // so every character is equally likely.
        let limit = 256 - 256 % ALPHABET.len();
        let chars = bytes
            .iter()
            .filter(|byte| usize::from(**byte) < limit)
            .map(|byte| char::from(ALPHABET[usize::from(*byte) % ALPHABET.len()]));
        password.extend(chars.take(GENERATED_PASSWORD_CHARS - password.len()));
    }
    Ok(password)
}

fn hash_now(password: &str) -> Result<PasswordHash, HashError> {
    let mut salt = [0_u8; 16];
    getrandom::fill(&mut salt).map_err(|error| HashError::Random(error.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|error| HashError::Hash(error.to_string()))?;
    let phc = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|error| HashError::Hash(error.to_string()))?;
    PasswordHash::parse(&phc.to_string()).map_err(|problem| HashError::Hash(problem.to_string()))
}

fn verify_now(password: &str, hash: &str) -> bool {
    match Phc::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hash = hash("correct horse battery".to_owned())
            .await
            .expect("hash");
        assert!(hash.as_str().starts_with("$argon2id$v=19$"));
        assert!(verify("correct horse battery".to_owned(), hash.clone()).await);
        assert!(!verify("correct horse battery!".to_owned(), hash).await);
    }

    #[tokio::test]
    async fn the_same_password_hashes_differently_each_time() {
        let first = hash("correct horse battery".to_owned())
            .await
            .expect("hash");
        let second = hash("correct horse battery".to_owned())
            .await
            .expect("hash");
        assert_ne!(first, second);
    }

    #[tokio::test]
    async fn nobody_matches_the_dummy_hash() {
        assert!(!verify_nobody("anything at all".to_owned()).await);
    }

    #[test]
    fn generated_passwords_are_long_random_and_alphanumeric() {
        let first = generate_password().expect("password");
        let second = generate_password().expect("password");
        assert_eq!(first.chars().count(), GENERATED_PASSWORD_CHARS);
        assert!(first.chars().all(|c| c.is_ascii_alphanumeric()), "{first}");
        assert_ne!(first, second);
    }

    #[test]
    fn new_passwords_must_be_12_characters_to_1024_bytes() {
        let short = check_new_password("new_password", "elevenchars").expect_err("short");
        assert_eq!((short.status, short.code), (422, "too_short"));
        assert_eq!(short.field.as_deref(), Some("new_password"));
        let long = check_new_password("password", &"x".repeat(1025)).expect_err("long");
        assert_eq!((long.status, long.code), (422, "too_long"));
        assert!(check_new_password("password", "twelve chars").is_ok());
        assert!(check_new_password("password", &"x".repeat(1024)).is_ok());
    }
}
