//! The first admin: on a database without staff, an `admin` account with a random password,
//! written to a file only its owner can read. Only the file's path is logged.

use std::io::Write;
use std::path::{Path, PathBuf};

use shiftdesk_core::Service;
use shiftdesk_core::error::{AccountError, AdminError};
use shiftdesk_core::staff::{Actor, Context};
use shiftdesk_core::text::{DisplayName, Login};

use crate::auth::password::{self, HashError};
use crate::config::DatabaseUrl;

/// The login of the first admin.
pub const ADMIN_LOGIN: &str = "admin";
/// The display name of the first admin.
pub const ADMIN_DISPLAY_NAME: &str = "Administrator";
/// The password file for memory and PostgreSQL stores, in the working directory.
pub const DEFAULT_PASSWORD_FILE: &str = "shiftdesk-admin-password";

/// Why the first admin could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// The password could not be made or hashed.
    #[error("cannot make the first admin's password: {0}")]
    Password(#[from] HashError),
    /// The password file cannot be written.
    #[error("cannot write the first admin's password file {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },
    /// The store refused.
    #[error("cannot create the first admin: {0}")]
    Account(#[from] AccountError),
    /// The store could not say whether staff exist.
    #[error("cannot read the staff list: {0}")]
    Staff(#[from] AdminError),
}

/// Where the first admin's password goes: the configured file, else beside a SQLite
/// database as `<database>.admin-password`, else [`DEFAULT_PASSWORD_FILE`].
pub fn password_path(configured: Option<&Path>, database: &DatabaseUrl) -> PathBuf {
    match (configured, database) {
        (Some(path), _) => path.to_owned(),
        (None, DatabaseUrl::Sqlite(file)) => {
            let mut name = file.as_os_str().to_owned();
            name.push(".admin-password");
            PathBuf::from(name)
        }
        (None, DatabaseUrl::Memory | DatabaseUrl::Postgres(_)) => {
            PathBuf::from(DEFAULT_PASSWORD_FILE)
        }
    }
}

/// Creates the first admin if no staff member exists, with a random password written to
/// `path` (mode 0600; an older file there is replaced). Returns the admin's login when one
/// was created, `None` when staff exist already.
pub async fn first_admin(service: &Service, path: &Path) -> Result<Option<Login>, BootstrapError> {
    let system = Context::new(Actor::System);
    if !service.agents(&system).await?.is_empty() {
        return Ok(None);
    }
    let secret = password::generate_password()?;
    let hash = password::hash(secret.clone()).await?;
    let write_error = |source| BootstrapError::Write {
        path: path.to_owned(),
        source,
    };

    // The password is on disk before the admin exists, so an admin is never created whose
    // password nobody can read; the file takes its name only once the admin is created.
    let mut temporary = path.as_os_str().to_owned();
    let nonce = getrandom::u64().map_err(|error| HashError::Random(error.to_string()))?;
    temporary.push(format!(".{nonce:016x}.tmp"));
    let temporary = PathBuf::from(temporary);
    write_private(&temporary, &secret).map_err(|source| {
        let _ = std::fs::remove_file(&temporary);
        write_error(source)
    })?;

    let (login, display_name) = match (
        Login::parse(ADMIN_LOGIN),
        DisplayName::parse(ADMIN_DISPLAY_NAME),
    ) {
        (Ok(login), Ok(name)) => (login, name),
        (Err(problem), _) | (_, Err(problem)) => {
            let _ = std::fs::remove_file(&temporary);
            return Err(AccountError::Invalid(problem.at("login")).into());
        }
    };
    let created = service.bootstrap_admin(login, display_name, hash).await;
    match created {
        Ok(Some(admin)) => {
            std::fs::rename(&temporary, path).map_err(|source| {
                let _ = std::fs::remove_file(&temporary);
                write_error(source)
            })?;
            Ok(Some(admin.login))
        }
        Ok(None) => {
            let _ = std::fs::remove_file(&temporary);
            Ok(None)
        }
        Err(error) => {
            let _ = std::fs::remove_file(&temporary);
            Err(error.into())
        }
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

    #[test]
    fn the_password_file_sits_beside_sqlite_or_in_the_working_directory() {
        let sqlite = DatabaseUrl::Sqlite(PathBuf::from("/var/lib/team.db"));
        assert_eq!(
            password_path(None, &sqlite),
            PathBuf::from("/var/lib/team.db.admin-password")
        );
        assert_eq!(
            password_path(None, &DatabaseUrl::Memory),
            PathBuf::from(DEFAULT_PASSWORD_FILE)
        );
        let configured = PathBuf::from("/run/secrets/admin");
        assert_eq!(password_path(Some(&configured), &sqlite), configured);
    }
}
