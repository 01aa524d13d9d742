-- name: campaign-idempotency
-- The campaign holding a tenant's Idempotency-Key, locked so a concurrent
-- request with the same key waits for this one.
SELECT id, body_hash, create_response, created_at
FROM campaigns WHERE tenant_id = $1 AND idempotency_key = $2
FOR UPDATE;

-- name: release-idempotency-key
-- A key older than 24 h names nothing any more: free it for a new campaign.
UPDATE campaigns SET idempotency_key = NULL WHERE id = $1;

-- name: insert-campaign
-- $12 is the pool (NULL for one instance, whose first member $2 is), $13
-- the staged rollout (NULL: none), $14 the media (NULL: none).
INSERT INTO campaigns (tenant_id, instance_id, name, message, status, scheduled_at, quiet_hours,
    idempotency_key, body_hash, chunk_size, created_at, instance_ids, rollout, media_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
RETURNING id, created_at;

-- name: match-inline-contacts
-- Inline recipients who are known contacts: link them, fill a missing name,
-- take the contact's attributes under the request's vars, and skip the
-- opted-out.
UPDATE campaign_recipients r SET
    contact_id = c.id,
    name   = CASE WHEN r.name = '' THEN c.name ELSE r.name END,
    vars   = c.attributes || r.vars,
    status = CASE WHEN c.opted_out_at IS NOT NULL THEN 'skipped' ELSE r.status END,
    skip_reason = CASE WHEN c.opted_out_at IS NOT NULL THEN 'opted_out' ELSE r.skip_reason END
FROM contacts c
WHERE r.campaign_id = $1 AND c.tenant_id = $2 AND c.phone = r.phone;

-- name: count-new-recipients
SELECT count(*) FILTER (WHERE status = 'skipped'), count(*), COALESCE(max(seq) + 1, 0)
FROM campaign_recipients WHERE campaign_id = $1;

-- name: finalize-campaign
UPDATE campaigns SET total = $2, skipped = $3, chunks = $4, status = $5, finished_at = $6,
    create_response = $7, updated_at = now()
WHERE id = $1;

-- name: get-campaign
-- The media columns (NULL without media) close every campaign read.
SELECT c.id, c.tenant_id, c.instance_id, c.name, c.message, c.status, c.reason, c.scheduled_at, c.quiet_hours,
    c.created_at, c.started_at, c.finished_at, c.total, c.skipped, c.chunk_size, c.chunks, c.instance_ids, c.rollout,
    m.id, m.kind, m.content_type, m.file_name, m.size, m.object_key, m.etag, m.status
FROM campaigns c LEFT JOIN media m ON m.id = c.media_id
WHERE c.tenant_id = $1 AND c.id = $2;

-- name: list-campaigns
SELECT c.id, c.tenant_id, c.instance_id, c.name, c.message, c.status, c.reason, c.scheduled_at, c.quiet_hours,
    c.created_at, c.started_at, c.finished_at, c.total, c.skipped, c.chunk_size, c.chunks, c.instance_ids, c.rollout,
    m.id, m.kind, m.content_type, m.file_name, m.size, m.object_key, m.etag, m.status
FROM campaigns c LEFT JOIN media m ON m.id = c.media_id
WHERE c.tenant_id = $1 AND ($2::uuid IS NULL OR c.id < $2)
ORDER BY c.id DESC
LIMIT $3;

-- name: campaign-instances
-- The campaign's instances in pool order (its one instance when it has no
-- pool) with the recipients each sent and holds pending (or sending). A pool
-- recipient not yet given an instance counts under none.
WITH c AS (
    SELECT id, instance_id, instance_ids FROM campaigns WHERE id = $1
), by_inst AS (
    SELECT COALESCE(r.instance_id, CASE WHEN c.instance_ids IS NULL THEN c.instance_id END) AS instance_id,
        count(*) FILTER (WHERE r.sent_at IS NOT NULL) AS sent,
        count(*) FILTER (WHERE r.status IN ('pending', 'sending')) AS pending
    FROM campaign_recipients r CROSS JOIN c
    WHERE r.campaign_id = c.id
    GROUP BY 1
)
SELECT i.id, i.name, COALESCE(b.sent, 0), COALESCE(b.pending, 0)
FROM c
CROSS JOIN LATERAL unnest(COALESCE(c.instance_ids, ARRAY[c.instance_id])) WITH ORDINALITY AS m (id, ord)
JOIN instances i ON i.id = m.id
LEFT JOIN by_inst b ON b.instance_id = m.id
ORDER BY m.ord;

-- name: campaign-counts
-- Counts come from the recipients, the one source of truth (no counters to
-- drift); the campaign's rows are read through its (campaign_id, seq) index.
SELECT campaign_id, status, count(*), count(replied_at)
FROM campaign_recipients
WHERE campaign_id = ANY($1::uuid[])
GROUP BY campaign_id, status;

-- name: campaign-status
-- What the status route shows, in one statement: the campaign's state and
-- total, its recipients counted by status as campaign-counts counts them
-- (one column per state campaign.FromStatuses reads, in its order), and
-- those sent before $3 that no delivery receipt has reached (as
-- campaign-undelivered). One pass over the campaign's recipients; the
-- columns are text and bigint, which the client reads without planning a
-- scan into arrays of named types.
SELECT c.id::text, c.status, c.total::bigint,
    COALESCE(sum(g.n) FILTER (WHERE g.status = 'pending'), 0)::bigint,
    COALESCE(sum(g.n) FILTER (WHERE g.status = 'sending'), 0)::bigint,
    COALESCE(sum(g.n) FILTER (WHERE g.status = 'sent'), 0)::bigint,
    COALESCE(sum(g.n) FILTER (WHERE g.status = 'delivered'), 0)::bigint,
    COALESCE(sum(g.n) FILTER (WHERE g.status = 'read'), 0)::bigint,
    COALESCE(sum(g.n) FILTER (WHERE g.status = 'failed'), 0)::bigint,
    COALESCE(sum(g.n) FILTER (WHERE g.status = 'skipped'), 0)::bigint,
    COALESCE(sum(g.n) FILTER (WHERE g.status = 'unknown'), 0)::bigint,
    COALESCE(sum(g.replied), 0)::bigint, COALESCE(sum(g.undelivered), 0)::bigint
FROM campaigns c
LEFT JOIN LATERAL (
    SELECT status, count(*) AS n, count(replied_at) AS replied,
        count(*) FILTER (WHERE status = 'sent' AND delivered_at IS NULL AND sent_at < $3) AS undelivered
    FROM campaign_recipients
    WHERE campaign_id = c.id
    GROUP BY status
) g ON true
WHERE c.tenant_id = $1 AND c.id = $2
GROUP BY c.id;

-- name: lock-campaign
SELECT status FROM campaigns WHERE tenant_id = $1 AND id = $2 FOR UPDATE;

-- name: set-campaign-state
-- A tenant's control action. $4 = true stamps finished_at; $5 = true clears
-- enqueued_at (chunks must be enqueued again).
UPDATE campaigns SET
    status      = $2,
    reason      = $3,
    finished_at = CASE WHEN $4::boolean THEN now() ELSE NULL END,
    enqueued_at = CASE WHEN $5::boolean THEN NULL ELSE enqueued_at END,
    updated_at  = now()
WHERE id = $1;

-- name: resend-recipients
-- A resend is a new generation: a new message id, fresh attempts.
UPDATE campaign_recipients SET
    status = 'pending', generation = generation + 1, wuzapi_message_id = NULL, attempts = 0,
    last_error = NULL, claimed_at = NULL, next_attempt_at = NULL, failed_at = NULL, sent_at = NULL
WHERE campaign_id = $1 AND status = ANY($2::text[]);

-- name: pending-chunks
-- The chunks with pending recipients, numbered by the campaign's own chunk
-- size as the worker numbers them ($2 for a campaign without one).
SELECT DISTINCT r.seq / CASE WHEN c.chunk_size > 0 THEN c.chunk_size ELSE $2 END
FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id
WHERE r.campaign_id = $1 AND r.status = 'pending'
ORDER BY 1;

-- name: mark-enqueued
UPDATE campaigns SET enqueued_at = $2 WHERE id = $1;

-- name: campaign-timeline
-- Sends, deliveries, reads and failures per bucket of $2 seconds.
WITH ev AS (
    SELECT sent_at AS at, 1 AS s, 0 AS d, 0 AS r, 0 AS f FROM campaign_recipients WHERE campaign_id = $1 AND sent_at IS NOT NULL
    UNION ALL
    SELECT delivered_at, 0, 1, 0, 0 FROM campaign_recipients WHERE campaign_id = $1 AND delivered_at IS NOT NULL
    UNION ALL
    SELECT read_at, 0, 0, 1, 0 FROM campaign_recipients WHERE campaign_id = $1 AND read_at IS NOT NULL
    UNION ALL
    SELECT failed_at, 0, 0, 0, 1 FROM campaign_recipients WHERE campaign_id = $1 AND status = 'failed' AND failed_at IS NOT NULL
)
SELECT to_timestamp(floor(extract(epoch FROM at) / $2) * $2) AS bucket, sum(s), sum(d), sum(r), sum(f)
FROM ev GROUP BY bucket ORDER BY bucket
LIMIT 10000;

-- name: chunk-job
-- The chunk's job, and its start in the same statement: a queued campaign
-- becomes running and its progress is stamped, but only for a message of
-- the campaign's chunk generation ($3), while the campaign is queued or
-- running, due (its scheduled time at most a second ahead of $2) and, when
-- it has no pool, on an instance that is not blocked (a logged-out or
-- banned instance until its ban ends) -- the same checks the worker makes
-- on the job. Then the started campaign's status (NULL: not started); the
-- rest is the campaign as it was before the start. Last, the delivery
-- guard's window of the campaign's instance as recent-new-deliveries reads
-- it with $4 (now less the guard's age) and $5 (its window): a verdict not
-- to pause then holds for the invocation without a read of its own; and
-- whether the tenant has a webhook endpoint (without one, no change of the
-- invocation records an event to nudge a delivery run for).
WITH started AS (
    UPDATE campaigns sc SET
        status        = CASE WHEN sc.status = 'queued' THEN 'running' ELSE sc.status END,
        started_at    = COALESCE(sc.started_at, $2),
        progressed_at = $2,
        updated_at    = now()
    FROM instances si
    WHERE sc.id = $1 AND si.id = sc.instance_id
      AND sc.status IN ('queued', 'running') AND sc.chunk_gen = $3
      AND (sc.scheduled_at IS NULL OR sc.scheduled_at <= $2::timestamptz + interval '1 second')
      AND (cardinality(sc.instance_ids) > 0 OR COALESCE(si.blocked_reason, '') = '' OR si.blocked_until <= $2)
    RETURNING sc.status
)
SELECT c.id, c.tenant_id, c.instance_id, c.name, c.message, c.status, c.reason, c.scheduled_at, c.quiet_hours,
    c.created_at, c.started_at, c.finished_at, c.total, c.skipped, c.chunk_size, c.chunks,
    i.id, i.tenant_id, i.name, i.base_url, i.token, i.messages_per_minute, i.min_delay_ms, i.max_delay_ms,
    i.hourly_cap, i.daily_cap, i.warmup_days, i.max_in_flight, i.new_contacts_per_day, i.new_contacts_per_hour,
    i.check_numbers, i.typing, i.identical_per_hour, i.created_at,
    t.timezone, t.quiet_hours, COALESCE(i.blocked_reason, ''), i.ban_code, i.blocked_until,
    COALESCE(i.new_lane_state, ''), i.new_lane_until, COALESCE(i.new_lane_reason, ''),
    c.instance_ids, c.rollout, c.chunk_gen, c.rollout_hold_from, c.rollout_released_at,
    m.id, m.kind, m.content_type, m.file_name, m.size, m.object_key, m.etag, m.status,
    (SELECT status FROM started),
    g.delivered, g.total, g.next,
    EXISTS (SELECT 1 FROM webhook_endpoints we WHERE we.tenant_id = c.tenant_id)
FROM campaigns c
JOIN instances i ON i.id = c.instance_id
JOIN tenants t ON t.id = c.tenant_id
LEFT JOIN media m ON m.id = c.media_id
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE w.delivered_at IS NOT NULL) AS delivered, count(*) AS total,
        (SELECT min(r.sent_at) FROM campaign_recipients r
         WHERE r.instance_id = i.id AND r.new_contact AND r.sent_at >= $4) AS next
    FROM (
        SELECT r.delivered_at FROM campaign_recipients r
        WHERE r.instance_id = i.id AND r.new_contact AND r.sent_at IS NOT NULL AND r.sent_at < $4
          AND r.sent_at > COALESCE(CASE WHEN i.new_lane_state IS NULL THEN i.new_lane_since END, '-infinity')
        ORDER BY r.sent_at DESC
        LIMIT $5
    ) w
) g
WHERE c.id = $1;

-- name: next-chunk-gen
-- A new chunk generation: the messages of every earlier one are stale.
UPDATE campaigns SET chunk_gen = chunk_gen + 1 WHERE id = $1 RETURNING chunk_gen;

-- name: chunk-gen
-- The chunk generation of a queued or running campaign (no row: it is
-- neither).
SELECT chunk_gen FROM campaigns WHERE id = $1 AND status IN ('queued', 'running');

-- name: start-chunk
UPDATE campaigns SET
    status        = CASE WHEN status = 'queued' THEN 'running' ELSE status END,
    started_at    = CASE WHEN status IN ('queued', 'running') THEN COALESCE(started_at, $2) ELSE started_at END,
    progressed_at = $2,
    updated_at    = now()
WHERE id = $1
RETURNING status;

-- name: set-campaign-reason
UPDATE campaigns SET reason = $2, updated_at = now()
WHERE id = $1 AND status IN ('queued', 'running') AND reason IS DISTINCT FROM $2;

-- name: clear-waiting-reason
-- A wait ("waiting: …") the campaign no longer has; any other reason stays.
UPDATE campaigns SET reason = NULL, updated_at = now()
WHERE id = $1 AND status IN ('queued', 'running') AND reason LIKE 'waiting:%';

-- name: auto-pause
-- Pause and leave an event for the alerting job, in one statement.
WITH p AS (
    UPDATE campaigns SET status = 'paused', reason = $3, updated_at = now()
    WHERE id = $1 AND status IN ('queued', 'running')
    RETURNING id, tenant_id
)
INSERT INTO campaign_events (tenant_id, campaign_id, type, reason)
SELECT tenant_id, id, $2, $3 FROM p
RETURNING id;

-- name: finish-settled
-- Complete the queued/running campaigns (one, or all when $1 is NULL) none
-- of whose recipients is pending or sending. Nobody sent and somebody
-- failed or unknown: failed. Pending and sending are asked apart: each has
-- its own partial index.
UPDATE campaigns c SET
    status = CASE
        WHEN EXISTS (SELECT 1 FROM campaign_recipients r WHERE r.campaign_id = c.id AND r.status IN ('sent', 'delivered', 'read'))
          OR NOT EXISTS (SELECT 1 FROM campaign_recipients r WHERE r.campaign_id = c.id AND r.status IN ('failed', 'unknown'))
        THEN 'completed' ELSE 'failed' END,
    reason = CASE
        WHEN EXISTS (SELECT 1 FROM campaign_recipients r WHERE r.campaign_id = c.id AND r.status IN ('sent', 'delivered', 'read'))
          OR NOT EXISTS (SELECT 1 FROM campaign_recipients r WHERE r.campaign_id = c.id AND r.status IN ('failed', 'unknown'))
        THEN NULL ELSE 'no message could be sent' END,
    finished_at = $2,
    updated_at = now()
WHERE ($1::uuid IS NULL OR c.id = $1)
  AND c.status IN ('queued', 'running')
  AND (c.scheduled_at IS NULL OR c.scheduled_at <= $2)
  AND NOT EXISTS (SELECT 1 FROM campaign_recipients r WHERE r.campaign_id = c.id AND r.status = 'pending')
  AND NOT EXISTS (SELECT 1 FROM campaign_recipients r WHERE r.campaign_id = c.id AND r.status = 'sending')
RETURNING c.id, c.status;

-- name: release-due
-- Scheduled campaigns due by $1 (a little ahead of now: the queue's delay
-- covers the rest), taken by one scheduler even when ticks overlap.
WITH due AS (
    SELECT id FROM campaigns
    WHERE status = 'scheduled' AND scheduled_at <= $1
    ORDER BY scheduled_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE campaigns c SET status = 'queued', enqueued_at = NULL, updated_at = now()
FROM due WHERE c.id = due.id
RETURNING c.id, c.scheduled_at;

-- name: stalled-campaigns
-- Queued/running campaigns with pending recipients whose chunks were never
-- enqueued (the enqueue after commit failed: $1 is a short grace) or on
-- which nothing happened for a long time ($2: longer than any queue delay).
SELECT c.id, c.scheduled_at FROM campaigns c
WHERE c.status IN ('queued', 'running')
  AND ((c.enqueued_at IS NULL AND c.updated_at < $1)
    OR (c.enqueued_at IS NOT NULL AND GREATEST(c.enqueued_at, COALESCE(c.progressed_at, c.enqueued_at)) < $2))
  AND EXISTS (SELECT 1 FROM campaign_recipients r WHERE r.campaign_id = c.id AND r.status = 'pending')
ORDER BY c.id
LIMIT $3;

-- name: mark-stuck-unknown
-- Recipients claimed longer ago than the visibility timeout ($1): the
-- worker died. A recipient whose send may have started is unknown, never
-- re-sent blindly (a receipt for its id upgrades it): a claim of one; a
-- bulk claim's (claim-recipients) up to its batch's progress
-- (claim-progress), or all of the batch when its progress row is gone (a
-- Postgres restart empties the unlogged table, or an earlier sweep took
-- the batch). A bulk claim's recipients after its progress never started
-- their send: they go back to pending with their attempt unspent once
-- the claim is older than $2 (no later than $1; a live loop sends its
-- queue within a second of its claim), and the chunks of running
-- campaigns that got some back are returned (campaign ids and chunk
-- numbers, two arrays of one length, in order; $3 is the chunk size of a
-- campaign without its own, as the worker reads it), to be enqueued
-- again in the campaign's current chunk generation; their campaigns are
-- marked not enqueued until that enqueue succeeds (mark-enqueued), so a
-- failed one is the stalled-campaigns job's after its short grace. The
-- batches' progress rows are locked first, so a loop still alive either advanced
-- its progress before (that recipient stays sending, then unknown) or
-- finds the row gone and sends nothing more; they are deleted here.
WITH b AS MATERIALIZED (
    SELECT batch, started_upto FROM claim_batches WHERE claimed_at < $2 FOR UPDATE
), gone AS (
    DELETE FROM claim_batches d USING b WHERE d.batch = b.batch
), stuck AS MATERIALIZED (
    SELECT r.campaign_id, r.phone, r.seq > b.started_upto AS unstarted, r.claimed_at < $1 AS stuck
    FROM campaign_recipients r LEFT JOIN b ON b.batch = r.claim_batch
    WHERE r.status = 'sending' AND r.claimed_at < $2
    -- A row a live loop is settling (its put-back or its next claim's
    -- marks hold it, then wait for the progress row locked above) is left
    -- to that loop: waiting for it here would deadlock the two.
    FOR UPDATE OF r SKIP LOCKED
), back AS (
    UPDATE campaign_recipients r SET status = 'pending', attempts = GREATEST(r.attempts - 1, 0), claimed_at = NULL,
        next_attempt_at = NULL
    FROM stuck s
    WHERE r.campaign_id = s.campaign_id AND r.phone = s.phone AND s.unstarted
      AND r.status = 'sending' AND r.claimed_at < $2
    RETURNING r.campaign_id, r.seq
), unknown AS (
    UPDATE campaign_recipients r SET status = 'unknown',
        last_error = 'outcome unknown: the worker stopped during the send'
    FROM stuck s
    WHERE r.campaign_id = s.campaign_id AND r.phone = s.phone AND s.unstarted IS NOT TRUE AND s.stuck
      AND r.status = 'sending' AND r.claimed_at < $1
    RETURNING 1
), requeue AS MATERIALIZED (
    SELECT DISTINCT c.id, back.seq / CASE WHEN c.chunk_size > 0 THEN c.chunk_size ELSE $3 END AS chunk
    FROM back JOIN campaigns c ON c.id = back.campaign_id
    WHERE c.status IN ('queued', 'running')
), unenqueued AS (
    UPDATE campaigns c SET enqueued_at = NULL WHERE c.id IN (SELECT id FROM requeue)
)
SELECT (SELECT count(*) FROM unknown),
    ARRAY(SELECT id::text FROM requeue ORDER BY id, chunk),
    ARRAY(SELECT chunk FROM requeue ORDER BY id, chunk);

-- name: campaign-events
SELECT id, tenant_id, campaign_id, type, reason, created_at
FROM campaign_events WHERE campaign_id = $1 ORDER BY id;

-- name: auto-pause-instance
-- Every queued or running campaign of an instance that reported it cannot
-- send (LoggedOut, TemporaryBan, a failed session check), with an event each.
WITH p AS (
    UPDATE campaigns SET status = 'paused', reason = $3, updated_at = now()
    -- A pool campaign goes on: its recipients move to the pool's other
    -- instances, and it pauses only when none of them can send.
    WHERE instance_id = $1 AND instance_ids IS NULL AND status IN ('queued', 'running')
    RETURNING id, tenant_id
)
INSERT INTO campaign_events (tenant_id, campaign_id, type, reason)
SELECT tenant_id, id, $2, $3 FROM p
RETURNING campaign_id;

-- name: rollout-slice
-- A staged rollout's first slice (seq below $2): how many are still to
-- send, attempted, failed, sent, sent and opted out since the campaign
-- started (either Brazilian form), and when its last one settled.
SELECT count(*) FILTER (WHERE r.status IN ('pending', 'sending')),
    count(*) FILTER (WHERE r.status IN ('sent', 'delivered', 'read', 'failed', 'unknown')),
    count(*) FILTER (WHERE r.status = 'failed'),
    count(*) FILTER (WHERE r.sent_at IS NOT NULL),
    count(*) FILTER (WHERE r.sent_at IS NOT NULL AND EXISTS (
        SELECT 1 FROM opt_outs o WHERE o.tenant_id = c.tenant_id AND o.phone = ANY (phone_forms(r.phone))
          AND o.opted_out_at >= COALESCE(c.started_at, c.created_at))),
    max(GREATEST(r.sent_at, r.failed_at, r.claimed_at))
FROM campaigns c JOIN campaign_recipients r ON r.campaign_id = c.id
WHERE c.id = $1 AND r.seq < $2;

-- name: start-rollout-hold
UPDATE campaigns SET rollout_hold_from = COALESCE(rollout_hold_from, $2) WHERE id = $1
RETURNING rollout_hold_from;

-- name: release-rollout
UPDATE campaigns SET rollout_released_at = $2, updated_at = now()
WHERE id = $1 AND rollout_released_at IS NULL
RETURNING id;

-- name: campaign-media-id
SELECT media_id::text FROM campaigns WHERE tenant_id = $1 AND id = $2;
