-- Reports. Times in CSV rows are RFC 3339 UTC to the second.

-- name: report-campaign-exists
SELECT EXISTS (SELECT 1 FROM campaigns WHERE id = $1 AND tenant_id = $2);

-- name: create-report
INSERT INTO reports (id, tenant_id, type, params, object_key)
VALUES ($1, $2, $3, $4, $5)
RETURNING created_at;

-- name: delete-report
DELETE FROM reports WHERE id = $1 AND tenant_id = $2 AND status = 'pending';

-- name: get-report
SELECT id, tenant_id, type, params, status, coalesce(object_key, ''), rows, rows_expected,
       coalesce(error, ''), created_at, started_at, finished_at
FROM reports WHERE id = $1 AND tenant_id = $2;

-- name: worker-report
-- The worker's read: the id comes from our own queue message.
SELECT id, tenant_id, type, params, status, coalesce(object_key, ''), rows, rows_expected,
       coalesce(error, ''), created_at, started_at, finished_at
FROM reports WHERE id = $1;

-- name: start-report
-- A redelivered message restarts a running report from zero: its object is
-- rewritten whole, so the count starts over too.
UPDATE reports SET
    status        = 'running',
    lease_until   = now() + $3 * interval '1 millisecond',
    started_at    = coalesce(started_at, now()),
    rows          = 0,
    rows_expected = $2,
    attempts      = attempts + 1,
    updated_at    = now()
WHERE id = $1 AND status IN ('pending', 'running')
RETURNING id;

-- name: count-campaign-report
SELECT count(*) FROM campaign_recipients cr JOIN campaigns c ON c.id = cr.campaign_id
WHERE c.tenant_id = $1 AND cr.campaign_id = $2;

-- name: count-contacts-report
SELECT count(*) FROM contacts
WHERE tenant_id = $1
  AND ($2::timestamptz IS NULL OR created_at >= $2)
  AND ($3::timestamptz IS NULL OR created_at < $3);

-- name: campaign-report-rows
-- Every column is text so rows stream as raw bytes, with no decoding.
SELECT cr.phone, cr.name, cr.status, cr.attempts::text, coalesce(cr.last_error, ''),
       coalesce(cr.wuzapi_message_id, ''),
       coalesce(to_char(cr.sent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ''),
       coalesce(to_char(cr.delivered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ''),
       coalesce(to_char(cr.read_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ''),
       coalesce(to_char(cr.replied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ''),
       coalesce(cr.reply, '')
FROM campaign_recipients cr JOIN campaigns c ON c.id = cr.campaign_id
WHERE c.tenant_id = $1 AND cr.campaign_id = $2
ORDER BY cr.seq;

-- name: contacts-report-rows
SELECT phone, name, attributes::text,
       coalesce(to_char(opted_out_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ''),
       to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
FROM contacts
WHERE tenant_id = $1
  AND ($2::timestamptz IS NULL OR created_at >= $2)
  AND ($3::timestamptz IS NULL OR created_at < $3)
ORDER BY id;

-- name: renew-report
UPDATE reports SET lease_until = now() + $2 * interval '1 millisecond'
WHERE id = $1 AND status = 'running';

-- name: report-progress
UPDATE reports SET rows = $2, updated_at = now() WHERE id = $1 AND status = 'running';

-- name: complete-report
UPDATE reports SET status = 'completed', rows = $2, object_bytes = $3, error = NULL, lease_until = NULL,
       finished_at = now(), updated_at = now()
WHERE id = $1 AND status = 'running';

-- name: fail-report
UPDATE reports SET status = 'failed', error = $2, lease_until = NULL, finished_at = now(), updated_at = now()
WHERE id = $1 AND status IN ('pending', 'running');

-- name: fail-abandoned-reports
-- A running report whose lease ended before $1 lost its worker, and no
-- retry restarted it (the message went to the dead-letter queue): it
-- would stay running forever. Reports started before leases existed count
-- from their last update.
UPDATE reports SET status = 'failed', error = $2, lease_until = NULL, finished_at = now(), updated_at = now()
WHERE status = 'running' AND coalesce(lease_until, updated_at) < $1;
