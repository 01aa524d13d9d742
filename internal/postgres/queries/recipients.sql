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
-- With $10 (a pool) only recipients already given to instance $5 are taken.
-- $11, when not NULL, is the phone of the recipient this worker sent last:
-- it is marked sent at $12 (as mark-sent does) in the same statement, one
-- round trip and one commit fewer per send. The claim's commit stays
-- synchronous.
WITH marked AS (
    UPDATE campaign_recipients SET
        status = CASE WHEN read_at IS NOT NULL THEN 'read' WHEN delivered_at IS NOT NULL THEN 'delivered' ELSE 'sent' END,
        sent_at = COALESCE(sent_at, $12), last_error = NULL, next_attempt_at = NULL
    WHERE $11::text IS NOT NULL AND campaign_id = $1 AND phone = $11
      AND status IN ('sending', 'unknown', 'delivered', 'read')
), job AS MATERIALIZED (
    -- The instance is a lateral lookup by its key (LIMIT 1 keeps it one):
    -- as a join of the two small tables it was planned as a hash join,
    -- built on every claim.
    SELECT c.tenant_id, i.id AS instance_id
    FROM campaigns c
    CROSS JOIN LATERAL (SELECT i.id FROM instances i
        WHERE i.id = COALESCE($5::uuid, c.instance_id) AND (i.blocked_reason IS NULL OR i.blocked_until <= $4)
        LIMIT 1) i
    WHERE c.id = $1 AND c.status = 'running' AND c.chunk_gen = $9
), next AS (
    SELECT r.phone, job.instance_id, k.known, n.jid_phone FROM campaign_recipients r
    CROSS JOIN job
    CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM known_contacts kc
        WHERE kc.instance_id = job.instance_id AND kc.phone = ANY (phone_forms(r.phone))) AS known) k
    -- A lateral lookup (LIMIT 1: the planner cannot turn it into a join),
    -- and job materialized: planned as hash joins they gave up the pending
    -- index's order, so every pending recipient of the chunk was read,
    -- checked and sorted for the first one (~400 buffers a claim in a
    -- 100-recipient chunk); now the claim stops at the first that
    -- qualifies, and the pending index holds no recipient the chunk has
    -- claimed already.
    LEFT JOIN LATERAL (SELECT n.phone, n.jid_phone FROM number_checks n
        WHERE n.tenant_id = job.tenant_id AND n.phone = r.phone AND n.on_whatsapp AND n.checked_at >= $8
        LIMIT 1) n ON true
    WHERE r.campaign_id = $1 AND r.seq >= $2 AND r.seq < $3 AND r.status = 'pending'
      AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= $4)
      AND (NOT $10::boolean OR r.instance_id = job.instance_id)
      AND CASE $6::text
          WHEN 'known' THEN k.known
          WHEN 'new' THEN NOT k.known AND (NOT $7 OR n.phone IS NOT NULL)
          ELSE k.known OR NOT $7 OR n.phone IS NOT NULL END
    ORDER BY r.seq
    LIMIT 1
    FOR UPDATE OF r SKIP LOCKED
)
UPDATE campaign_recipients r SET
    status = 'sending', attempts = r.attempts + 1, claimed_at = $4, next_attempt_at = NULL, claim_batch = NULL,
    instance_id = next.instance_id, new_contact = NOT next.known,
    send_phone = CASE WHEN next.known THEN NULL ELSE NULLIF(next.jid_phone, r.phone) END,
    wuzapi_message_id = '3EB0' || upper(substr(encode(sha256(convert_to(
        r.campaign_id::text || ':' || r.phone || ':' || r.generation::text, 'UTF8')), 'hex'), 1, 18))
FROM next
WHERE r.campaign_id = $1 AND r.phone = next.phone
RETURNING r.phone, r.name, r.vars, r.attempts, r.generation, r.wuzapi_message_id, NOT next.known,
    COALESCE(r.send_phone, r.phone), r.seq;

-- name: claim-recipients
-- claim-recipient for up to $13 recipients at once (the bulk worker's
-- claim, when the instance's limits grant several sends at once): the
-- same job, filters and writes, for the first $13 qualifying recipients in
-- seq order, each with its own message id; they come back in no order.
-- $11 and $12 are the phones the worker sent since its last statement
-- and when (arrays of one length, empty for none): each is marked sent as
-- mark-sent does. A recipient claimed here and not sent goes back through
-- settle-claims. $14 is the claim's batch token, written into the claimed
-- rows, and the batch's progress row (claim_batches) starts at the first
-- one's seq (the loop sends it first, without claim-progress); $15 is the
-- loop's previous batch (0: none), whose progress row goes: its recipients
-- are settled by now (this statement records its last sends). After a
-- crash, mark-stuck-unknown makes the batch's recipients up to its progress
-- unknown and puts the others back.
WITH marked AS (
    UPDATE campaign_recipients r SET
        status = CASE WHEN r.read_at IS NOT NULL THEN 'read' WHEN r.delivered_at IS NOT NULL THEN 'delivered' ELSE 'sent' END,
        sent_at = COALESCE(r.sent_at, m.at), last_error = NULL, next_attempt_at = NULL
    FROM unnest($11::text[], $12::timestamptz[]) AS m (phone, at)
    WHERE r.campaign_id = $1 AND r.phone = m.phone
      AND r.status IN ('sending', 'unknown', 'delivered', 'read')
), job AS MATERIALIZED (
    SELECT c.tenant_id, i.id AS instance_id
    FROM campaigns c
    CROSS JOIN LATERAL (SELECT i.id FROM instances i
        WHERE i.id = COALESCE($5::uuid, c.instance_id) AND (i.blocked_reason IS NULL OR i.blocked_until <= $4)
        LIMIT 1) i
    WHERE c.id = $1 AND c.status = 'running' AND c.chunk_gen = $9
), next AS (
    SELECT r.phone, job.instance_id, k.known, n.jid_phone FROM campaign_recipients r
    CROSS JOIN job
    CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM known_contacts kc
        WHERE kc.instance_id = job.instance_id AND kc.phone = ANY (phone_forms(r.phone))) AS known) k
    LEFT JOIN LATERAL (SELECT n.phone, n.jid_phone FROM number_checks n
        WHERE n.tenant_id = job.tenant_id AND n.phone = r.phone AND n.on_whatsapp AND n.checked_at >= $8
        LIMIT 1) n ON true
    WHERE r.campaign_id = $1 AND r.seq >= $2 AND r.seq < $3 AND r.status = 'pending'
      AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= $4)
      AND (NOT $10::boolean OR r.instance_id = job.instance_id)
      AND CASE $6::text
          WHEN 'known' THEN k.known
          WHEN 'new' THEN NOT k.known AND (NOT $7 OR n.phone IS NOT NULL)
          ELSE k.known OR NOT $7 OR n.phone IS NOT NULL END
    ORDER BY r.seq
    LIMIT $13
    FOR UPDATE OF r SKIP LOCKED
), claimed AS (
    UPDATE campaign_recipients r SET
        status = 'sending', attempts = r.attempts + 1, claimed_at = $4, next_attempt_at = NULL, claim_batch = $14,
        instance_id = next.instance_id, new_contact = NOT next.known,
        send_phone = CASE WHEN next.known THEN NULL ELSE NULLIF(next.jid_phone, r.phone) END,
        wuzapi_message_id = '3EB0' || upper(substr(encode(sha256(convert_to(
            r.campaign_id::text || ':' || r.phone || ':' || r.generation::text, 'UTF8')), 'hex'), 1, 18))
    FROM next
    WHERE r.campaign_id = $1 AND r.phone = next.phone
    RETURNING r.phone, r.name, r.vars, r.attempts, r.generation, r.wuzapi_message_id, NOT next.known AS new,
        COALESCE(r.send_phone, r.phone) AS to_phone, r.seq
), progress AS (
    INSERT INTO claim_batches (batch, started_upto, claimed_at)
    SELECT $14, min(seq), $4 FROM claimed HAVING count(*) > 0
), done AS (
    DELETE FROM claim_batches WHERE batch = $15
)
SELECT phone, name, vars, attempts, generation, wuzapi_message_id, new, to_phone, seq FROM claimed;

-- name: claim-progress
-- Before a bulk loop sends a queued recipient (seq $3 of batch $2): whether
-- the campaign still runs its chunk generation $4 on an instance that is
-- not blocked ($5: the claim's instance, NULL the campaign's; at $6), as
-- the claim reads it, and the batch's progress row still there; only then
-- is the progress advanced to $3, and true returned. False stops the loop
-- before the send, as a claim would (the loop puts its queue back and
-- claims again). A progress row that is gone (the stuck sweep took the
-- batch, a Postgres restart emptied the unlogged table) says false: the
-- sweep serializes with this statement on the row. Only the unlogged
-- table is written: the commit waits for no WAL flush.
WITH run AS MATERIALIZED (
    SELECT EXISTS (SELECT 1 FROM campaigns c
        CROSS JOIN LATERAL (SELECT i.id FROM instances i
            WHERE i.id = COALESCE($5::uuid, c.instance_id) AND (i.blocked_reason IS NULL OR i.blocked_until <= $6)
            LIMIT 1) i
        WHERE c.id = $1 AND c.status = 'running' AND c.chunk_gen = $4) AS ok
), progress AS (
    UPDATE claim_batches b SET started_upto = $3 FROM run
    WHERE run.ok AND b.batch = $2
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM progress);

-- name: settle-claims
-- The end of a bulk worker's claims (claim-recipients), in one statement:
-- the phones it sent ($2, at $3) marked sent as mark-sent does, and the
-- ones it claimed and did not send ($4) back to pending with their
-- attempt unspent and due now, as defer-recipient does. Asynchronous
-- commit as mark-sent: lost, they stay sending and become unknown, never
-- sent twice. Only recipients of batch $5 go back (one the stuck sweep
-- put back and another claim took is not this loop's), and the batch's
-- progress row goes ($5 = 0: neither; the loop goes on with its queue).
WITH async AS (SELECT set_config('synchronous_commit', 'off', true)),
done AS (
    DELETE FROM claim_batches WHERE batch = $5
), marked AS (
    UPDATE campaign_recipients r SET
        status = CASE WHEN r.read_at IS NOT NULL THEN 'read' WHEN r.delivered_at IS NOT NULL THEN 'delivered' ELSE 'sent' END,
        sent_at = COALESCE(r.sent_at, m.at), last_error = NULL, next_attempt_at = NULL
    FROM async, unnest($2::text[], $3::timestamptz[]) AS m (phone, at)
    WHERE r.campaign_id = $1 AND r.phone = m.phone
      AND r.status IN ('sending', 'unknown', 'delivered', 'read')
)
UPDATE campaign_recipients SET status = 'pending', attempts = GREATEST(attempts - 1, 0), claimed_at = NULL,
    next_attempt_at = NULL
FROM async
WHERE campaign_id = $1 AND phone = ANY ($4::text[]) AND status = 'sending' AND claim_batch = $5;

-- name: settle-claims-state
-- settle-claims, and the chunk's state (chunk-state of seq [$5, $6)) as
-- it is after it: the pending recipients the statement's snapshot shows
-- (the marked and the put back are sending in it) and the ones it put
-- back, which are due now. $7 as settle-claims' $5.
WITH async AS (SELECT set_config('synchronous_commit', 'off', true)),
done AS (
    DELETE FROM claim_batches WHERE batch = $7
), marked AS (
    UPDATE campaign_recipients r SET
        status = CASE WHEN r.read_at IS NOT NULL THEN 'read' WHEN r.delivered_at IS NOT NULL THEN 'delivered' ELSE 'sent' END,
        sent_at = COALESCE(r.sent_at, m.at), last_error = NULL, next_attempt_at = NULL
    FROM async, unnest($2::text[], $3::timestamptz[]) AS m (phone, at)
    WHERE r.campaign_id = $1 AND r.phone = m.phone
      AND r.status IN ('sending', 'unknown', 'delivered', 'read')
), back AS (
    UPDATE campaign_recipients SET status = 'pending', attempts = GREATEST(attempts - 1, 0), claimed_at = NULL,
        next_attempt_at = NULL
    FROM async
    WHERE campaign_id = $1 AND phone = ANY ($4::text[]) AND status = 'sending' AND claim_batch = $7
    RETURNING 1
)
SELECT count(*) + (SELECT count(*) FROM back), min(next_attempt_at) FROM campaign_recipients
WHERE campaign_id = $1 AND seq >= $5 AND seq < $6 AND status = 'pending';

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

-- name: mark-sent-state
-- mark-sent, and the chunk's state (chunk-state of seq [$4, $5)) as it was
-- beside it, in one statement: the mark of an invocation's last send tells
-- its hand-back whether anything of the chunk is left. The recipient
-- marked is sending, never pending, so the state does not count it.
WITH async AS (SELECT set_config('synchronous_commit', 'off', true)),
mark AS (
    UPDATE campaign_recipients SET
        status = CASE WHEN read_at IS NOT NULL THEN 'read' WHEN delivered_at IS NOT NULL THEN 'delivered' ELSE 'sent' END,
        sent_at = COALESCE(sent_at, $3), last_error = NULL, next_attempt_at = NULL
    FROM async
    WHERE campaign_id = $1 AND phone = $2 AND status IN ('sending', 'unknown', 'delivered', 'read')
)
SELECT count(*), min(next_attempt_at) FROM campaign_recipients
WHERE campaign_id = $1 AND seq >= $4 AND seq < $5 AND status = 'pending';

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

-- name: assign-pool
-- A pool campaign gives each pending recipient of the chunk [$2, $3) one
-- instance. $4: the pool's instances that can send now; $5: those that may
-- also message new contacts now; $6: the instance for each successive new
-- contact to place (the worker orders them by new-contact budget left).
-- A recipient known to an instance of $4 goes to it (sticky; its current
-- one first, else the one it wrote to last). A recipient moves when it has
-- no instance, its instance cannot send, it is known to another, or it is
-- new and its instance may not message new contacts. Only pending rows
-- change: a claimed (sending) or settled recipient is never touched, and
-- a claim is the one statement that moves pending to sending.
WITH cand AS (
    SELECT r.phone, r.seq, r.instance_id,
        (SELECT k.instance_id FROM known_contacts k
         WHERE k.instance_id = ANY ($4::uuid[]) AND k.phone = ANY (phone_forms(r.phone))
         ORDER BY k.instance_id = r.instance_id DESC NULLS LAST, k.last_at DESC
         LIMIT 1) AS knower
    FROM campaign_recipients r
    WHERE r.campaign_id = $1 AND r.seq >= $2 AND r.seq < $3 AND r.status = 'pending'
), moves AS (
    SELECT phone, seq, knower FROM cand
    WHERE instance_id IS NULL
       OR NOT (instance_id = ANY ($4::uuid[]))
       OR (knower IS NOT NULL AND knower <> instance_id)
       OR (knower IS NULL AND NOT (instance_id = ANY ($5::uuid[])))
), fresh AS (
    SELECT phone, row_number() OVER (ORDER BY seq) AS rn FROM moves WHERE knower IS NULL
), target AS (
    SELECT m.phone, COALESCE(m.knower, s.instance_id) AS instance_id
    FROM moves m
    LEFT JOIN fresh f ON f.phone = m.phone
    LEFT JOIN unnest($6::uuid[]) WITH ORDINALITY AS s (instance_id, rn) ON s.rn = f.rn
)
UPDATE campaign_recipients r SET instance_id = t.instance_id
FROM target t
WHERE r.campaign_id = $1 AND r.phone = t.phone AND r.status = 'pending'
  AND t.instance_id IS NOT NULL AND r.instance_id IS DISTINCT FROM t.instance_id;

-- name: pool-members
-- The instances of a pool campaign, in pool order, with what stops each
-- one sending.
SELECT i.id, i.tenant_id, i.name, i.base_url, i.token, i.messages_per_minute, i.min_delay_ms, i.max_delay_ms,
    i.hourly_cap, i.daily_cap, i.warmup_days, i.max_in_flight, i.new_contacts_per_day, i.new_contacts_per_hour,
    i.check_numbers, i.typing, i.identical_per_hour, i.created_at,
    COALESCE(i.blocked_reason, ''), i.ban_code, i.blocked_until, i.connected, i.logged_in,
    COALESCE(i.new_lane_state, ''), i.new_lane_until, COALESCE(i.new_lane_reason, '')
FROM campaigns c
CROSS JOIN LATERAL unnest(c.instance_ids) WITH ORDINALITY AS m (id, ord)
JOIN instances i ON i.id = m.id AND i.tenant_id = c.tenant_id
WHERE c.id = $1
ORDER BY m.ord;

-- name: mark-session-down
-- A send refused because the instance is not connected ($2) or not paired
-- ($3): record it as the session check would, so a pool moves its
-- recipients off it until a session check sees it back.
UPDATE instances SET connected = connected AND NOT $2, logged_in = logged_in AND NOT $3, status_checked_at = $4
WHERE id = $1;
