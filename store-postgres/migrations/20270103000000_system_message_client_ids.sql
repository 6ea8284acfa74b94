-- A client id names one message of its sender, system messages included. The constraint it
-- replaces left them out: they have no sender id, and a plain unique constraint counts NULLs
-- as distinct, so a retried system message was stored twice. This index counts the missing
-- sender id as equal to itself, and, being partial, leaves messages without a client id free.

-- System messages stored twice before keep their text; only the first keeps the client id.
UPDATE messages m
SET client_id = NULL
WHERE m.sender_kind = 'system'
  AND m.client_id IS NOT NULL
  AND EXISTS (
      SELECT 1 FROM messages e
      WHERE e.conversation_id = m.conversation_id
        AND e.sender_kind = 'system'
        AND e.client_id = m.client_id
        AND e.seq < m.seq
  );

ALTER TABLE messages DROP CONSTRAINT messages_client_id_unique;
CREATE UNIQUE INDEX messages_client_id_unique
    ON messages (conversation_id, sender_kind, sender_id, client_id) NULLS NOT DISTINCT
    WHERE client_id IS NOT NULL;
