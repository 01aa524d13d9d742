-- Tenant webhook endpoints and the outbox of their deliveries.

-- name: create-webhook-endpoint
-- At most $6 endpoints per tenant: the insert happens only below the cap.
INSERT INTO webhook_endpoints (tenant_id, url, events, description, secret)
SELECT $1, $2, $3, $4, $5
WHERE (SELECT count(*) FROM webhook_endpoints WHERE tenant_id = $1) < $6
RETURNING id, url, events, description, created_at, updated_at;

-- name: list-webhook-endpoints
SELECT id, url, events, description, created_at, updated_at
FROM webhook_endpoints
WHERE tenant_id = $1 AND ($2::uuid IS NULL OR id < $2)
ORDER BY id DESC
LIMIT $3;

-- name: get-webhook-endpoint
SELECT id, url, events, description, created_at, updated_at
FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2;

-- name: update-webhook-endpoint
-- NULL leaves a field as it is.
UPDATE webhook_endpoints SET
    url         = COALESCE($3, url),
    events      = COALESCE($4, events),
    description = COALESCE($5, description),
    updated_at  = now()
WHERE tenant_id = $1 AND id = $2
RETURNING id, url, events, description, created_at, updated_at;

-- name: delete-webhook-endpoint
-- Its deliveries go with it (ON DELETE CASCADE).
DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2;

-- name: list-webhook-deliveries
-- The endpoint's delivery log, newest first; $5 filters by status.
SELECT d.id, ev.type, d.event_id, d.status, d.attempts, d.last_status, d.last_error, d.created_at, d.delivered_at,
    CASE WHEN d.status = 'pending' THEN d.next_attempt_at END
FROM webhook_deliveries d
JOIN webhook_endpoints e ON e.id = d.endpoint_id
JOIN webhook_events ev ON ev.id = d.event_id
WHERE e.tenant_id = $1 AND d.endpoint_id = $2 AND ($3::uuid IS NULL OR d.id < $3)
  AND ($5::text IS NULL OR d.status = $5)
ORDER BY d.id DESC
LIMIT $4;

-- name: retry-webhook-delivery
-- A tenant's retry: the delivery is due again at $4, whatever its status.
-- A failed one gets this one attempt (its retries are spent).
WITH target AS (
    SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
    WHERE e.tenant_id = $1 AND d.endpoint_id = $2 AND d.id = $3
)
UPDATE webhook_deliveries d SET status = 'pending', next_attempt_at = $4, leased_until = NULL
FROM target WHERE d.id = target.id
RETURNING d.id;

-- name: claim-webhook-delivery
-- The endpoint's due delivery that waited longest, leased until $3 (SKIP
-- LOCKED: two runs of one endpoint take different deliveries).
WITH next AS (
    SELECT id FROM webhook_deliveries
    WHERE endpoint_id = $1 AND status = 'pending' AND next_attempt_at <= $2
      AND (leased_until IS NULL OR leased_until <= $2)
    ORDER BY next_attempt_at, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
UPDATE webhook_deliveries d SET leased_until = $3
FROM next, webhook_endpoints e, webhook_events ev
WHERE d.id = next.id AND e.id = d.endpoint_id AND ev.id = d.event_id
RETURNING d.id, d.event_id, d.endpoint_id, e.url, e.secret, ev.payload::text, d.attempts;

-- name: record-webhook-attempt
-- $4 delivered; otherwise $5 is the next attempt, NULL when it is failed.
UPDATE webhook_deliveries SET
    attempts        = attempts + 1,
    leased_until    = NULL,
    last_status     = $2,
    last_error      = $3,
    status          = CASE WHEN $4 THEN 'delivered' WHEN $5::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
    delivered_at    = CASE WHEN $4 THEN $6 ELSE delivered_at END,
    next_attempt_at = COALESCE($5, next_attempt_at)
WHERE id = $1;

-- name: next-webhook-due
SELECT min(next_attempt_at) FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'pending';

-- name: due-webhook-endpoints
SELECT endpoint_id, min(next_attempt_at) AS due
FROM webhook_deliveries
WHERE status = 'pending' AND next_attempt_at <= $1
GROUP BY endpoint_id
ORDER BY due
LIMIT $2;

-- name: purge-webhook-events
-- Events past their retention with nothing left to deliver (deliveries go
-- with them).
DELETE FROM webhook_events ev
WHERE ev.created_at < $1
  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = ev.id AND d.status = 'pending');
