//! Canned replies: saved answers with variables, personal or for the whole team.
//!
//! An agent sees the team's public replies and their own personal ones; a personal reply
//! shadows a public one with the same shortcode, for its owner only. Bodies may hold variables
//! such as `{{customer.name}}`; a variable Shiftdesk does not know is an error that names it,
//! never an empty string in front of a customer.

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, CannedReplyId, ConversationId};
use crate::input::Problem;
use crate::text::{Shortcode, Title, Topic};

/// How many replies a lookup returns at most.
pub const LOOKUP_LIMIT: usize = 20;

/// Who a canned reply belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReplyScope {
    /// The whole team; managed by admins.
    Public,
    /// One agent, who alone sees and manages it.
    Personal {
        /// The agent.
        owner: AgentId,
    },
}

/// A saved reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CannedReply {
    /// Assigned by the store.
    pub id: CannedReplyId,
    /// Whose it is.
    pub scope: ReplyScope,
    /// What agents type to find it; unique within its scope.
    pub shortcode: Shortcode,
    /// A human title.
    pub title: Title,
    /// A category to group it under.
    pub category: Option<Topic>,
    /// The text, with variables.
    pub body: Template,
}

/// A canned reply to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCannedReply {
    /// Whose it is.
    pub scope: ReplyScope,
    /// What agents type to find it.
    pub shortcode: Shortcode,
    /// A human title.
    pub title: Title,
    /// A category.
    pub category: Option<Topic>,
    /// The text, with variables.
    pub body: Template,
}

/// Changes to a canned reply; `None` fields stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CannedReplyUpdate {
    /// A new shortcode.
    pub shortcode: Option<Shortcode>,
    /// A new title.
    pub title: Option<Title>,
    /// A new category: `Some(None)` removes it.
    pub category: Option<Option<Topic>>,
    /// A new body.
    pub body: Option<Template>,
}

/// A variable a template may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variable {
    /// `customer.name`: the customer's display name.
    CustomerName,
    /// `agent.name`: the display name of the agent sending it.
    AgentName,
    /// `conversation.id`: the conversation's number.
    ConversationId,
}

impl Variable {
    /// Every variable, for documentation and error messages.
    pub const ALL: [Variable; 3] = [
        Variable::CustomerName,
        Variable::AgentName,
        Variable::ConversationId,
    ];

    /// The name as written between braces.
    pub fn name(&self) -> &'static str {
        match self {
            Variable::CustomerName => "customer.name",
            Variable::AgentName => "agent.name",
            Variable::ConversationId => "conversation.id",
        }
    }

    fn parse(name: &str) -> Option<Variable> {
        Variable::ALL
            .into_iter()
            .find(|variable| variable.name() == name)
    }
}

impl fmt::Display for Variable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a template cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A `{{name}}` Shiftdesk does not know.
    #[error("unknown variable {{{{{0}}}}}; known are customer.name, agent.name, conversation.id")]
    UnknownVariable(String),
    /// A `{{` with no `}}` after it.
    #[error("a {{{{ at character {0} is never closed")]
    Unclosed(usize),
}

/// The values a template's variables take when rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateValues {
    /// The customer's display name.
    pub customer_name: String,
    /// The sending agent's display name.
    pub agent_name: String,
    /// The conversation.
    pub conversation: ConversationId,
}

impl TemplateValues {
    fn get(&self, variable: Variable) -> String {
        match variable {
            Variable::CustomerName => self.customer_name.clone(),
            Variable::AgentName => self.agent_name.clone(),
            Variable::ConversationId => self.conversation.to_string(),
        }
    }
}

/// A reply body whose variables are all known: 1 to 5,000 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Template(String);

impl Template {
    /// Parses a body, refusing unknown variables and unclosed braces.
    pub fn parse(raw: &str) -> Result<Self, Problem> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(Problem::Empty);
        }
        if text.chars().count() > 5000 {
            return Err(Problem::TooLong { max: 5000 });
        }
        if text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(Problem::ControlCharacter);
        }
        match scan(text, &mut |_| Ok(String::new())) {
            Ok(_) => Ok(Self(text.to_owned())),
            Err(TemplateError::UnknownVariable(name)) => Err(Problem::UnknownVariable(name)),
            Err(TemplateError::Unclosed(at)) => Err(Problem::UnclosedVariable(at)),
        }
    }

    /// The text with its variables.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text with every variable filled in.
    pub fn render(&self, values: &TemplateValues) -> Result<String, TemplateError> {
        render(&self.0, values)
    }
}

impl TryFrom<String> for Template {
    type Error = Problem;

    fn try_from(raw: String) -> Result<Self, Problem> {
        Self::parse(&raw)
    }
}

impl From<Template> for String {
    fn from(template: Template) -> String {
        template.0
    }
}

/// Fills the `{{variables}}` of any text; an unknown one is an error naming it.
pub fn render(text: &str, values: &TemplateValues) -> Result<String, TemplateError> {
    scan(text, &mut |variable| Ok(values.get(variable)))
}

/// Walks `text`, replacing each `{{ name }}` with what `fill` gives for it.
fn scan(
    text: &str,
    fill: &mut dyn FnMut(Variable) -> Result<String, TemplateError>,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            let at = text.len() - rest.len() + open;
            return Err(TemplateError::Unclosed(text[..at].chars().count()));
        };
        let name = after[..close].trim();
        let variable =
            Variable::parse(name).ok_or_else(|| TemplateError::UnknownVariable(name.to_owned()))?;
        out.push_str(&fill(variable)?);
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The replies `viewer` sees: public ones and their own, a personal reply hiding a public one
/// with the same shortcode. Replies of other agents are dropped.
pub fn visible_to(replies: Vec<CannedReply>, viewer: AgentId) -> Vec<CannedReply> {
    let own = ReplyScope::Personal { owner: viewer };
    let personal: HashSet<Shortcode> = replies
        .iter()
        .filter(|reply| reply.scope == own)
        .map(|reply| reply.shortcode.clone())
        .collect();
    replies
        .into_iter()
        .filter(|reply| match reply.scope {
            ReplyScope::Personal { owner } => owner == viewer,
            ReplyScope::Public => !personal.contains(&reply.shortcode),
        })
        .collect()
}

/// The visible replies matching `query`, best first: the exact shortcode, then shortcodes
/// starting with it, then titles containing it (case-insensitive); each group by shortcode.
pub fn lookup<'a>(visible: &'a [CannedReply], query: &str) -> Vec<&'a CannedReply> {
    let query = query.trim().to_lowercase();
    let mut ranked: Vec<(u8, &CannedReply)> = visible
        .iter()
        .filter_map(|reply| {
            let code = reply.shortcode.as_str();
            let rank = if code == query {
                0
            } else if code.starts_with(&query) {
                1
            } else if reply.title.as_str().to_lowercase().contains(&query) {
                2
            } else {
                return None;
            };
            Some((rank, reply))
        })
        .collect();
    ranked.sort_by(|a, b| (a.0, &a.1.shortcode).cmp(&(b.0, &b.1.shortcode)));
    ranked
        .into_iter()
        .take(LOOKUP_LIMIT)
        .map(|(_, reply)| reply)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> TemplateValues {
        TemplateValues {
            customer_name: "李伟".to_owned(),
            agent_name: "Mei".to_owned(),
            conversation: ConversationId::try_from(42).unwrap(),
        }
    }

    fn reply(id: i64, scope: ReplyScope, code: &str, title: &str) -> CannedReply {
        CannedReply {
            id: CannedReplyId::try_from(id).unwrap(),
            scope,
            shortcode: Shortcode::parse(code).unwrap(),
            title: Title::parse(title).unwrap(),
            category: None,
            body: Template::parse("Hello {{customer.name}}").unwrap(),
        }
    }

    #[test]
    fn variables_are_filled() {
        let template =
            Template::parse("您好 {{ customer.name }}, I am {{agent.name}} (#{{conversation.id}})")
                .unwrap();
        assert_eq!(
            template.render(&values()).unwrap(),
            "您好 李伟, I am Mei (#42)"
        );
    }

    #[test]
    fn an_unknown_variable_is_an_error_naming_it() {
        assert_eq!(
            render("Dear {{customer.title}}", &values()),
            Err(TemplateError::UnknownVariable("customer.title".to_owned()))
        );
        assert_eq!(
            Template::parse("Dear {{customer.title}}"),
            Err(Problem::UnknownVariable("customer.title".to_owned()))
        );
        assert!(matches!(
            render("Dear {{customer.name", &values()),
            Err(TemplateError::Unclosed(5))
        ));
        assert_eq!(
            Template::parse("Dear {{customer.name"),
            Err(Problem::UnclosedVariable(5))
        );
    }

    #[test]
    fn a_personal_reply_shadows_a_public_one_for_its_owner_only() {
        let mei = AgentId::try_from(1).unwrap();
        let li = AgentId::try_from(2).unwrap();
        let replies = vec![
            reply(1, ReplyScope::Public, "hello", "Public hello"),
            reply(
                2,
                ReplyScope::Personal { owner: mei },
                "hello",
                "Mei's hello",
            ),
            reply(3, ReplyScope::Personal { owner: li }, "bye", "Li's bye"),
        ];
        let for_mei: Vec<i64> = visible_to(replies.clone(), mei)
            .iter()
            .map(|reply| reply.id.get())
            .collect();
        let for_li: Vec<i64> = visible_to(replies, li)
            .iter()
            .map(|reply| reply.id.get())
            .collect();
        assert_eq!(for_mei, vec![2]);
        assert_eq!(for_li, vec![1, 3]);
    }

    #[test]
    fn lookup_ranks_exact_then_prefix_then_title() {
        let replies = vec![
            reply(1, ReplyScope::Public, "refund-policy", "Refunds"),
            reply(2, ReplyScope::Public, "thanks", "Refund done"),
            reply(3, ReplyScope::Public, "refund", "Refund"),
            reply(4, ReplyScope::Public, "hello", "Greeting"),
        ];
        let found: Vec<i64> = lookup(&replies, "REFUND")
            .iter()
            .map(|reply| reply.id.get())
            .collect();
        assert_eq!(found, vec![3, 1, 2]);
    }
}
