-- Staff accounts: a password hash (argon2id, PHC string format) once someone sets one, and
-- the version every session token must carry. Moving the version up ends every session
-- issued before; it starts at 1 and only goes up.
ALTER TABLE agents
    ADD COLUMN password_hash text CHECK (password_hash LIKE '$argon2id$%'),
    ADD COLUMN token_version bigint NOT NULL DEFAULT 1 CHECK (token_version >= 1);

-- Logins, failed logins, password changes and ending every session are audited too.
ALTER TYPE audit_action ADD VALUE 'login_succeeded';
ALTER TYPE audit_action ADD VALUE 'login_failed';
ALTER TYPE audit_action ADD VALUE 'password_changed';
ALTER TYPE audit_action ADD VALUE 'logged_out_everywhere';
