-- Exports of conversations are audited: who exported, with which filter and format.
ALTER TYPE audit_action ADD VALUE 'conversations_exported';
