-- Webhook events, receipts, opt-outs and instance blocks.

-- name: webhook-instance
-- What the webhook needs to authenticate a post: no tenant filter, the
-- instance id comes from the URL and the secret proves the caller.
SELECT id, tenant_id, webhook_secret_hash, coalesce(webhook_hmac_key, '')
FROM instances WHERE id = $1;

-- name: record-wuzapi-event
-- A retried post has the same body: it is stored once, and the existing row
-- says whether it was already applied.
WITH ins AS (
    INSERT INTO wuzapi_events (instance_id, tenant_id, type, payload, body_sha256)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (instance_id, body_sha256) DO NOTHING
    RETURNING id, false AS duplicate, false AS processed
)
SELECT id, duplicate, processed FROM ins
UNION ALL
SELECT id, true, processed_at IS NOT NULL FROM wuzapi_events
WHERE instance_id = $1 AND body_sha256 = $5 AND NOT EXISTS (SELECT 1 FROM ins);

-- name: finish-wuzapi-event
-- $2 NULL: applied. Otherwise the error, kept for the scheduler's retry.
UPDATE wuzapi_events SET
    processed_at = CASE WHEN $2::text IS NULL THEN now() END,
    attempts     = attempts + 1,
    error        = $2::text
WHERE id = $1;

-- name: unprocessed-wuzapi-events
-- Events a webhook stored but could not apply, oldest first; give up after
-- $2 attempts (the row stays, with its error, for an operator).
SELECT id, instance_id, tenant_id, payload::text
FROM wuzapi_events
WHERE processed_at IS NULL AND received_at < $1 AND attempts < $2
ORDER BY received_at
LIMIT $3;

-- name: purge-wuzapi-events
DELETE FROM wuzapi_events WHERE received_at < $1 AND (processed_at IS NOT NULL OR attempts >= $2);

-- name: apply-receipt
SELECT apply_receipt($1, $2, $3, $4);

-- name: apply-pending-receipts
SELECT apply_pending_receipts($1);

-- name: purge-pending-receipts
-- A receipt whose send was never recorded within the window belongs to a
-- message we did not send through a campaign (a manual chat).
DELETE FROM pending_receipts WHERE received_at < $1;

-- name: opt-out-contact
-- An unknown sender becomes an opted-out contact, so no later campaign of the
-- tenant messages that phone either; the tenant's unfinished campaigns skip
-- the phone's recipients that are still pending.
WITH contact AS (
    INSERT INTO contacts (tenant_id, phone, opted_out_at)
    VALUES ($1, $2, $3)
    ON CONFLICT (tenant_id, phone) DO UPDATE SET
        opted_out_at = LEAST(contacts.opted_out_at, EXCLUDED.opted_out_at),
        updated_at   = CASE WHEN contacts.opted_out_at IS NULL THEN now() ELSE contacts.updated_at END
    RETURNING id
)
-- The same person's contact in the other Brazilian form (with or without
-- the 9th digit) opts out too, as do its recipients.
, other AS (
    UPDATE contacts SET opted_out_at = LEAST(opted_out_at, $3), updated_at = now()
    WHERE tenant_id = $1 AND phone = ANY (phone_forms($2)) AND phone <> $2
      AND (opted_out_at IS NULL OR opted_out_at > $3)
)
UPDATE campaign_recipients cr SET status = 'skipped', last_error = 'opted out', skip_reason = 'opted_out'
FROM campaigns c
WHERE c.tenant_id = $1 AND c.status IN ('scheduled', 'queued', 'running', 'paused')
  AND cr.campaign_id = c.id AND cr.phone = ANY (phone_forms($2)) AND cr.status = 'pending'
  AND EXISTS (SELECT 1 FROM contact);

-- name: block-instance
-- Stop the instance's sending at once: flag it (the worker checks before each
-- claim) and pause its live campaigns with the reason, so the tenant sees why
-- and resumes once the number is paired or the ban is over. A pool campaign
-- goes on: its recipients move to the pool's other instances, and it pauses
-- only when none of them can send. The scheduler raises the critical alert
-- (claim-block-alerts).
WITH inst AS (
    UPDATE instances SET
        blocked_reason = $2,
        blocked_at     = coalesce(blocked_at, $3),
        blocked_until  = $4,
        logged_in      = CASE WHEN $2 = 'logged_out' THEN false ELSE logged_in END,
        updated_at     = now()
    WHERE id = $1
    RETURNING id
)
UPDATE campaigns SET status = 'paused', reason = $5, updated_at = now()
WHERE instance_id IN (SELECT id FROM inst) AND instance_ids IS NULL AND status IN ('queued', 'running');

-- name: set-ban-code
-- The TemporaryBan's code, and a reason that says what it means on the
-- campaigns the block paused.
WITH inst AS (
    UPDATE instances SET ban_code = $2 WHERE id = $1 AND blocked_reason = 'temporary_ban' RETURNING id
)
UPDATE campaigns SET reason = $3 || COALESCE(substring(reason FROM ' until .*$'), ''), updated_at = now()
WHERE instance_id IN (SELECT id FROM inst) AND status = 'paused' AND reason LIKE 'instance temporarily banned%';

-- name: claim-block-alerts
-- Blocks still in force ($1 is now) that no alert was raised for, at most
-- $2: each is claimed by writing its blocked_at to block_alerted_at, so a
-- block alerts once however many schedulers run. A new block of the same
-- instance (unblocked, then blocked again) has a new blocked_at and alerts
-- again.
WITH due AS (
    SELECT id FROM instances
    WHERE blocked_reason IS NOT NULL AND block_alerted_at IS DISTINCT FROM blocked_at
      AND blocked_at IS NOT NULL AND (blocked_until IS NULL OR blocked_until > $1)
    ORDER BY blocked_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE instances i SET block_alerted_at = i.blocked_at
FROM due WHERE i.id = due.id
RETURNING i.id, i.tenant_id, i.name, i.blocked_reason, i.ban_code, i.blocked_until, i.blocked_at;

-- name: release-block-alert
-- The alert of a claimed block was not delivered: the next run tries again.
UPDATE instances SET block_alerted_at = NULL WHERE id = $1 AND block_alerted_at = $2;

-- name: unblock-instance
UPDATE instances SET blocked_reason = NULL, blocked_at = NULL, blocked_until = NULL, ban_code = NULL, updated_at = now()
WHERE id = $1 AND blocked_reason IS NOT NULL;

-- name: instance-block
SELECT coalesce(blocked_reason, ''), blocked_at, blocked_until FROM instances WHERE id = $1;

-- name: campaign-undelivered
-- Recipients sent before $3 that no delivery receipt has reached.
SELECT count(*)
FROM campaign_recipients cr JOIN campaigns c ON c.id = cr.campaign_id
WHERE c.tenant_id = $1 AND cr.campaign_id = $2
  AND cr.status = 'sent' AND cr.delivered_at IS NULL AND cr.sent_at < $3;

-- name: record-reply
-- An incoming message credited to the latest campaign of the instance that
-- sent to the phone (either Brazilian form) in the 72 hours before it; a
-- minute of slack covers the clocks of WuzAPI and ours. The recipient keeps
-- its first reply. Nothing happens when no campaign qualifies, or when the
-- message id was recorded before. Returns the campaign credited.
WITH target AS (
    SELECT cr.campaign_id, cr.phone
    FROM campaign_recipients cr JOIN campaigns c ON c.id = cr.campaign_id
    WHERE cr.phone = ANY (phone_forms($3)) AND cr.sent_at IS NOT NULL
      AND cr.sent_at > $4::timestamptz - interval '72 hours' AND cr.sent_at <= $4::timestamptz + interval '1 minute'
      AND c.tenant_id = $2 AND COALESCE(cr.instance_id, c.instance_id) = $1
    ORDER BY cr.sent_at DESC
    LIMIT 1
), ins AS (
    INSERT INTO replies (tenant_id, campaign_id, instance_id, phone, text, message_id, received_at)
    SELECT $2, t.campaign_id, $1, t.phone, left($5, 4096), NULLIF($6, ''), $4 FROM target t
    ON CONFLICT (instance_id, message_id) WHERE message_id IS NOT NULL DO NOTHING
    RETURNING campaign_id, phone, received_at, text
), rec AS (
    UPDATE campaign_recipients cr SET replied_at = ins.received_at, reply = left(ins.text, 500)
    FROM ins
    WHERE cr.campaign_id = ins.campaign_id AND cr.phone = ins.phone
      AND (cr.replied_at IS NULL OR cr.replied_at > ins.received_at)
)
SELECT campaign_id FROM ins;
