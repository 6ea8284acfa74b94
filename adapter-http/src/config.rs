//! The server's settings: flags, each with an environment variable and a documented default.
//!
//! Clap reads the flags; [`Args::database`] then parses the database URL in a pure function
//! so a bad value is reported with the flag's name and without the password it may carry.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// The database used when none is configured: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://shiftdesk.db";

/// `shiftdesk-server`: Shiftdesk's HTTP server.
#[derive(Clone, Parser)]
#[command(name = "shiftdesk-server", version, about, long_about = None)]
pub struct Args {
    /// Where the data lives: `sqlite://PATH` (a database file, created if missing),
    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`, or `memory` (everything is lost on
    /// exit). The schema is migrated on start.
    #[arg(long, env = "DATABASE_URL", value_name = "URL", default_value = DEFAULT_DATABASE_URL,
        hide_env_values = true)]
    pub database_url: String,

    /// The address and port to listen on.
    #[arg(
        long,
        env = "SHIFTDESK_BIND",
        value_name = "ADDR",
        default_value = "127.0.0.1:8080"
    )]
    pub bind: SocketAddr,

    /// Which log lines to write, as a tracing filter directive such as `info` or
    /// `warn,shiftdesk_http=debug`.
    #[arg(
        long,
        env = "SHIFTDESK_LOG",
        value_name = "FILTER",
        default_value = "info"
    )]
    pub log_level: String,

    /// How log lines look: `plain` text for people, or `json`, one object a line, for
    /// collectors.
    #[arg(long, env = "SHIFTDESK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Plain)]
    pub log_format: LogFormat,

    /// A file holding the key that signs access tokens, as at least 64 hexadecimal digits
    /// (256 bits), e.g. from `openssl rand -hex 32`. Without it, a SQLite database keeps a
    /// generated key beside its file, `memory` uses a key that lasts until exit, and
    /// PostgreSQL refuses to start.
    #[arg(long, env = "SHIFTDESK_JWT_KEY_FILE", value_name = "PATH")]
    pub jwt_key_file: Option<PathBuf>,

    /// How long an access token is accepted after it is issued, such as `8h`, `90m` or
    /// `1h 30m`.
    #[arg(long, env = "SHIFTDESK_TOKEN_TTL", value_name = "DURATION", default_value = "8h",
        value_parser = parse_ttl)]
    pub token_ttl: Duration,

    /// A file holding the secret shared with the ticketing platform (at least 32 bytes),
    /// which signs customers' external ids. Without it, signed customer sign-ins are
    /// answered 404 `customers_disabled`.
    #[arg(long, env = "SHIFTDESK_CUSTOMER_SECRET_FILE", value_name = "PATH")]
    pub customer_secret_file: Option<PathBuf>,

    /// Whether customers without a platform signature may chat, each as a new anonymous
    /// customer.
    #[arg(long, env = "SHIFTDESK_ANONYMOUS_CUSTOMERS", default_value_t = false)]
    pub anonymous_customers: bool,

    /// Whether a user may keep several WebSocket connections (devices) at once, each
    /// receiving the user's events. Without it, a new connection closes the older one with
    /// code 4001.
    #[arg(long, env = "SHIFTDESK_WS_SEVERAL_DEVICES", default_value_t = false)]
    pub ws_several_devices: bool,

    /// How many WebSocket connections are accepted per second across all clients, after a
    /// burst of 500; beyond, 429 `too_many_connections` with `Retry-After`.
    #[arg(
        long,
        env = "SHIFTDESK_WS_ACCEPT_PER_SECOND",
        value_name = "N",
        default_value = "200"
    )]
    pub ws_accept_per_second: std::num::NonZeroU32,

    /// Where the first admin's password is written when the database has no staff yet.
    /// Without it: beside a SQLite database as `<database>.admin-password`, else
    /// `shiftdesk-admin-password` in the working directory.
    #[arg(long, env = "SHIFTDESK_ADMIN_PASSWORD_FILE", value_name = "PATH")]
    pub admin_password_file: Option<PathBuf>,
}

/// Parses a `--token-ttl` value: a positive humantime duration.
fn parse_ttl(value: &str) -> Result<Duration, String> {
    match humantime::parse_duration(value) {
        Ok(ttl) if ttl.as_secs() >= 1 => Ok(ttl),
        Ok(_) => Err("must be at least one second".to_owned()),
        Err(error) => Err(format!("{error}; write e.g. `8h` or `90m`")),
    }
}

impl Args {
    /// The parsed `--database-url`.
    pub fn database(&self) -> Result<DatabaseUrl, ConfigError> {
        DatabaseUrl::parse(&self.database_url)
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable text.
    Plain,
    /// One JSON object per line.
    Json,
}

/// Where the data lives.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// Everything in process memory, lost on exit.
    Memory,
    /// A SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL server, by its full URL (which may hold a password: show it only
    /// through [`DatabaseUrl::redacted`] or `Display`).
    Postgres(String),
}

/// A setting that cannot be used, named by its flag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The `--database-url` value has an unknown form.
    #[error(
        "--database-url (DATABASE_URL): {given:?} is not `memory`, `sqlite://PATH` or \
         `postgres://…`"
    )]
    UnknownDatabase {
        /// The value given, with any password hidden.
        given: String,
    },
    /// A `sqlite://` URL without a path.
    #[error("--database-url (DATABASE_URL): `sqlite://` needs a file path after it")]
    MissingSqlitePath,
    /// SQLite's in-memory database instead of a file.
    #[error("--database-url (DATABASE_URL): `sqlite://:memory:` is not a file; use `memory`")]
    SqliteInMemory,
    /// A `postgres://` URL without a host.
    #[error("--database-url (DATABASE_URL): {given:?} names no host")]
    MissingPostgresHost {
        /// The value given, with any password hidden.
        given: String,
    },
    /// The `--log-level` value is not a filter directive.
    #[error("--log-level (SHIFTDESK_LOG): {given:?} is not a log filter: {reason}")]
    LogFilter {
        /// The value given.
        given: String,
        /// What the filter parser said.
        reason: String,
    },
}

impl DatabaseUrl {
    /// Parses a `--database-url` value.
    pub fn parse(value: &str) -> Result<DatabaseUrl, ConfigError> {
        let value = value.trim();
        if value == "memory" {
            return Ok(DatabaseUrl::Memory);
        }
        if let Some(path) = value.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(ConfigError::MissingSqlitePath);
            }
            if path.starts_with(":memory:") {
                // Every pooled connection would get a database of its own, and only the first
                // the schema.
                return Err(ConfigError::SqliteInMemory);
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        for scheme in ["postgres://", "postgresql://"] {
            if let Some(rest) = value.strip_prefix(scheme) {
                let authority = rest.split(['/', '?']).next().unwrap_or("");
                let host = authority.rsplit('@').next().unwrap_or("");
                if host.is_empty() {
                    return Err(ConfigError::MissingPostgresHost {
                        given: redact(value),
                    });
                }
                return Ok(DatabaseUrl::Postgres(value.to_owned()));
            }
        }
        Err(ConfigError::UnknownDatabase {
            given: redact(value),
        })
    }

    /// The URL as it may be logged: a password is replaced by `***`.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Memory => "memory".to_owned(),
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => redact(url),
        }
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

/// `scheme://user:password@host/…` with the password replaced by `***`, and the value of any
/// `password=` query parameter too; anything else as it is.
///
/// The user part runs to the last `@` of the whole URL, not of the host part: a password may
/// hold `/`, `?`, `#` or `@` unescaped, and must stay hidden even in a URL that does not
/// parse.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (userinfo, after) = match rest.rsplit_once('@') {
        Some((userinfo, after)) => (Some(userinfo), after),
        None => (None, rest),
    };
    let user = match userinfo {
        Some(userinfo) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@"),
            None => format!("{userinfo}@"),
        },
        None => String::new(),
    };
    format!("{scheme}://{user}{}", redact_query_password(after))
}

/// `…?password=secret&…` with the secret replaced by `***`.
fn redact_query_password(rest: &str) -> String {
    let Some((before, query)) = rest.split_once('?') else {
        return rest.to_owned();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{before}?{}", pairs.join("&"))
}

/// The levels a bare `--log-level` word may name.
const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

/// Checks a `--log-level` value before it is used.
///
/// Each comma-separated directive is a level, or `target=level`, or a span filter in `[…]`.
/// A bare word that is not a level is refused: the filter syntax would read it as a target
/// to log at every level, which silences everything else, fatal errors included.
pub fn parse_log_filter(value: &str) -> Result<tracing_subscriber::EnvFilter, ConfigError> {
    for directive in value.split(',').map(str::trim) {
        let bare_word = !directive.contains(['=', '[']);
        if bare_word && !LEVELS.contains(&directive.to_ascii_lowercase().as_str()) {
            return Err(ConfigError::LogFilter {
                given: value.to_owned(),
                reason: format!(
                    "{directive:?} is neither a level ({}) nor target=level",
                    LEVELS.join(", ")
                ),
            });
        }
    }
    tracing_subscriber::EnvFilter::builder()
        .parse(value)
        .map_err(|error| ConfigError::LogFilter {
            given: value.to_owned(),
            reason: error.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_whatever_characters_they_hold() {
        for password in ["pa/ss", "pa#ss", "pa?ss", "p@ss", "pa:ss"] {
            let url = format!("postgres://postgres:{password}@127.0.0.1:5999/x");
            let shown = redact(&url);
            assert_eq!(shown, "postgres://postgres:***@127.0.0.1:5999/x", "{url}");
        }
        assert_eq!(
            redact("postgres://postgres@db/x?sslmode=disable&password=qsecret"),
            "postgres://postgres@db/x?sslmode=disable&password=***"
        );
        let error = DatabaseUrl::parse("mysql://root:pa/ss@db/x").unwrap_err();
        assert!(!error.to_string().contains("pa/ss"), "{error}");
    }

    #[test]
    fn a_bare_word_that_is_not_a_level_is_refused() {
        for value in ["debg", "warning", "nonsense", "", "info,debg"] {
            let error = parse_log_filter(value).unwrap_err();
            assert!(
                error.to_string().contains("--log-level"),
                "{value}: {error}"
            );
        }
        for value in [
            "info",
            "WARN",
            "warn,shiftdesk_http=debug",
            "off",
            "[request]=debug",
        ] {
            assert!(parse_log_filter(value).is_ok(), "{value}");
        }
    }

    #[test]
    fn sqlite_in_memory_is_refused_for_the_memory_store() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://:memory:"),
            Err(ConfigError::SqliteInMemory)
        );
    }

    #[test]
    fn memory_names_the_in_process_store() {
        assert_eq!(DatabaseUrl::parse("memory"), Ok(DatabaseUrl::Memory));
    }

    #[test]
    fn sqlite_url_names_a_file_path() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/team.db"),
            Ok(DatabaseUrl::Sqlite(PathBuf::from("data/team.db")))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/shiftdesk.db"),
            Ok(DatabaseUrl::Sqlite(PathBuf::from("/var/lib/shiftdesk.db")))
        );
    }

    #[test]
    fn the_default_is_a_sqlite_file_in_the_working_directory() {
        assert_eq!(
            DatabaseUrl::parse(DEFAULT_DATABASE_URL),
            Ok(DatabaseUrl::Sqlite(PathBuf::from("shiftdesk.db")))
        );
    }

    #[test]
    fn postgres_urls_are_kept_whole_for_the_driver() {
        for url in [
            "postgres://postgres@127.0.0.1:5432/test",
            "postgresql://app:secret@db.internal/shiftdesk?sslmode=require",
        ] {
            assert_eq!(
                DatabaseUrl::parse(url),
                Ok(DatabaseUrl::Postgres(url.to_owned()))
            );
        }
    }

    #[test]
    fn unknown_forms_are_refused_naming_the_flag() {
        for value in [
            "",
            "shiftdesk.db",
            "mysql://localhost/db",
            "Memory",
            "sqlite:x.db",
        ] {
            let error = DatabaseUrl::parse(value).expect_err(value);
            assert!(
                matches!(error, ConfigError::UnknownDatabase { .. }),
                "{value}"
            );
            assert!(error.to_string().starts_with("--database-url"), "{error}");
        }
    }

    #[test]
    fn sqlite_without_a_path_is_refused() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://"),
            Err(ConfigError::MissingSqlitePath)
        );
    }

    #[test]
    fn postgres_without_a_host_is_refused_without_its_password() {
        let error = DatabaseUrl::parse("postgres://app:hunter2@/shiftdesk").expect_err("no host");
        let message = error.to_string();
        assert!(message.contains("--database-url"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
    }

    #[test]
    fn a_refused_url_does_not_show_its_password() {
        let error = DatabaseUrl::parse("mysql://app:hunter2@db/shiftdesk").expect_err("mysql");
        assert!(!error.to_string().contains("hunter2"), "{error}");
        assert!(error.to_string().contains("app:***@db"), "{error}");
    }

    #[test]
    fn passwords_are_hidden_in_every_rendering() {
        let url = DatabaseUrl::parse("postgres://app:hunter2@db:5432/shiftdesk").expect("valid");
        assert_eq!(url.redacted(), "postgres://app:***@db:5432/shiftdesk");
        assert!(!url.to_string().contains("hunter2"));
        assert!(!format!("{url:?}").contains("hunter2"));
    }

    #[test]
    fn urls_without_a_password_are_shown_as_given() {
        assert_eq!(
            redact("postgres://postgres@127.0.0.1:5432/test"),
            "postgres://postgres@127.0.0.1:5432/test"
        );
        assert_eq!(redact("postgres://db/x"), "postgres://db/x");
    }

    #[test]
    fn an_at_sign_in_the_password_is_hidden_too() {
        assert_eq!(
            redact("postgres://app:p@ss@db/x"),
            "postgres://app:***@db/x"
        );
    }

    /// The defaults as declared, read from the command's definition so that variables set in
    /// the environment running the tests do not matter.
    fn declared_default(flag: &str) -> Option<String> {
        use clap::CommandFactory;
        let command = Args::command();
        let arg = command
            .get_arguments()
            .find(|arg| arg.get_long() == Some(flag))
            .unwrap_or_else(|| panic!("no flag --{flag}"));
        arg.get_default_values()
            .first()
            .map(|value| value.to_string_lossy().into_owned())
    }

    #[test]
    fn every_flag_has_its_documented_default() {
        assert_eq!(
            declared_default("database-url").as_deref(),
            Some(DEFAULT_DATABASE_URL)
        );
        assert_eq!(declared_default("bind").as_deref(), Some("127.0.0.1:8080"));
        assert_eq!(declared_default("log-level").as_deref(), Some("info"));
        assert_eq!(declared_default("log-format").as_deref(), Some("plain"));
        assert_eq!(declared_default("jwt-key-file"), None);
        assert_eq!(declared_default("token-ttl").as_deref(), Some("8h"));
        assert_eq!(declared_default("customer-secret-file"), None);
        assert_eq!(
            declared_default("anonymous-customers").as_deref(),
            Some("false")
        );
        assert_eq!(declared_default("admin-password-file"), None);
    }

    #[test]
    fn token_ttls_are_durations_of_a_second_or_more() {
        assert_eq!(parse_ttl("8h"), Ok(Duration::from_secs(8 * 3600)));
        assert_eq!(parse_ttl("1h 30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_ttl("0s").is_err());
        assert!(parse_ttl("eight hours").is_err());
    }

    #[test]
    fn every_flag_can_come_from_the_environment() {
        use clap::CommandFactory;
        let command = Args::command();
        let mut missing: Vec<&str> = command
            .get_arguments()
            .filter(|arg| {
                arg.get_long()
                    .is_some_and(|long| long != "help" && long != "version")
            })
            .filter(|arg| arg.get_env().is_none())
            .filter_map(|arg| arg.get_long())
            .collect();
        missing.sort_unstable();
        assert_eq!(missing, Vec::<&str>::new());
    }

    #[test]
    fn a_bad_log_filter_is_refused_naming_the_flag() {
        let error = parse_log_filter("info,[=").expect_err("bad filter");
        assert!(error.to_string().starts_with("--log-level"), "{error}");
        assert!(parse_log_filter("warn,shiftdesk_http=debug").is_ok());
    }
}
