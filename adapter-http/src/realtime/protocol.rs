//! The frames of the real-time protocol, version 1 (see `docs/realtime.md`): JSON objects
//! with a `type` and a `payload`, and the close codes the server ends a connection with.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use serde_json::Value;
use shiftdesk_core::conversation::ConversationStatus;
use shiftdesk_core::ids::{AgentId, ConversationId, CustomerId, LeaveId, Seq, SwapId};
use shiftdesk_core::leave::LeaveState;
use shiftdesk_core::message::{Message, MessageKind, Participant, Sender};
use shiftdesk_core::swap::SwapState;
use shiftdesk_core::time::DateRange;

/// The protocol version the hello frame announces.
pub const PROTOCOL_VERSION: u32 = 1;

/// Close codes the server ends a connection with. Codes 4000–4999 are the application's own
/// (RFC 6455 §7.4.2).
pub mod close {
    /// The server is shutting down: reconnect, with back-off, and resume.
    pub const GOING_AWAY: u16 = 1001;
    /// A newer connection of the same user took over (one live connection per user).
    pub const REPLACED: u16 = 4001;
    /// The connection's send queue overflowed: reconnect and resume from the last sequence
    /// numbers seen; nothing is lost.
    pub const RESUME_NEEDED: u16 = 4002;
    /// The client answered no pings for too long.
    pub const HEARTBEAT_MISSED: u16 = 4003;
    /// The staff member's sessions ended (logged out; password, role or activity changed):
    /// sign in again before reconnecting.
    pub const SIGNED_OUT: u16 = 4004;
}

/// A frame from the client, once its `type` is known and its payload parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientFrame {
    /// Write a message in a conversation.
    Send(SendPayload),
    /// Mark a conversation read up to a message.
    Read(ReadPayload),
    /// The caller is typing in a conversation.
    Typing(TypingPayload),
    /// Replay every message after these sequence numbers, then keep the conversations live.
    Resume(ResumePayload),
}

/// The frame types a client may send.
pub const CLIENT_TYPES: [&str; 4] = ["send", "read", "typing", "resume"];

/// What a `send` frame carries.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendPayload {
    /// The conversation.
    pub conversation: ConversationId,
    /// The client's id for the message; a retry with the same id is stored once.
    pub client_id: String,
    /// The text.
    pub body: String,
    /// `message` (the default) or, for staff, `note`.
    #[serde(default = "default_kind")]
    pub kind: MessageKind,
}

fn default_kind() -> MessageKind {
    MessageKind::Message
}

/// What a `read` frame carries.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadPayload {
    /// The conversation.
    pub conversation: ConversationId,
    /// The last message read.
    pub seq: Seq,
}

/// What a `typing` frame carries.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypingPayload {
    /// The conversation.
    pub conversation: ConversationId,
}

/// What a `resume` frame carries.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumePayload {
    /// For each conversation (its id as a string key), the last sequence number the client
    /// has; 0 replays from the first message.
    pub conversations: BTreeMap<String, u64>,
}

impl ResumePayload {
    /// The conversations and sequence numbers, or the key that is not a conversation id.
    pub fn pairs(&self) -> Result<Vec<(ConversationId, u64)>, String> {
        self.conversations
            .iter()
            .map(|(key, seq)| match key.parse::<ConversationId>() {
                Ok(id) => Ok((id, *seq)),
                Err(_) => Err(key.clone()),
            })
            .collect()
    }
}

/// A frame from the server.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "payload", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The first frame of every connection.
    Hello {
        /// [`PROTOCOL_VERSION`].
        protocol: u32,
        /// How often the server pings; two missed pongs end the connection.
        ping_interval_ms: u64,
        /// How long a typing indicator lasts unless renewed.
        typing_expires_ms: u64,
        /// The largest client frame accepted, in bytes.
        max_frame_bytes: usize,
        /// Who the connection speaks for: `{"type": "agent" | "customer", "id": …}`.
        user: Participant,
    },
    /// A message the client sent is stored under this sequence number.
    Ack {
        /// The client's id for it.
        client_id: String,
        /// The conversation.
        conversation: ConversationId,
        /// Its sequence number.
        seq: Seq,
        /// When the store accepted it.
        at: DateTime<Utc>,
        /// Whether it had been stored before under the same client id.
        duplicate: bool,
    },
    /// A stored message.
    Message(MessageOut),
    /// A replay asked for by `resume` (or started by an assignment) is complete.
    Resumed {
        /// The conversation.
        conversation: ConversationId,
        /// The last sequence number sent on this connection, if any.
        seq: Option<Seq>,
    },
    /// A conversation was given to an agent.
    Assigned {
        /// The conversation.
        conversation: ConversationId,
        /// The agent who holds it now.
        agent: AgentId,
    },
    /// A conversation moved from one agent to another.
    Transferred {
        /// The conversation.
        conversation: ConversationId,
        /// Who had it.
        from: Option<AgentId>,
        /// Who has it now.
        to: AgentId,
    },
    /// A conversation went back to the queue.
    Queued {
        /// The conversation.
        conversation: ConversationId,
        /// Who had it.
        from: Option<AgentId>,
    },
    /// A conversation's status changed.
    Status {
        /// The conversation.
        conversation: ConversationId,
        /// The new status.
        status: ConversationStatus,
    },
    /// The other side read the conversation up to a message.
    Read {
        /// The conversation.
        conversation: ConversationId,
        /// Who read.
        participant: Participant,
        /// The last message they have read.
        seq: Seq,
    },
    /// Someone is typing (or, with `active: false`, stopped: they disconnected).
    Typing {
        /// The conversation.
        conversation: ConversationId,
        /// Who is typing.
        participant: Participant,
        /// Whether they are typing.
        active: bool,
        /// How long the indicator lasts unless renewed.
        expires_in_ms: u64,
    },
    /// An agent came online or went offline (sent to admins).
    Presence {
        /// The agent.
        agent: AgentId,
        /// Whether they are online now.
        online: bool,
    },
    /// Schedule entries of these agents changed on these dates.
    ScheduleChanged {
        /// Whose schedule changed.
        agents: Vec<AgentId>,
        /// The dates touched.
        dates: DateRange,
    },
    /// An agent asked for leave (sent to admins).
    LeaveRequested {
        /// The request.
        leave: LeaveId,
        /// Who asked.
        agent: AgentId,
    },
    /// A leave request changed state.
    LeaveDecided {
        /// The request.
        leave: LeaveId,
        /// Whose leave it is.
        agent: AgentId,
        /// Its new state.
        state: LeaveState,
    },
    /// An agent asked a colleague to take a shift.
    SwapRequested {
        /// The request.
        swap: SwapId,
        /// Who asked.
        requester: AgentId,
        /// Who is asked.
        target: AgentId,
    },
    /// A swap request changed state.
    SwapDecided {
        /// The request.
        swap: SwapId,
        /// Who asked.
        requester: AgentId,
        /// Who was asked.
        target: AgentId,
        /// Its new state.
        state: SwapState,
    },
    /// A client frame was refused; the connection stays usable.
    Error(ErrorOut),
}

/// A stored message as frames carry it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageOut {
    /// The conversation.
    pub conversation: ConversationId,
    /// Its sequence number.
    pub seq: Seq,
    /// The sender's id for it, if they gave one.
    pub client_id: Option<String>,
    /// Who wrote it.
    pub sender: Sender,
    /// `message`, `note` (staff only) or `system`.
    pub kind: MessageKind,
    /// The text.
    pub body: String,
    /// When the store accepted it.
    pub sent_at: DateTime<Utc>,
}

impl From<&Message> for MessageOut {
    fn from(message: &Message) -> Self {
        MessageOut {
            conversation: message.conversation,
            seq: message.seq,
            client_id: message.client_id.as_ref().map(|id| id.to_string()),
            sender: message.sender,
            kind: message.kind,
            body: message.body.to_string(),
            sent_at: message.sent_at,
        }
    }
}

/// Why a client frame was refused.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorOut {
    /// A stable code: the REST API's problem codes, plus `malformed_json`, `unknown_type`,
    /// `frame_too_large`, `binary_frame`.
    pub code: &'static str,
    /// What was wrong, naming the field at fault.
    pub message: String,
    /// The field at fault, as a dotted path such as `payload.body`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The frame answered, as received (when it was JSON).
    pub frame: Option<Value>,
}

/// Reads one text frame from a client (with its JSON, which error frames echo), or says why
/// it cannot be read.
pub fn parse_client_frame(text: &str, max_bytes: usize) -> Result<(ClientFrame, Value), ErrorOut> {
    if text.len() > max_bytes {
        return Err(ErrorOut {
            code: "frame_too_large",
            message: format!("a frame may hold at most {max_bytes} bytes"),
            field: None,
            frame: None,
        });
    }
    let value: Value = serde_json::from_str(text).map_err(|error| ErrorOut {
        code: "malformed_json",
        message: format!("the frame is not JSON: {error}"),
        field: None,
        frame: None,
    })?;
    let refused = |code, message: String, field: Option<String>| ErrorOut {
        code,
        message,
        field,
        frame: Some(value.clone()),
    };
    let Some(kind) = value.get("type").and_then(Value::as_str) else {
        let message = "type: missing; a frame is {\"type\": …, \"payload\": {…}}".to_owned();
        return Err(refused("missing_field", message, Some("type".to_owned())));
    };
    if !CLIENT_TYPES.contains(&kind) {
        let message =
            format!("type: unknown frame type {kind:?}; expected one of {CLIENT_TYPES:?}");
        return Err(refused("unknown_type", message, Some("type".to_owned())));
    }
    if let Some(extra) = value.as_object().and_then(|object| {
        object
            .keys()
            .find(|key| *key != "type" && *key != "payload")
    }) {
        let message = format!("{extra}: unknown field; a frame has only type and payload");
        return Err(refused("unknown_field", message, Some(extra.clone())));
    }
    let payload = value.get("payload").cloned().unwrap_or(Value::Null);
    let frame = match kind {
        "send" => payload_of(&payload).map(ClientFrame::Send),
        "read" => payload_of(&payload).map(ClientFrame::Read),
        "typing" => payload_of(&payload).map(ClientFrame::Typing),
        _ => payload_of(&payload).and_then(|resume: ResumePayload| match resume.pairs() {
            Ok(_) => Ok(ClientFrame::Resume(resume)),
            Err(key) => Err((
                "invalid_value",
                format!("payload.conversations.{key}: not a conversation id"),
                format!("payload.conversations.{key}"),
            )),
        }),
    }
    .map_err(|(code, message, field)| refused(code, message, Some(field)))?;
    Ok((frame, value))
}

/// Reads a payload; on failure, the code, the message and the field at fault.
fn payload_of<T: serde::de::DeserializeOwned>(
    payload: &Value,
) -> Result<T, (&'static str, String, String)> {
    if payload.is_null() {
        let message = "payload: missing; a frame is {\"type\": …, \"payload\": {…}}";
        return Err(("missing_field", message.to_owned(), "payload".to_owned()));
    }
    serde_path_to_error::deserialize(payload).map_err(|error| {
        let path = error.path().to_string();
        let field = if path == "." {
            "payload".to_owned()
        } else {
            format!("payload.{path}")
        };
        let inner = error.into_inner().to_string();
        let code = if inner.starts_with("missing field") {
            "missing_field"
        } else if inner.starts_with("unknown field") {
            "unknown_field"
        } else {
            "invalid_value"
        };
        (code, format!("{field}: {inner}"), field)
    })
}

/// The error frame for a binary frame: the protocol speaks JSON text only.
pub fn binary_refused() -> ErrorOut {
    ErrorOut {
        code: "binary_frame",
        message: "frames are JSON text; binary frames are not read".to_owned(),
        field: None,
        frame: None,
    }
}

/// A frame rendered as the text sent on the wire.
pub fn render(frame: &ServerFrame) -> String {
    // Serializing these types cannot fail: every key is a string and every value plain data.
    serde_json::to_string(frame).unwrap_or_else(|error| {
        format!(
            "{{\"type\":\"error\",\"payload\":{{\"code\":\"internal_error\",\"message\":\"{}\",\
             \"frame\":null}}}}",
            error.to_string().replace('"', "'")
        )
    })
}

/// Who a connection speaks for, as the hub files connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum User {
    /// A staff member.
    Agent(AgentId),
    /// A customer.
    Customer(CustomerId),
}

impl User {
    /// The same user as a conversation participant.
    pub fn participant(self) -> Participant {
        match self {
            User::Agent(id) => Participant::Agent(id),
            User::Customer(id) => Participant::Customer(id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_send_frame_is_read_with_its_default_kind() {
        let text = r#"{"type":"send","payload":{"conversation":3,"client_id":"c1","body":"hi"}}"#;
        let (frame, _) = parse_client_frame(text, 1024).expect("frame");
        let ClientFrame::Send(send) = frame else {
            panic!("not a send: {frame:?}")
        };
        assert_eq!(send.conversation.get(), 3);
        assert_eq!(send.kind, MessageKind::Message);
    }

    #[test]
    fn a_resume_frame_maps_conversations_to_sequence_numbers() {
        let text = r#"{"type":"resume","payload":{"conversations":{"7":40,"9":0}}}"#;
        let (ClientFrame::Resume(resume), _) = parse_client_frame(text, 1024).expect("frame")
        else {
            panic!("not a resume")
        };
        let pairs: Vec<(i64, u64)> = resume
            .pairs()
            .expect("ids")
            .iter()
            .map(|(id, seq)| (id.get(), *seq))
            .collect();
        assert_eq!(pairs, vec![(7, 40), (9, 0)]);
    }

    #[test]
    fn malformed_json_unknown_types_and_bad_fields_are_named() {
        let cases = [
            ("{not json", "malformed_json", None),
            (
                r#"{"type":"shout","payload":{}}"#,
                "unknown_type",
                Some("type"),
            ),
            (r#"{"payload":{}}"#, "missing_field", Some("type")),
            (
                r#"{"type":"read","payload":{"conversation":1,"seq":0}}"#,
                "invalid_value",
                Some("payload.seq"),
            ),
            (
                r#"{"type":"read","payload":{"conversation":1}}"#,
                "missing_field",
                Some("payload"),
            ),
            (
                r#"{"type":"typing","payload":{"conversation":1,"mood":"x"}}"#,
                "unknown_field",
                Some("payload.mood"),
            ),
            (
                r#"{"type":"resume","payload":{"conversations":{"x":1}}}"#,
                "invalid_value",
                Some("payload.conversations.x"),
            ),
            (r#"{"type":"typing"}"#, "missing_field", Some("payload")),
        ];
        for (text, code, field) in cases {
            let error = parse_client_frame(text, 1024).expect_err(text);
            assert_eq!(error.code, code, "{text}: {}", error.message);
            assert_eq!(error.field.as_deref(), field, "{text}");
        }
    }

    #[test]
    fn an_over_size_frame_is_refused_before_it_is_parsed() {
        let text = format!(
            r#"{{"type":"typing","payload":{{"conversation":1}}}}{}"#,
            " ".repeat(64)
        );
        let error = parse_client_frame(&text, 48).expect_err("too large");
        assert_eq!(error.code, "frame_too_large");
    }

    #[test]
    fn server_frames_have_a_type_and_a_payload() {
        let frame = ServerFrame::Presence {
            agent: AgentId::try_from(4).expect("id"),
            online: true,
        };
        let value: Value = serde_json::from_str(&render(&frame)).expect("json");
        assert_eq!(value["type"], "presence");
        assert_eq!(value["payload"]["agent"], 4);
        assert_eq!(value["payload"]["online"], true);
    }
}
