-- Shiftdesk's schema, in the domain's words. States are enums, never numbers; instants are
-- timestamptz; each table refuses rows the domain cannot hold.

CREATE EXTENSION IF NOT EXISTS btree_gist;

-- The one row of team settings, kept as the domain serializes them.
CREATE TABLE team_settings (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    settings jsonb NOT NULL
);

CREATE TYPE staff_role AS ENUM ('agent', 'admin');

CREATE TABLE agents (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login text NOT NULL CONSTRAINT agents_login_unique UNIQUE,
    display_name text NOT NULL,
    role staff_role NOT NULL,
    active boolean NOT NULL,
    skills text[] NOT NULL DEFAULT '{}',
    capacity integer CHECK (capacity BETWEEN 1 AND 1000),
    -- When the agent was last given a conversation; routing prefers the longest idle.
    last_assigned_at timestamptz
);

CREATE TABLE shifts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL CONSTRAINT shifts_name_unique UNIQUE,
    starts_at time NOT NULL,
    ends_at time NOT NULL,
    required_skill text,
    CHECK (starts_at <> ends_at)
);

CREATE TYPE leave_kind AS ENUM ('annual', 'sick', 'personal', 'other');
CREATE TYPE leave_state AS ENUM ('pending', 'approved', 'rejected', 'cancelled', 'revoked');

CREATE TABLE leave_requests (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agent_id bigint NOT NULL REFERENCES agents,
    kind leave_kind NOT NULL,
    first_date date NOT NULL,
    last_date date NOT NULL,
    reason text,
    requested_by jsonb NOT NULL,
    requested_at timestamptz NOT NULL,
    state leave_state NOT NULL,
    -- Who moved it out of pending (and who revoked it), when, and why.
    decided_by jsonb,
    decided_at timestamptz,
    decision_note text,
    CHECK (first_date <= last_date),
    CHECK ((state = 'pending') = (decided_at IS NULL))
);
CREATE INDEX leave_requests_agent ON leave_requests (agent_id, first_date);

CREATE TYPE swap_state AS ENUM (
    'pending', 'accepted', 'declined', 'cancelled', 'approved', 'rejected'
);

CREATE TABLE swap_requests (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    requester_id bigint NOT NULL REFERENCES agents,
    -- Entries are not foreign keys: a swap may name an entry an admin has since removed, and
    -- its approval then refuses with "missing".
    requester_entry bigint NOT NULL,
    target_id bigint NOT NULL REFERENCES agents,
    -- Set for an exchange, empty for a cover.
    target_entry bigint,
    note text,
    requested_at timestamptz NOT NULL,
    state swap_state NOT NULL,
    state_at timestamptz,
    decided_by jsonb,
    decision_note text,
    CHECK (requester_id <> target_id),
    CHECK ((state = 'pending') = (state_at IS NULL))
);
CREATE INDEX swap_requests_requester ON swap_requests (requester_id);
CREATE INDEX swap_requests_target ON swap_requests (target_id);
CREATE INDEX swap_requests_entries ON swap_requests (requester_entry, target_entry);

CREATE TYPE entry_status AS ENUM ('scheduled', 'on_leave', 'swapped_out');

CREATE TABLE schedule_entries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agent_id bigint NOT NULL REFERENCES agents,
    shift_id bigint NOT NULL REFERENCES shifts,
    -- The local date the shift starts on.
    work_date date NOT NULL,
    -- The instants it covers, fixed when planned.
    during tstzrange NOT NULL,
    status entry_status NOT NULL,
    leave_id bigint REFERENCES leave_requests,
    swapped_to bigint REFERENCES agents,
    swap_id bigint REFERENCES swap_requests,
    -- For an entry taken over through a swap: whose shift it covers, and which swap.
    covers_agent bigint REFERENCES agents,
    cover_swap bigint REFERENCES swap_requests,
    CHECK (NOT isempty(during) AND lower_inc(during) AND NOT upper_inc(during)),
    CHECK ((status = 'on_leave') = (leave_id IS NOT NULL)),
    CHECK ((status = 'swapped_out') = (swapped_to IS NOT NULL AND swap_id IS NOT NULL)),
    CHECK ((covers_agent IS NULL) = (cover_swap IS NULL)),
    -- The last line of defence: the service finds every conflict first, but no two working
    -- entries of one agent may ever overlap, whatever wrote them.
    CONSTRAINT schedule_entries_no_overlap
        EXCLUDE USING gist (agent_id WITH =, during WITH &&) WHERE (status = 'scheduled')
);
CREATE INDEX schedule_entries_agent_date ON schedule_entries (agent_id, work_date);
CREATE INDEX schedule_entries_date ON schedule_entries (work_date);
CREATE INDEX schedule_entries_shift ON schedule_entries (shift_id);

CREATE TYPE audit_action AS ENUM (
    'team_updated', 'agent_created', 'agent_updated', 'shift_created', 'shift_updated',
    'shift_removed', 'entries_assigned', 'entry_moved', 'entry_removed', 'leave_requested',
    'leave_approved', 'leave_rejected', 'leave_cancelled', 'leave_revoked', 'swap_requested',
    'swap_accepted', 'swap_declined', 'swap_cancelled', 'swap_approved', 'swap_rejected'
);

CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL,
    actor jsonb NOT NULL,
    -- The staff member behind the actor, for filtering.
    actor_agent bigint,
    request_id text,
    action audit_action NOT NULL,
    subject jsonb NOT NULL,
    before jsonb,
    after jsonb
);
CREATE INDEX audit_log_subject ON audit_log USING gin (subject jsonb_path_ops);
CREATE INDEX audit_log_actor ON audit_log (actor_agent, id);

CREATE TABLE customers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    external_id text NOT NULL CONSTRAINT customers_external_id_unique UNIQUE,
    display_name text NOT NULL
);

CREATE TYPE conversation_state AS ENUM ('open', 'pending', 'snoozed', 'resolved');

CREATE TABLE conversations (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers,
    topic text,
    state conversation_state NOT NULL,
    snoozed_until timestamptz,
    resolved_at timestamptz,
    -- Empty while the conversation waits in the queue.
    assignee_id bigint REFERENCES agents,
    -- When it joined the queue, or when its agent got it.
    owner_since timestamptz NOT NULL,
    -- Everyone it has ever been assigned to; an agent may read what they handled.
    handled_by bigint[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    CHECK ((state = 'snoozed') = (snoozed_until IS NOT NULL)),
    CHECK ((state = 'resolved') = (resolved_at IS NOT NULL))
);
CREATE INDEX conversations_waiting ON conversations (owner_since, id)
    WHERE assignee_id IS NULL AND state NOT IN ('resolved', 'snoozed');
CREATE INDEX conversations_held ON conversations (assignee_id) WHERE state <> 'resolved';
CREATE INDEX conversations_snoozed ON conversations (snoozed_until) WHERE state = 'snoozed';
CREATE INDEX conversations_customer ON conversations (customer_id);
CREATE INDEX conversations_handled_by ON conversations USING gin (handled_by);
CREATE INDEX conversations_created ON conversations (created_at);

-- Each conversation's counter row: how many messages it holds (so the next one's number) and
-- when the last was written. Every message bumps it, so it lives apart from the conversation
-- and carries no index of its own: the update stays in place (a HOT update) instead of
-- touching every index of the conversation. Filtering by last activity scans these narrow
-- rows.
CREATE TABLE conversation_counters (
    conversation_id bigint PRIMARY KEY REFERENCES conversations,
    message_count bigint NOT NULL DEFAULT 0 CHECK (message_count >= 0),
    last_activity_at timestamptz NOT NULL
) WITH (fillfactor = 70);

CREATE TYPE sender_kind AS ENUM ('customer', 'agent', 'system');
CREATE TYPE message_kind AS ENUM ('message', 'note', 'system');

CREATE TABLE messages (
    conversation_id bigint NOT NULL REFERENCES conversations,
    seq bigint NOT NULL CHECK (seq >= 1),
    client_id text,
    sender_kind sender_kind NOT NULL,
    sender_id bigint,
    kind message_kind NOT NULL,
    body text NOT NULL,
    sent_at timestamptz NOT NULL,
    -- The body lower-cased and its distinct character pairs, computed when written, so a
    -- substring search for any script (退票 in 我想退票) can use a GIN index.
    folded text NOT NULL,
    grams text[] NOT NULL,
    PRIMARY KEY (conversation_id, seq),
    -- A client id names one message of its sender; a retry finds it instead of a second one.
    CONSTRAINT messages_client_id_unique
        UNIQUE (conversation_id, sender_kind, sender_id, client_id),
    CHECK ((sender_kind = 'system') = (sender_id IS NULL))
);
CREATE INDEX messages_grams ON messages USING gin (grams);

CREATE TYPE participant_kind AS ENUM ('customer', 'agent');

CREATE TABLE read_positions (
    conversation_id bigint NOT NULL REFERENCES conversations,
    participant_kind participant_kind NOT NULL,
    participant_id bigint NOT NULL,
    seq bigint NOT NULL CHECK (seq >= 1),
    PRIMARY KEY (conversation_id, participant_kind, participant_id)
);

CREATE TABLE transfers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id bigint NOT NULL REFERENCES conversations,
    from_agent bigint REFERENCES agents,
    to_agent bigint NOT NULL REFERENCES agents,
    moved_by jsonb NOT NULL,
    note text,
    at timestamptz NOT NULL
);
CREATE INDEX transfers_conversation ON transfers (conversation_id, id);

CREATE TABLE canned_replies (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Empty for a public reply.
    owner_id bigint REFERENCES agents,
    shortcode text NOT NULL,
    title text NOT NULL,
    category text,
    body text NOT NULL,
    CONSTRAINT canned_replies_shortcode_unique UNIQUE NULLS NOT DISTINCT (owner_id, shortcode)
);
