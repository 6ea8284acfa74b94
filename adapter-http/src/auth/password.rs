//! Password hashing and verification with argon2id, always on the blocking threads: a hash
//! takes tens of milliseconds of CPU on purpose, which must not stall the request tasks.

use std::sync::{LazyLock, Mutex, PoisonError};

use argon2::password_hash::{Output, ParamsString, PasswordHash as Phc, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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
    let _turn = hashing_turn().await;
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|error| HashError::Task(error.to_string()))?
}

/// Whether `password` matches `hash`, checked on a blocking thread. A hash that cannot be
/// read matches nothing.
pub async fn verify(password: String, hash: PasswordHash) -> bool {
    let hash = hash.as_str().to_owned();
    let _turn = hashing_turn().await;
    tokio::task::spawn_blocking(move || verify_now(&password, &hash))
        .await
        .unwrap_or(false)
}

/// Spends as long as [`verify`] does, for a login that names nobody; always `false`.
pub async fn verify_nobody(password: String) -> bool {
    let _turn = hashing_turn().await;
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

/// Hashes run at once: as many as there are cores, since each keeps one busy. A burst of
/// logins waits its turn instead of holding memory for every hash at the same moment.
static HASHING: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    tokio::sync::Semaphore::new(cores)
});

async fn hashing_turn() -> Option<tokio::sync::SemaphorePermit<'static>> {
    HASHING.acquire().await.ok()
}

/// Argon2's working memory (19 MiB with the default parameters), kept between hashes. Freed
/// after each hash, it left the C allocator's heap in pieces it did not give back: the
/// server's memory grew by about 20 MiB per password hashed or checked. With the buffers
/// kept, it stays flat. No more are kept than hashes run at once.
static WORKSPACES: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// Runs `work` over a workspace of at least `blocks` blocks.
fn with_workspace<T>(blocks: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
    let kept = WORKSPACES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .pop();
    let mut memory = kept.unwrap_or_default();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let result = work(&mut memory);
    WORKSPACES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(memory);
    result
}

/// The hash of `password` under `argon2` with `salt`, `length` bytes long.
fn compute(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    length: usize,
) -> argon2::password_hash::Result<Output> {
    let blocks = argon2.params().block_count();
    Output::init_with(length, |out| {
        with_workspace(blocks, |memory| {
            argon2.hash_password_into_with_memory(password, salt, out, memory)
        })
        .map_err(argon2::password_hash::Error::from)
    })
}

fn hash_now(password: &str) -> Result<PasswordHash, HashError> {
    let failed = |error: argon2::password_hash::Error| HashError::Hash(error.to_string());
    let mut salt = [0_u8; 16];
    getrandom::fill(&mut salt).map_err(|error| HashError::Random(error.to_string()))?;
    let encoded = SaltString::encode_b64(&salt).map_err(failed)?;
    let argon2 = Argon2::default();
    let length = argon2
        .params()
        .output_len()
        .unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let phc = Phc {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon2.params()).map_err(failed)?,
        salt: Some(encoded.as_salt()),
        hash: Some(compute(&argon2, password.as_bytes(), &salt, length).map_err(failed)?),
    };
    PasswordHash::parse(&phc.to_string()).map_err(|problem| HashError::Hash(problem.to_string()))
}

fn verify_now(password: &str, hash: &str) -> bool {
    let matches = || -> argon2::password_hash::Result<bool> {
        let phc = Phc::new(hash)?;
        let algorithm = Algorithm::try_from(phc.algorithm)?;
        let version = phc.version.map_or(Ok(Version::V0x13), Version::try_from)?;
        let expected = phc.hash.ok_or(argon2::password_hash::Error::Password)?;
        let params = Params::try_from(&phc)?;
        let mut salt = [0_u8; 64];
        let salt = phc
            .salt
            .ok_or(argon2::password_hash::Error::SaltInvalid(
                argon2::password_hash::errors::InvalidValue::Malformed,
            ))?
            .decode_b64(&mut salt)?;
        let argon2 = Argon2::new(algorithm, version, params);
        // `Output`'s equality takes the same time wherever the two differ.
        Ok(compute(&argon2, password.as_bytes(), salt, expected.len())? == expected)
    };
    matches().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_agree_with_the_argon2_crates_own_hasher_and_verifier() {
        use argon2::{PasswordHasher, PasswordVerifier};

        // A hash stored before the workspaces were kept still verifies, and a new one
        // verifies with the library's own check: the stored format did not change.
        let salt = SaltString::encode_b64(b"sixteen byte slt").expect("salt");
        let theirs = Argon2::default()
            .hash_password(b"correct horse battery", &salt)
            .expect("hash")
            .to_string();
        assert!(verify_now("correct horse battery", &theirs));
        assert!(!verify_now("correct horse batter", &theirs));

        let ours = hash_now("correct horse battery").expect("hash");
        let parsed = Phc::new(ours.as_str()).expect("phc");
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_err()
        );
        assert!(!verify_now(
            "anything",
            "$argon2id$v=19$m=8,t=1,p=1$bm90aGluZw"
        ));
    }

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
