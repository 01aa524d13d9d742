-- name: create-import
INSERT INTO imports (id, tenant_id, file_name, object_key)
VALUES ($1, $2, $3, $4)
RETURNING id, tenant_id, file_name, object_key, status, rows_total, imported, updated, rejected,
          bytes_total, bytes_done, rejected_object_key, error, created_at, started_at, finished_at;

-- name: get-import
SELECT id, tenant_id, file_name, object_key, status, rows_total, imported, updated, rejected,
       bytes_total, bytes_done, rejected_object_key, error, created_at, started_at, finished_at
FROM imports WHERE tenant_id = $1 AND id = $2;

-- name: list-imports
SELECT id, tenant_id, file_name, object_key, status, rows_total, imported, updated, rejected,
       bytes_total, bytes_done, rejected_object_key, error, created_at, started_at, finished_at
FROM imports
WHERE tenant_id = $1 AND ($2::uuid IS NULL OR id < $2)
ORDER BY id DESC
LIMIT $3;

-- name: claim-import
-- One statement decides: pending, or running with an expired lease (a
-- worker died), becomes running under a new token. The CTE's row lock
-- serialises two deliveries of the same event. Returns nothing when no
-- import has the key; claimed = false when it is finished or busy, with
-- the milliseconds the holder's lease still runs.
WITH cur AS (
    SELECT id, status, lease_until FROM imports WHERE object_key = $1 FOR UPDATE
), claimed AS (
    UPDATE imports i SET
        status      = 'running',
        claim_token = $2,
        lease_until = now() + $3 * interval '1 millisecond',
        attempts    = i.attempts + 1,
        started_at  = COALESCE(i.started_at, now()),
        updated_at  = now()
    FROM cur
    WHERE i.id = cur.id
      AND (cur.status = 'pending' OR (cur.status = 'running' AND cur.lease_until < now()))
    RETURNING i.id
)
SELECT cur.id, i.tenant_id, t.default_country, cur.status, i.rows_total, i.imported, i.updated, i.rejected,
       COALESCE(i.object_etag, ''), COALESCE(i.header, '{}'), EXISTS (SELECT 1 FROM claimed),
       COALESCE(GREATEST(extract(epoch FROM cur.lease_until - now()) * 1000, 0), 0)::bigint
FROM cur JOIN imports i ON i.id = cur.id JOIN tenants t ON t.id = i.tenant_id;

-- name: set-import-object
UPDATE imports SET bytes_total = $3, object_etag = $4, header = $5, updated_at = now()
WHERE id = $1 AND claim_token = $2 AND status = 'running';

-- name: import-claim-holds
-- Also sets the batch transaction's lock_timeout to $3 milliseconds: a batch
-- fails rather than wait longer for a contact another transaction holds.
-- And its commit does not wait for the WAL to reach the disk: a batch lost
-- in a crash of Postgres loses its counts with it (the same transaction), so
-- the import's cursor still says where to resume; complete-import commits
-- synchronously, which flushes every batch before it.
SELECT EXISTS (SELECT 1 FROM imports WHERE id = $1 AND claim_token = $2 AND status = 'running'),
       set_config('lock_timeout', $3::bigint::text || 'ms', true),
       set_config('synchronous_commit', 'off', true);

-- name: add-import-counts
UPDATE imports SET
    rows_total  = rows_total + $3 + $4 + $5,
    imported    = imported + $3,
    updated     = updated + $4,
    rejected    = rejected + $5,
    bytes_done  = GREATEST(bytes_done, $6),
    lease_until = now() + $7 * interval '1 millisecond',
    updated_at  = now()
WHERE id = $1 AND claim_token = $2 AND status = 'running'
RETURNING rows_total, imported, updated, rejected;

-- name: import-rejects
SELECT line, fields, reason FROM import_rejects WHERE import_id = $1 ORDER BY line;

-- name: complete-import
UPDATE imports SET status = 'completed', rejected_object_key = NULLIF($3, ''),
    bytes_done = COALESCE(bytes_total, bytes_done), lease_until = NULL, error = NULL,
    finished_at = now(), updated_at = now()
WHERE id = $1 AND claim_token = $2 AND status = 'running';

-- name: delete-import-rejects
DELETE FROM import_rejects WHERE import_id = $1;

-- name: fail-import
UPDATE imports SET status = 'failed', error = $3, lease_until = NULL,
    finished_at = now(), updated_at = now()
WHERE id = $1 AND claim_token = $2 AND status = 'running';

-- name: release-import
UPDATE imports SET lease_until = now(), updated_at = now()
WHERE id = $1 AND claim_token = $2 AND status = 'running';

-- name: fail-abandoned-imports
-- A running import whose lease ended before $1 lost its worker, and no
-- retry resumed it (the message went to the dead-letter queue): it would
-- stay running forever.
UPDATE imports SET status = 'failed', error = $2, lease_until = NULL, finished_at = now(), updated_at = now()
WHERE status = 'running' AND lease_until < $1;
