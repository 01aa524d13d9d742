-- name: has-claimable
SELECT EXISTS (
    SELECT 1 FROM campaign_recipients
    WHERE campaign_id = $1 AND seq >= $2 AND seq < $3 AND status = 'pending'
      AND (next_attempt_at IS NULL OR next_attempt_at <= $4)
);

-- name: claim-recipient
-- Exactly-once: one statement moves one due pending recipient to sending
-- (SKIP LOCKED: concurrent workers of the same chunk take different rows),
-- only while the campaign is running and its instance is not blocked (a
-- LoggedOut webhook, a TemporaryBan until it expires), and writes the message id before the
-- send. The id formula is campaign.MessageID's.
-- $5 is the sending instance (NULL: the campaign's); $6 which recipients may be taken: 'known'
-- (phones that wrote to the instance, in either Brazilian form), 'new'
-- (the others) or 'any'. With $7 a new contact needs a cached number check
-- newer than $8 saying it is on WhatsApp; the send then goes to the
-- checked number. $9 is the chunk generation of the worker's message: a
-- worker of an older generation (the campaign was paused and resumed since)
-- claims nothing.
WITH job AS (
    SELECT c.tenant_id, COALESCE($5::uuid, c.instance_id) AS instance_id
    FROM campaigns c JOIN instances i ON i.id = c.instance_id
    WHERE c.id = $1 AND c.status = 'running' AND (i.blocked_reason IS NULL OR i.blocked_until <= $4)
      AND c.chunk_gen = $9
), next AS (
    SELECT r.phone, job.instance_id, k.known, n.jid_phone FROM campaign_recipients r
    CROSS JOIN job
    CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM known_contacts kc
        WHERE kc.instance_id = job.instance_id AND kc.phone = ANY (phone_forms(r.phone))) AS known) k
    LEFT JOIN number_checks n ON n.tenant_id = job.tenant_id AND n.phone = r.phone
        AND n.on_whatsapp AND n.checked_at >= $8
    WHERE r.campaign_id = $1 AND r.seq >= $2 AND r.seq < $3 AND r.status = 'pending'
      AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= $4)
      AND CASE $6::text
          WHEN 'known' THEN k.known
          WHEN 'new' THEN NOT k.known AND (NOT $7 OR n.phone IS NOT NULL)
          ELSE k.known OR NOT $7 OR n.phone IS NOT NULL END
    ORDER BY r.seq
    LIMIT 1
    FOR UPDATE OF r SKIP LOCKED
)
UPDATE campaign_recipients r SET
    status = 'sending', attempts = r.attempts + 1, claimed_at = $4, next_attempt_at = NULL,
    instance_id = next.instance_id, new_contact = NOT next.known,
    send_phone = CASE WHEN next.known THEN NULL ELSE NULLIF(next.jid_phone, r.phone) END,
    wuzapi_message_id = '3EB0' || upper(substr(encode(sha256(convert_to(
        r.campaign_id::text || ':' || r.phone || ':' || r.generation::text, 'UTF8')), 'hex'), 1, 18))
FROM next
WHERE r.campaign_id = $1 AND r.phone = next.phone
RETURNING r.phone, r.name, r.vars, r.attempts, r.generation, r.wuzapi_message_id, NOT next.known,
    COALESCE(r.send_phone, r.phone);

-- name: defer-recipient
-- A claimed recipient whose send did not go out waits again: back to
-- pending without spending its attempt, due at $3 (NULL: now).
UPDATE campaign_recipients SET status = 'pending', attempts = GREATEST(attempts - 1, 0), claimed_at = NULL,
    next_attempt_at = $3
WHERE campaign_id = $1 AND phone = $2 AND status = 'sending';

-- name: mark-sent
-- Never backwards: a receipt that came first keeps delivered/read.
-- Outcomes commit without waiting for the WAL flush (synchronous_commit off
-- for this statement's transaction only): losing one in a database crash
-- leaves the recipient in sending, which becomes unknown, never re-sent.
-- The claim, which is what prevents a second send, stays synchronous.
WITH async AS (SELECT set_config('synchronous_commit', 'off', true))
UPDATE campaign_recipients SET
    status = CASE WHEN read_at IS NOT NULL THEN 'read' WHEN delivered_at IS NOT NULL THEN 'delivered' ELSE 'sent' END,
    sent_at = COALESCE(sent_at, $3), last_error = NULL, next_attempt_at = NULL
FROM async
WHERE campaign_id = $1 AND phone = $2 AND status IN ('sending', 'unknown', 'delivered', 'read');

-- name: retry-later
-- Asynchronous commit as mark-sent: lost, the recipient becomes unknown.
WITH async AS (SELECT set_config('synchronous_commit', 'off', true))
UPDATE campaign_recipients SET status = 'pending', last_error = $3, next_attempt_at = $4, claimed_at = NULL
FROM async
WHERE campaign_id = $1 AND phone = $2 AND status = 'sending';

-- name: mark-failed
WITH async AS (SELECT set_config('synchronous_commit', 'off', true))
UPDATE campaign_recipients SET status = 'failed', last_error = $3, failed_at = $4, next_attempt_at = NULL
FROM async
WHERE campaign_id = $1 AND phone = $2 AND status IN ('sending', 'unknown');

-- name: unclaim
UPDATE campaign_recipients SET status = 'pending', attempts = GREATEST(attempts - 1, 0), claimed_at = NULL
WHERE campaign_id = $1 AND phone = $2 AND status = 'sending';

-- name: chunk-state
SELECT count(*), min(next_attempt_at) FROM campaign_recipients
WHERE campaign_id = $1 AND seq >= $2 AND seq < $3 AND status = 'pending';

-- name: recent-outcomes
SELECT count(*) FILTER (WHERE status = 'failed'), count(*) FROM (
    SELECT status FROM campaign_recipients
    WHERE campaign_id = $1 AND status IN ('sent', 'delivered', 'read', 'failed')
    ORDER BY GREATEST(sent_at, failed_at) DESC NULLS LAST
    LIMIT $2
) w;

-- name: list-recipients
-- Keyset page in campaign order; $3 is the seq after which to start.
SELECT seq, phone, contact_id, status, attempts, last_error, wuzapi_message_id, sent_at, delivered_at, read_at,
    replied_at, reply, instance_id, skip_reason
FROM campaign_recipients
WHERE campaign_id = $1 AND ($2::text IS NULL OR status = $2) AND seq > $3
ORDER BY seq
LIMIT $4;

-- name: list-replies
-- Keyset page of a campaign's replies, newest first; the name is the
-- recipient's, else its contact's.
SELECT rp.id, rp.phone, COALESCE(NULLIF(cr.name, ''), ct.name, ''), rp.text, rp.received_at
FROM replies rp
LEFT JOIN campaign_recipients cr ON cr.campaign_id = rp.campaign_id AND cr.phone = rp.phone
LEFT JOIN contacts ct ON ct.id = cr.contact_id
WHERE rp.tenant_id = $1 AND rp.campaign_id = $2 AND ($3::uuid IS NULL OR rp.id < $3)
ORDER BY rp.id DESC
LIMIT $4;
