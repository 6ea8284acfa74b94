//! The key that signs access tokens.
//!
//! A configured key file always wins. Without one, the choice follows the store:
//! - SQLite: a 256-bit key generated once and kept beside the database file as
//!   `<database>.jwt-key` (mode 0600), so tokens survive a restart. It is written to a
//!   temporary file first and linked into place, which fails if the key already exists: two
//!   servers starting at once both end up reading the one key that won.
//! - memory: a key that lasts until exit, like the data it protects.
//! - PostgreSQL: refused. A production store is shared by servers that must agree on the
//!   key, and a key made up on one machine would silently log everyone out elsewhere.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::DatabaseUrl;

/// The length of a generated key, in bytes (256 bits).
pub const KEY_BYTES: usize = 32;

/// A token-signing key. Its `Debug` output does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    /// The key's bytes, for signing.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    fn generate() -> Result<SigningKey, KeyError> {
        let mut bytes = vec![0_u8; KEY_BYTES];
        getrandom::fill(&mut bytes).map_err(|error| KeyError::Random(error.to_string()))?;
        Ok(SigningKey(bytes))
    }

    fn to_hex(&self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// Parses a key file's text: hexadecimal digits, at least [`KEY_BYTES`] bytes' worth,
    /// surrounding whitespace ignored.
    fn from_hex(text: &str) -> Result<SigningKey, &'static str> {
        let text = text.trim();
        if !text.len().is_multiple_of(2) || !text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err("it must hold hexadecimal digits only, two per byte");
        }
        if text.len() < KEY_BYTES * 2 {
            return Err("it must hold at least 64 hexadecimal digits (256 bits)");
        }
        let bytes = (0..text.len())
            .step_by(2)
            .map(|at| u8::from_str_radix(&text[at..at + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| "it must hold hexadecimal digits only")?;
        Ok(SigningKey(bytes))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({} bytes)", self.0.len())
    }
}

/// Where the key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    /// The configured key file.
    Configured(PathBuf),
    /// The file kept beside the SQLite database, generated now.
    Generated(PathBuf),
    /// The file kept beside the SQLite database, generated on an earlier start.
    Kept(PathBuf),
    /// Made up for this run only.
    Ephemeral,
}

/// Why there is no key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The configured or kept key file cannot be read.
    #[error("cannot read the token key file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },
    /// The key file holds something that is not a key.
    #[error("the token key file {path} is not usable: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why, in words.
        reason: &'static str,
    },
    /// The key file beside the database cannot be written.
    #[error("cannot write the token key file {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },
    /// PostgreSQL needs a configured key.
    #[error(
        "--jwt-key-file (SHIFTDESK_JWT_KEY_FILE) is required with PostgreSQL: every server \
         sharing the database must sign with the same key"
    )]
    Required,
    /// The operating system gave no random bytes.
    #[error("cannot generate a token key: {0}")]
    Random(String),
}

/// The key file kept beside a SQLite database file.
pub fn key_path_beside(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".jwt-key");
    PathBuf::from(name)
}

/// Where the key will come from, decided before anything is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyPlan {
    /// Read the configured file.
    File(PathBuf),
    /// Read, or generate once, the file beside the SQLite database.
    Beside(PathBuf),
    /// Generate a key for this run only.
    Ephemeral,
}

/// Decides where the key comes from; refuses PostgreSQL without a configured key file.
pub fn key_plan(configured: Option<&Path>, database: &DatabaseUrl) -> Result<KeyPlan, KeyError> {
    match (configured, database) {
        (Some(path), _) => Ok(KeyPlan::File(path.to_owned())),
        (None, DatabaseUrl::Memory) => Ok(KeyPlan::Ephemeral),
        (None, DatabaseUrl::Sqlite(file)) => Ok(KeyPlan::Beside(key_path_beside(file))),
        (None, DatabaseUrl::Postgres(_)) => Err(KeyError::Required),
    }
}

/// Reads or generates the key as planned. Warns when the key was not configured, naming
/// the file but never the key.
pub fn load_key(plan: &KeyPlan) -> Result<(SigningKey, KeyOrigin), KeyError> {
    match plan {
        KeyPlan::File(path) => Ok((read_key(path)?, KeyOrigin::Configured(path.clone()))),
        KeyPlan::Ephemeral => {
            tracing::warn!("no --jwt-key-file: tokens are signed with a key that lasts until exit");
            Ok((SigningKey::generate()?, KeyOrigin::Ephemeral))
        }
        KeyPlan::Beside(path) => {
            let (key, origin) = kept_key(path)?;
            tracing::warn!(
                path = %path.display(),
                "no --jwt-key-file: tokens are signed with the key kept beside the database"
            );
            Ok((key, origin))
        }
    }
}

/// The signing key for this configuration, and where it came from: [`key_plan`], then
/// [`load_key`].
pub fn signing_key(
    configured: Option<&Path>,
    database: &DatabaseUrl,
) -> Result<(SigningKey, KeyOrigin), KeyError> {
    load_key(&key_plan(configured, database)?)
}

fn read_key(path: &Path) -> Result<SigningKey, KeyError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
        path: path.to_owned(),
        source,
    })?;
    SigningKey::from_hex(&text).map_err(|reason| KeyError::Invalid {
        path: path.to_owned(),
        reason,
    })
}

/// Reads the key at `path`, generating it first if it does not exist yet.
fn kept_key(path: &Path) -> Result<(SigningKey, KeyOrigin), KeyError> {
    if path.exists() {
        return Ok((read_key(path)?, KeyOrigin::Kept(path.to_owned())));
    }
    let key = SigningKey::generate()?;
    let write_error = |source| KeyError::Write {
        path: path.to_owned(),
        source,
    };

    // Complete in a private temporary file first, so nobody ever reads half a key.
    let mut temporary = path.as_os_str().to_owned();
    let nonce = getrandom::u64().map_err(|error| KeyError::Random(error.to_string()))?;
    temporary.push(format!(".{}.{nonce:016x}.tmp", std::process::id()));
    let temporary = PathBuf::from(temporary);
    let written = write_private(&temporary, &key.to_hex());
    if let Err(source) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(write_error(source));
    }

    // Linking fails if the name is taken: then another server was first, and its key counts.
    let linked = std::fs::hard_link(&temporary, path);
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => Ok((key, KeyOrigin::Generated(path.to_owned()))),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok((read_key(path)?, KeyOrigin::Kept(path.to_owned())))
        }
        Err(source) => Err(write_error(source)),
    }
}

/// Creates `path`, which must not exist, readable by its owner only, and syncs `text` to it.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite_in(dir: &tempfile::TempDir) -> (DatabaseUrl, PathBuf) {
        let database = dir.path().join("team.db");
        let key = key_path_beside(&database);
        (DatabaseUrl::Sqlite(database), key)
    }

    #[test]
    fn a_configured_key_file_is_read_as_hex() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("key");
        std::fs::write(&path, format!("{}\n", "ab".repeat(32))).expect("write");

        let (key, origin) = signing_key(Some(&path), &DatabaseUrl::Memory).expect("key");

        assert_eq!(key.bytes(), &[0xab; 32][..]);
        assert_eq!(origin, KeyOrigin::Configured(path));
    }

    #[test]
    fn a_configured_key_wins_over_the_kept_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (database, kept) = sqlite_in(&dir);
        let path = dir.path().join("key");
        std::fs::write(&path, "01".repeat(40)).expect("write");

        let (key, _) = signing_key(Some(&path), &database).expect("key");

        assert_eq!(key.bytes(), &[0x01; 40][..]);
        assert!(!kept.exists(), "no key is generated when one is configured");
    }

    #[test]
    fn a_short_or_garbled_key_file_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("key");
        for text in [
            "ab".repeat(31),
            "zz".repeat(32),
            "abc".to_owned(),
            String::new(),
        ] {
            std::fs::write(&path, &text).expect("write");
            let error = signing_key(Some(&path), &DatabaseUrl::Memory).expect_err(&text);
            assert!(matches!(error, KeyError::Invalid { .. }), "{text}: {error}");
        }
    }

    #[test]
    fn a_missing_key_file_is_refused_with_its_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("absent");
        let error = signing_key(Some(&path), &DatabaseUrl::Memory).expect_err("missing");
        assert!(error.to_string().contains("absent"), "{error}");
    }

    #[test]
    fn sqlite_generates_a_key_once_and_keeps_it_beside_the_database() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (database, kept) = sqlite_in(&dir);

        let (first, origin) = signing_key(None, &database).expect("first start");
        assert_eq!(origin, KeyOrigin::Generated(kept.clone()));
        assert_eq!(first.bytes().len(), KEY_BYTES);
        assert!(kept.ends_with("team.db.jwt-key"));

        let (second, origin) = signing_key(None, &database).expect("second start");
        assert_eq!(origin, KeyOrigin::Kept(kept));
        assert_eq!(first, second);
    }

    #[cfg(unix)]
    #[test]
    fn the_kept_key_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let (database, kept) = sqlite_in(&dir);

        signing_key(None, &database).expect("key");

        let mode = std::fs::metadata(&kept)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn servers_starting_at_once_agree_on_one_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (database, _) = sqlite_in(&dir);

        let keys: Vec<SigningKey> = std::thread::scope(|scope| {
            let starts: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| signing_key(None, &database).map(|(key, _)| key)))
                .collect();
            starts
                .into_iter()
                .map(|start| start.join().expect("thread").expect("key"))
                .collect()
        });

        assert!(keys.windows(2).all(|pair| pair[0] == pair[1]));
        let leftovers = std::fs::read_dir(dir.path()).expect("list").count();
        assert_eq!(
            leftovers, 1,
            "only the key file remains beside the absent database"
        );
    }

    #[test]
    fn the_plan_follows_the_store_and_writes_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (database, kept) = sqlite_in(&dir);
        let configured = dir.path().join("key");

        assert_eq!(
            key_plan(Some(&configured), &database).expect("plan"),
            KeyPlan::File(configured)
        );
        assert_eq!(
            key_plan(None, &database).expect("plan"),
            KeyPlan::Beside(kept.clone())
        );
        assert_eq!(
            key_plan(None, &DatabaseUrl::Memory).expect("plan"),
            KeyPlan::Ephemeral
        );
        assert!(!kept.exists());
    }

    #[test]
    fn memory_gets_a_fresh_key_each_start() {
        let (first, origin) = signing_key(None, &DatabaseUrl::Memory).expect("key");
        let (second, _) = signing_key(None, &DatabaseUrl::Memory).expect("key");
        assert_eq!(origin, KeyOrigin::Ephemeral);
        assert_eq!(first.bytes().len(), KEY_BYTES);
        assert_ne!(first, second);
    }

    #[test]
    fn postgres_without_a_key_file_refuses_to_start() {
        let database = DatabaseUrl::Postgres("postgres://db/shiftdesk".to_owned());
        let error = signing_key(None, &database).expect_err("no key");
        assert!(matches!(error, KeyError::Required));
        assert!(error.to_string().contains("--jwt-key-file"), "{error}");
    }

    #[test]
    fn the_key_never_shows_in_debug_output() {
        let (key, _) = signing_key(None, &DatabaseUrl::Memory).expect("key");
        let hex = key.to_hex();
        assert!(!format!("{key:?}").contains(&hex[..8]));
    }
}
