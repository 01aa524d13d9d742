-- Queries of the scheduler's session check and alerts. They read
-- across tenants on purpose: the operator's monitor watches every instance,
-- and nothing here is ever answered to a tenant.

-- name: session-instances
-- One page of the round-robin session check: the instances after the
-- stored cursor ($1, NULL from the start), in id order.
SELECT id, tenant_id, name, base_url, token FROM instances
WHERE $1::uuid IS NULL OR id > $1
ORDER BY id
LIMIT $2;

-- name: count-ready-instances
SELECT count(*) FROM instances WHERE connected AND logged_in;

-- name: record-session-status
-- The last known WuzAPI session state; updated_at is left alone, it tracks
-- the tenant's own changes.
UPDATE instances SET connected = $2, logged_in = $3, status_checked_at = $4 WHERE id = $1;

-- name: stalled-instances
-- Instances that cannot send (not connected, not logged in, or never
-- checked) while a campaign of theirs waits on them: the campaign's
-- instance, or any instance of its pool.
SELECT i.id, i.tenant_id, i.name, count(DISTINCT c.id) AS campaigns
FROM campaigns c
CROSS JOIN LATERAL unnest(COALESCE(c.instance_ids, ARRAY[c.instance_id])) AS m (id)
JOIN instances i ON i.id = m.id AND i.tenant_id = c.tenant_id
WHERE c.status IN ('queued', 'running', 'paused')
  AND NOT (coalesce(i.connected, false) AND coalesce(i.logged_in, false))
GROUP BY i.id, i.tenant_id, i.name
ORDER BY i.id;
