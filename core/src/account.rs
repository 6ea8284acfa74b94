//! Staff accounts: password hashes, token versions, and the rules of logging in.
//!
//! `core` never hashes or verifies a password: argon2 is slow on purpose and belongs on the
//! adapter's blocking threads. Here a [`PasswordHash`] is an opaque value whose shape has been
//! checked, and a login is two steps: the service hands the adapter a [`LoginCandidate`] to
//! verify the password against, and the adapter reports back what it found.
//!
//! Every token the adapter issues carries the staff member's [`TokenVersion`]. Any change that
//! must end existing sessions moves the version up, and a token with an older version is
//! refused on its next request.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::input::Problem;
use crate::staff::{Agent, Role};

/// A password hash in PHC string format made by argon2id, such as
/// `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`.
///
/// Only its shape and size are checked; whether a password matches is the adapter's business.
/// It never shows in `Debug` output and cannot be serialized, so it cannot leak into a log, an
/// audit record or a response by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// The longest hash accepted, in bytes: argon2id's own strings are about 100.
    pub const MAX_LEN: usize = 256;

    /// Parses a hash as a password hasher wrote it, or says what is wrong with it.
    pub fn parse(raw: &str) -> Result<Self, Problem> {
        check_phc(raw).map(|()| Self(raw.to_owned()))
    }

    /// The hash itself, for the verifier and the store.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// Checks `$argon2id$v=<n>$<params>$<salt>$<hash>`, salt and hash in unpadded base64.
fn check_phc(raw: &str) -> Result<(), Problem> {
    const SHAPE: Problem = Problem::Invalid("must be an argon2id hash in PHC string format");
    if raw.is_empty() {
        return Err(Problem::Empty);
    }
    if raw.len() > PasswordHash::MAX_LEN {
        return Err(Problem::TooLong {
            max: PasswordHash::MAX_LEN,
        });
    }
    let parts: Vec<&str> = raw.split('$').collect();
    let [empty, algorithm, version, params, salt, hash] = parts.as_slice() else {
        return Err(SHAPE);
    };
    let number = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let version_ok = version.strip_prefix("v=").is_some_and(number);
    let params_ok = params.split(',').all(|param| {
        param
            .split_once('=')
            .is_some_and(|(name, value)| matches!(name, "m" | "t" | "p") && number(value))
    });
    let base64 = |text: &str| {
        !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    };
    if empty.is_empty()
        && *algorithm == "argon2id"
        && version_ok
        && params_ok
        && base64(salt)
        && base64(hash)
    {
        Ok(())
    } else {
        Err(SHAPE)
    }
}

/// How many times a staff member's sessions have been ended: every token carries the version
/// it was issued under, and a token whose version is not the current one is refused.
///
/// New staff start at [`TokenVersion::FIRST`]; it only ever goes up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct TokenVersion(i64);

impl TokenVersion {
    /// The version of a new staff member.
    pub const FIRST: TokenVersion = TokenVersion(1);

    /// A version read from storage or a token: a positive number.
    pub fn new(version: i64) -> Result<Self, Problem> {
        if version >= 1 {
            Ok(Self(version))
        } else {
            Err(Problem::OutOfRange {
                min: 1,
                max: i64::MAX,
            })
        }
    }

    /// The version after this one; stays at the largest version rather than wrapping.
    #[must_use]
    pub fn next(self) -> Self {
        Self(self.0.saturating_add(1))
    }

    /// The number, for storage and tokens.
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for TokenVersion {
    type Error = Problem;

    fn try_from(version: i64) -> Result<Self, Problem> {
        Self::new(version)
    }
}

impl From<TokenVersion> for i64 {
    fn from(version: TokenVersion) -> i64 {
        version.0
    }
}

impl fmt::Display for TokenVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A staff member with what it takes to log in as them, as a store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The staff member.
    pub agent: Agent,
    /// Their password hash; `None` until someone sets a password.
    pub password_hash: Option<PasswordHash>,
    /// The version their tokens must carry.
    pub token_version: TokenVersion,
}

/// What the adapter verifies a password against, for a staff member who may log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginCandidate {
    /// Who would be logged in.
    pub agent: Agent,
    /// The hash to verify the password against.
    pub password_hash: PasswordHash,
    /// The version of the account when it was read; the login counts only if it still holds.
    pub token_version: TokenVersion,
}

/// Why a login attempt failed. Adapters tell the caller nothing more than "wrong login or
/// password" whatever the reason; the reason is for the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum LoginRefusal {
    /// No staff member has this login (or it is not a login at all).
    #[error("no staff member has this login")]
    UnknownLogin,
    /// The staff member is deactivated.
    #[error("the staff member is inactive")]
    Inactive,
    /// No password was ever set for the staff member.
    #[error("the staff member has no password")]
    NoPassword,
    /// The password does not match.
    #[error("the password does not match")]
    WrongPassword,
    /// The password or the account changed while the password was being verified.
    #[error("the account changed during the login")]
    Changed,
}

/// A login that stands: the staff member to issue a token for, and the version it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Who logged in, as they are now.
    pub agent: Agent,
    /// The version the token must carry.
    pub token_version: TokenVersion,
}

/// What the per-request check of a token needs about its staff member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenState {
    /// The version a token must carry to be accepted.
    pub token_version: TokenVersion,
    /// The role the staff member has now.
    pub role: Role,
    /// Whether they are active; tokens of inactive staff are refused.
    pub active: bool,
}

impl TokenState {
    /// Whether a token issued with `version` and `role` still speaks for this staff member.
    pub fn accepts(&self, version: TokenVersion, role: Role) -> bool {
        self.active && self.token_version == version && self.role == role
    }
}

impl From<&Account> for TokenState {
    fn from(account: &Account) -> Self {
        Self {
            token_version: account.token_version,
            role: account.agent.role,
            active: account.agent.active,
        }
    }
}

/// The login as the caller typed it, kept for the audit record of a failed attempt: control
/// characters dropped and cut to 64 characters, so the record stays one short line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AttemptedLogin(String);

impl AttemptedLogin {
    /// The most characters kept.
    pub const MAX_CHARS: usize = 64;

    /// Keeps what can be shown of `typed`.
    pub fn new(typed: &str) -> Self {
        Self(
            typed
                .trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(Self::MAX_CHARS)
                .collect(),
        )
    }

    /// The login as kept.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether a change to a staff member must end their sessions: a new role (a token carries
/// the role it was issued with) or a change of activity. Deactivating ends every session at
/// once; reactivating starts afresh, so a token from before the deactivation stays dead.
/// A new name, skills or capacity change nothing a token speaks for.
pub fn token_must_change(before: &Agent, after: &Agent) -> bool {
    before.role != after.role || before.active != after.active
}

/// Whether changing `before` into `after` would leave the team without an active admin, given
/// every staff member as they are now (`before` among them). Someone must always be able to
/// administer the team: the last active admin may be neither demoted nor deactivated.
pub fn leaves_no_admin(before: &Agent, after: &Agent, team: &[Agent]) -> bool {
    let administers = |agent: &Agent| agent.active && agent.role == Role::Admin;
    administers(before)
        && !administers(after)
        && !team
            .iter()
            .any(|other| other.id != before.id && administers(other))
}

/// Whether `account` may log in, and if so the hash to verify the password against.
pub fn login_candidate(account: Account) -> Result<LoginCandidate, LoginRefusal> {
    if !account.agent.active {
        return Err(LoginRefusal::Inactive);
    }
    let Some(password_hash) = account.password_hash else {
        return Err(LoginRefusal::NoPassword);
    };
    Ok(LoginCandidate {
        agent: account.agent,
        password_hash,
        token_version: account.token_version,
    })
}

/// Whether a login whose password matched `candidate` still stands, given the account as it
/// is now: still active, and neither the password nor anything else that ends sessions changed
/// since the candidate was read (the matched password may be the old one).
pub fn confirm_login(candidate: &LoginCandidate, now: &Account) -> Result<(), LoginRefusal> {
    if !now.agent.active {
        Err(LoginRefusal::Inactive)
    } else if now.token_version != candidate.token_version
        || now.password_hash.as_ref() != Some(&candidate.password_hash)
    {
        Err(LoginRefusal::Changed)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::ids::AgentId;
    use crate::staff::Capacity;
    use crate::text::{DisplayName, Login, Skill};

    const HASH: &str =
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG";

    fn agent() -> Agent {
        Agent {
            id: AgentId::try_from(7).unwrap(),
            login: Login::parse("mei").unwrap(),
            display_name: DisplayName::parse("Mei").unwrap(),
            role: Role::Agent,
            active: true,
            skills: BTreeSet::new(),
            capacity: None,
        }
    }

    fn account() -> Account {
        Account {
            agent: agent(),
            password_hash: Some(PasswordHash::parse(HASH).unwrap()),
            token_version: TokenVersion::FIRST,
        }
    }

    #[test]
    fn the_last_active_admin_may_be_neither_demoted_nor_deactivated() {
        let admin = Agent {
            role: Role::Admin,
            ..agent()
        };
        let demoted = Agent {
            role: Role::Agent,
            ..admin.clone()
        };
        let deactivated = Agent {
            active: false,
            ..admin.clone()
        };
        let colleague = Agent {
            id: AgentId::try_from(2).unwrap(),
            ..agent()
        };
        let team = [admin.clone(), colleague.clone()];
        assert!(leaves_no_admin(&admin, &demoted, &team));
        assert!(leaves_no_admin(&admin, &deactivated, &team));
        // A renamed admin stays one.
        assert!(!leaves_no_admin(&admin, &admin, &team));

        let second = Agent {
            role: Role::Admin,
            ..colleague.clone()
        };
        assert!(!leaves_no_admin(
            &admin,
            &demoted,
            &[admin.clone(), second.clone()]
        ));
        // An inactive admin administers nothing.
        let retired = Agent {
            active: false,
            ..second
        };
        assert!(leaves_no_admin(
            &admin,
            &deactivated,
            &[admin.clone(), retired]
        ));
        // Agents may come and go as they like.
        let gone = Agent {
            active: false,
            ..colleague.clone()
        };
        assert!(!leaves_no_admin(&colleague, &gone, &team));
    }

    #[test]
    fn an_argon2id_phc_string_is_a_password_hash() {
        assert_eq!(PasswordHash::parse(HASH).unwrap().as_str(), HASH);
    }

    #[test]
    fn anything_else_is_not_a_password_hash() {
        let shape = Problem::Invalid("must be an argon2id hash in PHC string format");
        let bad = [
            "hunter2",
            "$argon2i$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub",
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ",
            "$argon2id$v=19$m=19456,t=2,p=1$$RdescudvJCsgt3ub",
            "$argon2id$v=x$m=19456,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub",
            "$argon2id$v=19$m=19456,q=2$c29tZXNhbHQ$RdescudvJCsgt3ub",
            "$argon2id$v=19$m=19456,t=2,p=1$c29t ZXNhbHQ$RdescudvJCsgt3ub",
            " $argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub",
        ];
        for raw in bad {
            assert_eq!(PasswordHash::parse(raw), Err(shape.clone()), "{raw:?}");
        }
        assert_eq!(PasswordHash::parse(""), Err(Problem::Empty));
        let long = format!("{HASH}{}", "A".repeat(PasswordHash::MAX_LEN));
        assert_eq!(
            PasswordHash::parse(&long),
            Err(Problem::TooLong {
                max: PasswordHash::MAX_LEN
            })
        );
    }

    #[test]
    fn a_password_hash_never_shows_in_debug_output() {
        let hash = PasswordHash::parse(HASH).unwrap();
        let shown = format!("{hash:?} {:?}", account());
        assert!(!shown.contains("c29tZXNhbHQ"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn token_versions_start_at_one_and_only_go_up() {
        assert_eq!(TokenVersion::FIRST.get(), 1);
        assert_eq!(TokenVersion::FIRST.next().get(), 2);
        assert!(TokenVersion::new(0).is_err());
        let last = TokenVersion::new(i64::MAX).unwrap();
        assert_eq!(last.next(), last);
    }

    #[test]
    fn role_and_activity_changes_end_sessions() {
        let before = agent();
        let promoted = Agent {
            role: Role::Admin,
            ..agent()
        };
        let deactivated = Agent {
            active: false,
            ..agent()
        };
        assert!(token_must_change(&before, &promoted));
        assert!(token_must_change(&before, &deactivated));
        assert!(token_must_change(&deactivated, &before), "reactivation");
    }

    #[test]
    fn name_skill_and_capacity_changes_keep_sessions() {
        let before = agent();
        let after = Agent {
            display_name: DisplayName::parse("Mei Lin").unwrap(),
            skills: BTreeSet::from([Skill::parse("billing").unwrap()]),
            capacity: Some(Capacity::new(3).unwrap()),
            ..agent()
        };
        assert!(!token_must_change(&before, &after));
        assert!(!token_must_change(&before, &before));
    }

    #[test]
    fn inactive_staff_and_staff_without_a_password_cannot_log_in() {
        let mut inactive = account();
        inactive.agent.active = false;
        assert_eq!(login_candidate(inactive), Err(LoginRefusal::Inactive));
        let mut no_password = account();
        no_password.password_hash = None;
        assert_eq!(login_candidate(no_password), Err(LoginRefusal::NoPassword));
        let candidate = login_candidate(account()).unwrap();
        assert_eq!(candidate.token_version, TokenVersion::FIRST);
    }

    #[test]
    fn a_login_does_not_stand_when_the_account_changed_during_verification() {
        let candidate = login_candidate(account()).unwrap();
        assert_eq!(confirm_login(&candidate, &account()), Ok(()));

        let mut bumped = account();
        bumped.token_version = TokenVersion::FIRST.next();
        assert_eq!(
            confirm_login(&candidate, &bumped),
            Err(LoginRefusal::Changed)
        );
        let mut deactivated = account();
        deactivated.agent.active = false;
        assert_eq!(
            confirm_login(&candidate, &deactivated),
            Err(LoginRefusal::Inactive)
        );
    }

    #[test]
    fn a_token_is_accepted_only_with_the_current_version_and_role_while_active() {
        let state = TokenState::from(&account());
        assert!(state.accepts(TokenVersion::FIRST, Role::Agent));
        assert!(!state.accepts(TokenVersion::FIRST.next(), Role::Agent));
        assert!(!state.accepts(TokenVersion::FIRST, Role::Admin));
        let inactive = TokenState {
            active: false,
            ..state
        };
        assert!(!inactive.accepts(TokenVersion::FIRST, Role::Agent));
    }

    #[test]
    fn an_attempted_login_is_kept_short_and_on_one_line() {
        assert_eq!(AttemptedLogin::new(" Mei\n\u{7} ").as_str(), "Mei");
        let long = "x".repeat(100);
        assert_eq!(AttemptedLogin::new(&long).as_str().chars().count(), 64);
    }
}
