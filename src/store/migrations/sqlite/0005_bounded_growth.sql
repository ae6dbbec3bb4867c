-- Bounded growth (issue 21): access tokens carry when they were last used (at an hour's
-- resolution), so unused ones can expire and the oldest of an account be dropped; invites
-- keep only the columns delivery reads, not the whole store-invite body.

-- Existing tokens count as used when they were issued.
ALTER TABLE access_tokens ADD COLUMN last_used_ms INTEGER NOT NULL DEFAULT 0;
UPDATE access_tokens SET last_used_ms = created_ms;
CREATE INDEX access_tokens_last_used ON access_tokens (last_used_ms);
CREATE INDEX access_tokens_user_created ON access_tokens (user_id, created_ms);

-- Nothing reads the stored bodies (the mail is rendered before the invite is stored).
UPDATE invites SET params = '{}' WHERE params <> '{}';
