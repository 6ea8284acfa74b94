//! Names and free text, each a type that holds only acceptable values.
//!
//! All lengths count characters, not bytes, so a Chinese name gets the same room as a Latin one.
//! Each type deserializes through its parser, so a wire format cannot smuggle in a bad value.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::input::Problem;

/// Declares a string newtype whose only constructor is `parse`.
macro_rules! text_type {
    ($(#[$meta:meta])* $name:ident, $check:path) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses and normalizes `raw`, or says what is wrong with it.
            pub fn parse(raw: &str) -> Result<Self, Problem> {
                $check(raw).map(Self)
            }

            /// The text itself.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = Problem;

            fn try_from(raw: String) -> Result<Self, Problem> {
                Self::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

text_type!(
    /// A person's name as others see it: 1 to 80 characters, trimmed, any script.
    DisplayName,
    check_display_name
);
text_type!(
    /// The name a staff member logs in with: 1 to 40 of `a-z 0-9 . _ -`, stored lower-cased.
    Login,
    check_login
);
text_type!(
    /// A shift template's name, unique in the team and used as its code in grids: 1 to 32
    /// characters, trimmed.
    ShiftName,
    check_shift_name
);
text_type!(
    /// A skill tag such as `billing` or `zh`: 1 to 32 of `a-z 0-9 _ -`, stored lower-cased.
    Skill,
    check_skill
);
text_type!(
    /// Free text written by a person (a leave reason, a decision note): 1 to 2,000 characters;
    /// line breaks and tabs are kept, other control characters refused.
    Note,
    check_note
);

text_type!(
    /// The id the ticketing platform gives a customer: 1 to 128 characters, trimmed.
    ExternalId,
    check_external_id
);
text_type!(
    /// A conversation's topic or category, such as `refunds`: 1 to 64 characters, trimmed.
    Topic,
    check_topic
);
text_type!(
    /// What an agent types to find a canned reply, such as `refund-policy`: 1 to 32 of
    /// `a-z 0-9 _ -`, stored lower-cased.
    Shortcode,
    check_shortcode
);
text_type!(
    /// A short human title, such as a canned reply's: 1 to 120 characters, trimmed.
    Title,
    check_title
);
text_type!(
    /// The id a client gives a message so a retried send is stored once: 1 to 64 of
    /// `A-Z a-z 0-9 - _ . :`, case kept.
    ClientMessageId,
    check_client_message_id
);
text_type!(
    /// The text of a message: 1 to 10,000 characters; line breaks and tabs are kept, other
    /// control characters refused; leading and trailing whitespace trimmed.
    MessageBody,
    check_message_body
);
text_type!(
    /// Text to look for in message bodies: 1 to 200 characters of one line, trimmed.
    SearchText,
    check_search_text
);

impl MessageBody {
    /// The most characters a message may hold.
    pub const MAX_CHARS: usize = 10_000;

    /// Text written by Shiftdesk itself, made acceptable rather than refused: other control
    /// characters become spaces, and text past the limit is cut.
    pub(crate) fn composed(text: &str) -> Self {
        let mut body: String = text
            .trim()
            .chars()
            .map(|c| {
                if c.is_control() && !matches!(c, '\n' | '\r' | '\t') {
                    ' '
                } else {
                    c
                }
            })
            .take(Self::MAX_CHARS)
            .collect();
        if body.is_empty() {
            body.push('…');
        }
        Self(body)
    }

    /// Parses raw bytes, refusing anything that is not UTF-8.
    pub fn from_utf8(bytes: &[u8]) -> Result<Self, Problem> {
        let text =
            std::str::from_utf8(bytes).map_err(|_| Problem::Invalid("is not valid UTF-8"))?;
        Self::parse(text)
    }
}

fn check_display_name(raw: &str) -> Result<String, Problem> {
    single_line(raw, 80)
}

fn check_shift_name(raw: &str) -> Result<String, Problem> {
    single_line(raw, 32)
}

fn check_login(raw: &str) -> Result<String, Problem> {
    restricted(
        raw,
        40,
        |c| matches!(c, 'a'..='z' | '0'..='9' | '.' | '_' | '-'),
        "a-z 0-9 . _ -",
    )
}

fn check_skill(raw: &str) -> Result<String, Problem> {
    restricted(
        raw,
        32,
        |c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '-'),
        "a-z 0-9 _ -",
    )
}

fn check_note(raw: &str) -> Result<String, Problem> {
    multi_line(raw, 2000)
}

/// Trimmed text that may span lines: line breaks and tabs kept, other control characters
/// refused.
fn multi_line(raw: &str, max: usize) -> Result<String, Problem> {
    let text = raw.trim();
    check_length(text, max)?;
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(Problem::ControlCharacter);
    }
    Ok(text.to_owned())
}

fn check_external_id(raw: &str) -> Result<String, Problem> {
    single_line(raw, 128)
}

fn check_topic(raw: &str) -> Result<String, Problem> {
    single_line(raw, 64)
}

fn check_title(raw: &str) -> Result<String, Problem> {
    single_line(raw, 120)
}

fn check_search_text(raw: &str) -> Result<String, Problem> {
    single_line(raw, 200)
}

fn check_shortcode(raw: &str) -> Result<String, Problem> {
    restricted(
        raw,
        32,
        |c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '-'),
        "a-z 0-9 _ -",
    )
}

fn check_client_message_id(raw: &str) -> Result<String, Problem> {
    let text = raw.trim();
    check_length(text, 64)?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
    match text.chars().find(|&c| !allowed(c)) {
        Some(found) => Err(Problem::InvalidCharacter {
            found,
            allowed: "A-Z a-z 0-9 - _ . :",
        }),
        None => Ok(text.to_owned()),
    }
}

fn check_message_body(raw: &str) -> Result<String, Problem> {
    multi_line(raw, MessageBody::MAX_CHARS)
}

/// Trimmed text of one line.
fn single_line(raw: &str, max: usize) -> Result<String, Problem> {
    let text = raw.trim();
    check_length(text, max)?;
    if text.chars().any(char::is_control) {
        return Err(Problem::ControlCharacter);
    }
    Ok(text.to_owned())
}

/// Trimmed, lower-cased text from a small alphabet.
fn restricted(
    raw: &str,
    max: usize,
    allowed: impl Fn(char) -> bool,
    described: &'static str,
) -> Result<String, Problem> {
    let text = raw.trim().to_lowercase();
    check_length(&text, max)?;
    match text.chars().find(|&c| !allowed(c)) {
        Some(found) => Err(Problem::InvalidCharacter {
            found,
            allowed: described,
        }),
        None => Ok(text),
    }
}

fn check_length(text: &str, max: usize) -> Result<(), Problem> {
    if text.is_empty() {
        return Err(Problem::Empty);
    }
    if text.chars().count() > max {
        return Err(Problem::TooLong { max });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_trimmed_and_counted_in_characters() {
        let name = DisplayName::parse("  王小明  ").unwrap();
        assert_eq!(name.as_str(), "王小明");
        assert!(DisplayName::parse(&"名".repeat(80)).is_ok());
        assert_eq!(
            DisplayName::parse(&"名".repeat(81)),
            Err(Problem::TooLong { max: 80 })
        );
    }

    #[test]
    fn empty_and_control_characters_are_refused() {
        assert_eq!(DisplayName::parse("   "), Err(Problem::Empty));
        assert_eq!(DisplayName::parse("a\nb"), Err(Problem::ControlCharacter));
        assert_eq!(
            Note::parse("line one\nline two").unwrap().as_str(),
            "line one\nline two"
        );
        assert_eq!(Note::parse("bell\u{7}"), Err(Problem::ControlCharacter));
    }

    #[test]
    fn logins_and_skills_are_lower_cased_and_restricted() {
        assert_eq!(Login::parse("Mei.Lin").unwrap().as_str(), "mei.lin");
        assert_eq!(Skill::parse("ZH").unwrap().as_str(), "zh");
        assert!(matches!(
            Login::parse("mei lin"),
            Err(Problem::InvalidCharacter { found: ' ', .. })
        ));
    }

    #[test]
    fn deserializing_goes_through_the_parser() {
        let parsed: Result<Skill, _> = serde_json::from_str("\"bad skill\"");
        assert!(parsed.is_err());
    }
}
