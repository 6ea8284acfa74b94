-- Shiftdesk's schema for SQLite, in the same domain words as the PostgreSQL schema. States
-- are checked text, never numbers. SQLite has no date, range, array or enum types, so:
-- - instants are integers, microseconds since 1970-01-01T00:00:00Z (PostgreSQL's precision),
--   so they compare and sort as numbers;
-- - dates are ISO text (YYYY-MM-DD), times of day are HH:MM:SS text;
-- - lists (skills, handlers) and serialized domain values are JSON text;
-- - a schedule entry's span is two instants, starts_at (included) and ends_at (excluded).
-- Ids are AUTOINCREMENT so an id is never reused after a delete (swap requests name entries
-- that may have been removed).

CREATE TABLE team_settings (
    singleton integer PRIMARY KEY CHECK (singleton = 1),
    settings text NOT NULL CHECK (json_valid(settings))
);

CREATE TABLE agents (
    id integer PRIMARY KEY AUTOINCREMENT,
    login text NOT NULL CONSTRAINT agents_login_unique UNIQUE,
    display_name text NOT NULL,
    role text NOT NULL CHECK (role IN ('agent', 'admin')),
    active integer NOT NULL CHECK (active IN (0, 1)),
    skills text NOT NULL DEFAULT '[]' CHECK (json_type(skills) = 'array'),
    capacity integer CHECK (capacity BETWEEN 1 AND 1000),
    -- When the agent was last given a conversation; routing prefers the longest idle.
    last_assigned_at integer
);

CREATE TABLE shifts (
    id integer PRIMARY KEY AUTOINCREMENT,
    name text NOT NULL CONSTRAINT shifts_name_unique UNIQUE,
    starts_at text NOT NULL,
    ends_at text NOT NULL,
    required_skill text,
    CHECK (starts_at <> ends_at)
);

CREATE TABLE leave_requests (
    id integer PRIMARY KEY AUTOINCREMENT,
    agent_id integer NOT NULL REFERENCES agents,
    kind text NOT NULL CHECK (kind IN ('annual', 'sick', 'personal', 'other')),
    first_date text NOT NULL,
    last_date text NOT NULL,
    reason text,
    requested_by text NOT NULL CHECK (json_valid(requested_by)),
    requested_at integer NOT NULL,
    state text NOT NULL
        CHECK (state IN ('pending', 'approved', 'rejected', 'cancelled', 'revoked')),
    -- Who moved it out of pending (and who revoked it), when, and why.
    decided_by text CHECK (json_valid(decided_by)),
    decided_at integer,
    decision_note text,
    CHECK (first_date <= last_date),
    CHECK ((state = 'pending') = (decided_at IS NULL))
);
CREATE INDEX leave_requests_agent ON leave_requests (agent_id, first_date);

CREATE TABLE swap_requests (
    id integer PRIMARY KEY AUTOINCREMENT,
    requester_id integer NOT NULL REFERENCES agents,
    -- Entries are not foreign keys: a swap may name an entry an admin has since removed, and
    -- its approval then refuses with "missing".
    requester_entry integer NOT NULL,
    target_id integer NOT NULL REFERENCES agents,
    -- Set for an exchange, empty for a cover.
    target_entry integer,
    note text,
    requested_at integer NOT NULL,
    state text NOT NULL CHECK (state IN (
        'pending', 'accepted', 'declined', 'cancelled', 'approved', 'rejected')),
    state_at integer,
    decided_by text CHECK (json_valid(decided_by)),
    decision_note text,
    CHECK (requester_id <> target_id),
    CHECK ((state = 'pending') = (state_at IS NULL))
);
CREATE INDEX swap_requests_requester ON swap_requests (requester_id);
CREATE INDEX swap_requests_target ON swap_requests (target_id);
CREATE INDEX swap_requests_entries ON swap_requests (requester_entry, target_entry);
CREATE INDEX swap_requests_target_entry ON swap_requests (target_entry);

CREATE TABLE schedule_entries (
    id integer PRIMARY KEY AUTOINCREMENT,
    agent_id integer NOT NULL REFERENCES agents,
    shift_id integer NOT NULL REFERENCES shifts,
    -- The local date the shift starts on.
    work_date text NOT NULL,
    -- The instants it covers, fixed when planned: [starts_at, ends_at).
    starts_at integer NOT NULL,
    ends_at integer NOT NULL,
    status text NOT NULL CHECK (status IN ('scheduled', 'on_leave', 'swapped_out')),
    leave_id integer REFERENCES leave_requests,
    swapped_to integer REFERENCES agents,
    swap_id integer REFERENCES swap_requests,
    -- For an entry taken over through a swap: whose shift it covers, and which swap.
    covers_agent integer REFERENCES agents,
    cover_swap integer REFERENCES swap_requests,
    -- An entry is one shift, which lasts less than a day of wall-clock time; two days leaves
    -- room for any clock change, and bounds the overlap triggers' search below.
    CHECK (starts_at < ends_at AND ends_at - starts_at <= 172800000000),
    CHECK ((status = 'on_leave') = (leave_id IS NOT NULL)),
    CHECK ((status = 'swapped_out') = (swapped_to IS NOT NULL AND swap_id IS NOT NULL)),
    CHECK ((covers_agent IS NULL) = (cover_swap IS NULL))
);
CREATE INDEX schedule_entries_agent_date ON schedule_entries (agent_id, work_date);
CREATE INDEX schedule_entries_date ON schedule_entries (work_date);
CREATE INDEX schedule_entries_shift ON schedule_entries (shift_id);
-- Working entries by agent and end: the overlap triggers probe it for entries that end after
-- the new one starts and at most two days after it ends (no entry lasts longer), which are
-- few however long the agent's schedule grows, in the past or the future.
CREATE INDEX schedule_entries_working ON schedule_entries (agent_id, ends_at)
    WHERE status = 'scheduled';

-- The last line of defence, in place of PostgreSQL's exclusion constraint: the service finds
-- every conflict first, but no two working entries of one agent may ever overlap, whatever
-- wrote them. The store maps the error's message to the overlap constraint.
CREATE TRIGGER schedule_entries_no_overlap_insert
BEFORE INSERT ON schedule_entries
WHEN NEW.status = 'scheduled' AND EXISTS (
    SELECT 1 FROM schedule_entries e
    WHERE e.agent_id = NEW.agent_id AND e.status = 'scheduled'
      AND e.ends_at > NEW.starts_at AND e.ends_at < NEW.ends_at + 172800000000
      AND e.starts_at < NEW.ends_at)
BEGIN
    SELECT RAISE(ABORT, 'schedule_entries_no_overlap');
END;

CREATE TRIGGER schedule_entries_no_overlap_update
BEFORE UPDATE OF agent_id, starts_at, ends_at, status ON schedule_entries
WHEN NEW.status = 'scheduled' AND EXISTS (
    SELECT 1 FROM schedule_entries e
    WHERE e.agent_id = NEW.agent_id AND e.status = 'scheduled' AND e.id <> NEW.id
      AND e.ends_at > NEW.starts_at AND e.ends_at < NEW.ends_at + 172800000000
      AND e.starts_at < NEW.ends_at)
BEGIN
    SELECT RAISE(ABORT, 'schedule_entries_no_overlap');
END;

CREATE TABLE audit_log (
    id integer PRIMARY KEY AUTOINCREMENT,
    at integer NOT NULL,
    actor text NOT NULL CHECK (json_valid(actor)),
    -- The staff member behind the actor, for filtering.
    actor_agent integer,
    request_id text,
    action text NOT NULL CHECK (action IN (
        'team_updated', 'agent_created', 'agent_updated', 'shift_created', 'shift_updated',
        'shift_removed', 'entries_assigned', 'entry_moved', 'entry_removed', 'leave_requested',
        'leave_approved', 'leave_rejected', 'leave_cancelled', 'leave_revoked',
        'swap_requested', 'swap_accepted', 'swap_declined', 'swap_cancelled', 'swap_approved',
        'swap_rejected')),
    -- The subject as the domain serializes it; a filter compares the whole text.
    subject text NOT NULL CHECK (json_valid(subject)),
    before text CHECK (json_valid(before)),
    after text CHECK (json_valid(after))
);
CREATE INDEX audit_log_subject ON audit_log (subject, id);
CREATE INDEX audit_log_actor ON audit_log (actor_agent, id);

CREATE TABLE customers (
    id integer PRIMARY KEY AUTOINCREMENT,
    external_id text NOT NULL CONSTRAINT customers_external_id_unique UNIQUE,
    display_name text NOT NULL
);

CREATE TABLE conversations (
    id integer PRIMARY KEY AUTOINCREMENT,
    customer_id integer NOT NULL REFERENCES customers,
    topic text,
    state text NOT NULL CHECK (state IN ('open', 'pending', 'snoozed', 'resolved')),
    snoozed_until integer,
    resolved_at integer,
    -- Empty while the conversation waits in the queue.
    assignee_id integer REFERENCES agents,
    -- When it joined the queue, or when its agent got it.
    owner_since integer NOT NULL,
    -- Everyone it has ever been assigned to (a JSON array of agent ids); an agent may read
    -- what they handled.
    handled_by text NOT NULL DEFAULT '[]' CHECK (json_type(handled_by) = 'array'),
    created_at integer NOT NULL,
    CHECK ((state = 'snoozed') = (snoozed_until IS NOT NULL)),
    CHECK ((state = 'resolved') = (resolved_at IS NOT NULL))
);
CREATE INDEX conversations_waiting ON conversations (owner_since, id)
    WHERE assignee_id IS NULL AND state NOT IN ('resolved', 'snoozed');
CREATE INDEX conversations_held ON conversations (assignee_id) WHERE state <> 'resolved';
CREATE INDEX conversations_snoozed ON conversations (snoozed_until) WHERE state = 'snoozed';
CREATE INDEX conversations_customer ON conversations (customer_id);
CREATE INDEX conversations_created ON conversations (created_at);

-- Each conversation's counter row: how many messages it holds (so the next one's number) and
-- when the last was written. Every message bumps it, so it lives apart from the conversation
-- and its indexes.
CREATE TABLE conversation_counters (
    conversation_id integer PRIMARY KEY REFERENCES conversations,
    message_count integer NOT NULL DEFAULT 0 CHECK (message_count >= 0),
    last_activity_at integer NOT NULL
);

CREATE TABLE messages (
    conversation_id integer NOT NULL REFERENCES conversations,
    seq integer NOT NULL CHECK (seq >= 1),
    client_id text,
    sender_kind text NOT NULL CHECK (sender_kind IN ('customer', 'agent', 'system')),
    sender_id integer,
    kind text NOT NULL CHECK (kind IN ('message', 'note', 'system')),
    body text NOT NULL,
    sent_at integer NOT NULL,
    -- The body case-folded when written (core's search::fold), so a substring search for any
    -- script (退票 in 我想退票) is instr() over this column, without folding at query time.
    folded text NOT NULL,
    PRIMARY KEY (conversation_id, seq),
    CHECK ((sender_kind = 'system') = (sender_id IS NULL))
) WITHOUT ROWID;

-- A client id names one message of its sender; a retry finds it instead of a second one.
-- Shiftdesk's own messages have no sender id, so it counts as 0 here: a plain unique
-- constraint would take every NULL for a different sender and let a retry in twice.
CREATE UNIQUE INDEX messages_client_id_unique
    ON messages (conversation_id, sender_kind, ifnull(sender_id, 0), client_id)
    WHERE client_id IS NOT NULL;

CREATE TABLE read_positions (
    conversation_id integer NOT NULL REFERENCES conversations,
    participant_kind text NOT NULL CHECK (participant_kind IN ('customer', 'agent')),
    participant_id integer NOT NULL,
    seq integer NOT NULL CHECK (seq >= 1),
    PRIMARY KEY (conversation_id, participant_kind, participant_id)
) WITHOUT ROWID;

CREATE TABLE transfers (
    id integer PRIMARY KEY AUTOINCREMENT,
    conversation_id integer NOT NULL REFERENCES conversations,
    from_agent integer REFERENCES agents,
    to_agent integer NOT NULL REFERENCES agents,
    moved_by text NOT NULL CHECK (json_valid(moved_by)),
    note text,
    at integer NOT NULL
);
CREATE INDEX transfers_conversation ON transfers (conversation_id, id);

CREATE TABLE canned_replies (
    id integer PRIMARY KEY AUTOINCREMENT,
    -- Empty for a public reply.
    owner_id integer REFERENCES agents,
    shortcode text NOT NULL,
    title text NOT NULL,
    category text,
    body text NOT NULL
);
-- SQLite's unique indexes treat empty values as distinct; public replies (no owner) must
-- still share one namespace, so the owner is indexed as 0 when empty (ids start at 1).
CREATE UNIQUE INDEX canned_replies_shortcode_unique
    ON canned_replies (coalesce(owner_id, 0), shortcode);
