-- Staff accounts: a password hash (argon2id, PHC string format) once someone sets one, and
-- the version every session token must carry. Moving the version up ends every session
-- issued before; it starts at 1 and only goes up.
ALTER TABLE agents ADD COLUMN password_hash text
    CHECK (password_hash LIKE '$argon2id$%');
ALTER TABLE agents ADD COLUMN token_version integer NOT NULL DEFAULT 1
    CHECK (token_version >= 1);

-- Logins, failed logins, password changes and ending every session are audited too. SQLite
-- cannot change a table's CHECK constraint, so the audit log is rebuilt with the longer list
-- of actions, keeping every record and its id.
CREATE TABLE audit_log_accounts (
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
        'logged_out_everywhere')),
    -- The subject as the domain serializes it; a filter compares the whole text.
    subject text NOT NULL CHECK (json_valid(subject)),
    before text CHECK (json_valid(before)),
    after text CHECK (json_valid(after))
);
INSERT INTO audit_log_accounts (id, at, actor, actor_agent, request_id, action, subject, before,
                                after)
    SELECT id, at, actor, actor_agent, request_id, action, subject, before, after
    FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_accounts RENAME TO audit_log;
CREATE INDEX audit_log_subject ON audit_log (subject, id);
CREATE INDEX audit_log_actor ON audit_log (actor_agent, id);
