//! Access tokens: HS256 JSON Web Tokens signed with the server's [`SigningKey`].
//!
//! Validation is pinned to HS256, so a token naming any other algorithm, `none` included, is
//! refused before its signature is even looked at. Expiry is checked without leeway: the
//! servers sharing a key are expected to share a clock too.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use shiftdesk_core::account::TokenVersion;
use shiftdesk_core::ids::{AgentId, CustomerId};
use shiftdesk_core::staff::Role;

use crate::keys::SigningKey;

/// Who a token speaks for, as its claims say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A staff member, with the role and token version the token was issued under.
    Staff {
        /// Who they are.
        id: AgentId,
        /// The role they had when the token was issued.
        role: Role,
        /// Their token version when the token was issued.
        version: TokenVersion,
    },
    /// A customer of the ticketing platform.
    Customer {
        /// Who they are.
        id: CustomerId,
        /// Whether the server made them up for an anonymous chat.
        anonymous: bool,
    },
}

/// A token as issued: the text to send back, and when it stops being accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// The compact JWT.
    pub token: String,
    /// When it expires.
    pub expires_at: SystemTime,
}

/// The claims as they travel.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The agent or customer id, as a string as RFC 7519 asks.
    sub: String,
    /// Their display name when the token was issued, for the client's greeting.
    name: String,
    /// Staff or customer, with what each kind carries.
    #[serde(flatten)]
    kind: Kind,
    /// Issued at, in seconds since the Unix epoch.
    iat: u64,
    /// Expires at, in seconds since the Unix epoch.
    exp: u64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Kind {
    Staff { role: Role, ver: TokenVersion },
    Customer { anonymous: bool },
}

/// Why a token is refused. The caller is told none of it; it is for the debug log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TokenRefused(String);

/// Signs and checks tokens with one key and one lifetime.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens(ttl: {:?})", self.ttl)
    }
}

/// Seconds since the Unix epoch.
fn seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

impl Tokens {
    /// Tokens signed with `key`, each accepted for `ttl` after it is issued.
    pub fn new(key: &SigningKey, ttl: Duration) -> Result<Tokens, TokenRefused> {
        let bytes = key.bytes();
        let encoding = EncodingKey::from_secret(bytes).map_err(refused)?;
        let decoding = DecodingKey::from_secret(bytes).map_err(refused)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Ok(Tokens {
            encoding,
            decoding,
            validation,
            ttl,
        })
    }

    /// How long a token is accepted after it is issued.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A token for `holder`, named `name`, issued now.
    pub fn issue(&self, holder: &Holder, name: &str) -> Result<Issued, TokenRefused> {
        self.issue_at(holder, name, SystemTime::now())
    }

    /// A token for `holder` as if issued at `now`.
    pub fn issue_at(
        &self,
        holder: &Holder,
        name: &str,
        now: SystemTime,
    ) -> Result<Issued, TokenRefused> {
        let expires_at = now + self.ttl;
        let (sub, kind) = match *holder {
            Holder::Staff { id, role, version } => {
                (id.to_string(), Kind::Staff { role, ver: version })
            }
            Holder::Customer { id, anonymous } => (id.to_string(), Kind::Customer { anonymous }),
        };
        let claims = Claims {
            sub,
            name: name.to_owned(),
            kind,
            iat: seconds(now),
            exp: seconds(expires_at),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(refused)?;
        Ok(Issued { token, expires_at })
    }

    /// Who `token` speaks for, if it is an unexpired HS256 token signed with this key.
    pub fn verify(&self, token: &str) -> Result<Holder, TokenRefused> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(refused)?;
        let claims = data.claims;
        match claims.kind {
            Kind::Staff { role, ver } => Ok(Holder::Staff {
                id: claims.sub.parse().map_err(refused)?,
                role,
                version: ver,
            }),
            Kind::Customer { anonymous } => Ok(Holder::Customer {
                id: claims.sub.parse().map_err(refused)?,
                anonymous,
            }),
        }
    }
}

fn refused(error: impl std::fmt::Display) -> TokenRefused {
    TokenRefused(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatabaseUrl;
    use crate::keys::signing_key;

    fn tokens() -> Tokens {
        let (key, _) = signing_key(None, &DatabaseUrl::Memory).expect("key");
        Tokens::new(&key, Duration::from_secs(3600)).expect("tokens")
    }

    fn staff() -> Holder {
        Holder::Staff {
            id: AgentId::try_from(3).expect("id"),
            role: Role::Agent,
            version: TokenVersion::FIRST,
        }
    }

    #[test]
    fn an_issued_token_speaks_for_its_holder() {
        let tokens = tokens();
        let customer = Holder::Customer {
            id: CustomerId::try_from(9).expect("id"),
            anonymous: true,
        };
        for holder in [staff(), customer] {
            let issued = tokens.issue(&holder, "Mei").expect("issued");
            assert_eq!(tokens.verify(&issued.token), Ok(holder));
        }
    }

    #[test]
    fn an_expired_token_is_refused() {
        let tokens = tokens();
        let long_ago = SystemTime::now() - Duration::from_secs(7200);
        let issued = tokens.issue_at(&staff(), "Mei", long_ago).expect("issued");
        assert!(tokens.verify(&issued.token).is_err());
    }

    #[test]
    fn a_token_signed_with_another_key_is_refused() {
        let issued = tokens().issue(&staff(), "Mei").expect("issued");
        assert!(tokens().verify(&issued.token).is_err());
    }

    #[test]
    fn a_token_names_its_kind_role_and_version_in_the_claims() {
        let issued = tokens().issue(&staff(), "Mei").expect("issued");
        let claims: serde_json::Value =
            jsonwebtoken::dangerous::insecure_decode_claims(&issued.token).expect("claims");
        assert_eq!(claims["sub"], "3");
        assert_eq!(claims["kind"], "staff");
        assert_eq!(claims["role"], "agent");
        assert_eq!(claims["ver"], 1);
        assert_eq!(claims["name"], "Mei");
        let lifetime = claims["exp"].as_u64().expect("exp") - claims["iat"].as_u64().expect("iat");
        assert_eq!(lifetime, 3600);
    }
}
