-- Invite delivery gives up (issue 21): an invite still undelivered `[invites]
-- delivery_give_up_after` after its delivery started (the first time it was due: its 3PID
-- bound) is marked abandoned and no longer retried. Counted from then, not from the invite's
-- creation: invitees often sign up weeks later, and that delivery must still happen.
ALTER TABLE invites ADD COLUMN delivery_started_ms INTEGER;
ALTER TABLE invites ADD COLUMN abandoned_ms INTEGER;
