//! The errors service operations return, one enum per family of operations.
//!
//! Each holds the domain outcomes a caller must handle (refused, not found, forbidden) and
//! wraps store failures. "Not found" also answers for things the caller may not see, so an
//! agent cannot learn that a colleague's request exists by guessing its id.

use std::fmt;

use crate::account::LoginRefusal;
use crate::canned::TemplateError;
use crate::conflict::Conflict;
use crate::conversation::ConversationRefusal;
use crate::ids::{
    AgentId, CannedReplyId, ConversationId, CustomerId, EntryId, LeaveId, ShiftId, SwapId,
};
use crate::input::InputError;
use crate::leave::LeaveRefusal;
use crate::schedule::EntryStatus;
use crate::store::StoreError;
use crate::swap::SwapRefusal;
use crate::text::{Login, ShiftName, Shortcode};
use crate::transfer::TransferRefusal;

/// Something a caller named that does not exist, or that they may not see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// A staff member.
    Agent(AgentId),
    /// A shift template.
    Shift(ShiftId),
    /// A schedule entry.
    Entry(EntryId),
    /// A leave request.
    Leave(LeaveId),
    /// A swap request.
    Swap(SwapId),
    /// A customer.
    Customer(CustomerId),
    /// A conversation.
    Conversation(ConversationId),
    /// A canned reply.
    CannedReply(CannedReplyId),
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resource::Agent(id) => write!(f, "agent {id}"),
            Resource::Shift(id) => write!(f, "shift {id}"),
            Resource::Entry(id) => write!(f, "schedule entry {id}"),
            Resource::Leave(id) => write!(f, "leave request {id}"),
            Resource::Swap(id) => write!(f, "swap request {id}"),
            Resource::Customer(id) => write!(f, "customer {id}"),
            Resource::Conversation(id) => write!(f, "conversation {id}"),
            Resource::CannedReply(id) => write!(f, "canned reply {id}"),
        }
    }
}

/// Errors of managing the team: settings, staff, shift templates, the audit log.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Only admins may do this; customers may not even read the team's data.
    #[error("not allowed: only an admin may do this, and only staff read the team")]
    Forbidden,
    /// The thing named does not exist.
    #[error("{0} does not exist")]
    NotFound(Resource),
    /// A value in the request is not acceptable.
    #[error(transparent)]
    Invalid(#[from] InputError),
    /// Another staff member has this login.
    #[error("the login {0} is taken")]
    LoginTaken(Login),
    /// Another shift template has this name.
    #[error("the shift name {0} is taken")]
    ShiftNameTaken(ShiftName),
    /// Schedule entries follow this shift template, so it cannot be removed.
    #[error("{0} is used by schedule entries")]
    ShiftInUse(Resource),
    /// The change would leave the team without an active admin.
    #[error(
        "{0} is the last active admin: make another staff member an admin before demoting or \
         deactivating them"
    )]
    LastAdmin(Resource),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Errors of planning the schedule: assignments, moves, removals.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// Only admins may change the schedule; customers may not read it.
    #[error("not allowed: only an admin may change the schedule, and only staff read it")]
    Forbidden,
    /// The thing named does not exist.
    #[error("{0} does not exist")]
    NotFound(Resource),
    /// A value in the request is not acceptable.
    #[error(transparent)]
    Invalid(#[from] InputError),
    /// The change conflicts with existing work, leave or the rules; nothing was written.
    #[error("{} conflicts; nothing was written", .0.len())]
    Conflicts(Vec<Conflict>),
    /// The thing kept changing under concurrent writers; nothing was written. Try again.
    #[error("{0} is being changed by someone else; try again")]
    Contended(Resource),
    /// Only scheduled entries can be moved.
    #[error("schedule entry {entry} is not scheduled to be worked")]
    NotScheduled {
        /// The entry.
        entry: EntryId,
        /// What it is instead.
        status: EntryStatus,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Errors of leave requests.
#[derive(Debug, thiserror::Error)]
pub enum LeaveError {
    /// The caller may not do this to this request.
    #[error("not allowed for this leave request")]
    Forbidden,
    /// The thing named does not exist or is not the caller's to see.
    #[error("{0} does not exist")]
    NotFound(Resource),
    /// A value in the request is not acceptable.
    #[error(transparent)]
    Invalid(#[from] InputError),
    /// The rules refuse it; nothing changed.
    #[error(transparent)]
    Refused(#[from] LeaveRefusal),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Errors of swap requests.
#[derive(Debug, thiserror::Error)]
pub enum SwapError {
    /// The caller may not do this to this request.
    #[error("not allowed for this swap request")]
    Forbidden,
    /// The thing named does not exist or is not the caller's to see.
    #[error("{0} does not exist")]
    NotFound(Resource),
    /// A value in the request is not acceptable.
    #[error(transparent)]
    Invalid(#[from] InputError),
    /// The rules refuse it; nothing changed.
    #[error(transparent)]
    Refused(#[from] SwapRefusal),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Errors of conversations: opening, messages, status, routing, transfer, search, export.
#[derive(Debug, thiserror::Error)]
pub enum ConversationError {
    /// The caller may not do this.
    #[error("not allowed")]
    Forbidden,
    /// The thing named does not exist or is not the caller's to see.
    #[error("{0} does not exist")]
    NotFound(Resource),
    /// A value in the request is not acceptable.
    #[error(transparent)]
    Invalid(#[from] InputError),
    /// The rules refuse it; nothing changed.
    #[error(transparent)]
    Refused(#[from] ConversationRefusal),
    /// The transfer is refused; nothing changed and no message was written.
    #[error(transparent)]
    Transfer(#[from] TransferRefusal),
    /// Writing the export failed on the receiving side.
    #[error("the export could not be written")]
    Export(#[source] crate::store::BoxError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Errors of canned replies.
#[derive(Debug, thiserror::Error)]
pub enum CannedError {
    /// The caller may not do this.
    #[error("not allowed")]
    Forbidden,
    /// The thing named does not exist or is not the caller's to see.
    #[error("{0} does not exist")]
    NotFound(Resource),
    /// A value in the request is not acceptable.
    #[error(transparent)]
    Invalid(#[from] InputError),
    /// Another reply in the same scope has this shortcode.
    #[error("the shortcode {0} is taken")]
    ShortcodeTaken(Shortcode),
    /// The reply cannot be rendered.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Errors of staff accounts: logins, passwords, sessions, the first admin.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The caller may not do this: staff manage only their own account unless they are an
    /// admin; customers manage none.
    #[error("not allowed for this account")]
    Forbidden,
    /// The thing named does not exist.
    #[error("{0} does not exist")]
    NotFound(Resource),
    /// A value in the request is not acceptable.
    #[error(transparent)]
    Invalid(#[from] InputError),
    /// The login is refused; adapters tell the caller only that login or password is wrong.
    #[error("login refused: {0}")]
    LoginRefused(LoginRefusal),
    /// Another staff member has this login.
    #[error("the login {0} is taken")]
    LoginTaken(Login),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
