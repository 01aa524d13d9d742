-- name: plan-lock
-- Serialises one tenant's creates of one kind, so that two concurrent
-- creates at the cap minus one cannot both pass the count.
SELECT pg_advisory_xact_lock(hashtextextended($1, 0));

-- name: count-instances
SELECT count(*) FROM instances WHERE tenant_id = $1;

-- name: count-open-campaigns
SELECT count(*) FROM campaigns
WHERE tenant_id = $1 AND status IN ('scheduled', 'queued', 'running', 'paused');
