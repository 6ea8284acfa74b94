-- Exports of conversations are audited: who exported, with which filter and format. SQLite
-- cannot change a table's CHECK constraint, so the audit log is rebuilt with the longer list
-- of actions, keeping every record and its id.
CREATE TABLE audit_log_exports (
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
        'swap_rejected', 'login_succeeded', 'login_failed', 'password_changed',
        'logged_out_everywhere', 'conversations_exported')),
    -- The subject as the domain serializes it; a filter compares the whole text.
    subject text NOT NULL CHECK (json_valid(subject)),
    before text CHECK (json_valid(before)),
    after text CHECK (json_valid(after))
);
INSERT INTO audit_log_exports (id, at, actor, actor_agent, request_id, action, subject, before,
                               after)
    SELECT id, at, actor, actor_agent, request_id, action, subject, before, after
    FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_exports RENAME TO audit_log;
CREATE INDEX audit_log_subject ON audit_log (subject, id);
CREATE INDEX audit_log_actor ON audit_log (actor_agent, id);
