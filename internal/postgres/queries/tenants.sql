-- name: create-tenant
INSERT INTO tenants (name, plan, default_country, timezone)
VALUES ($1, $2, $3, $4)
RETURNING id, name, plan, default_country, timezone, quiet_hours, created_at;

-- name: get-tenant
SELECT id, name, plan, default_country, timezone, quiet_hours, created_at
FROM tenants WHERE id = $1;

-- name: get-tenant-plan
SELECT plan FROM tenants WHERE id = $1;

-- name: update-tenant
-- Admin PATCH: NULL parameters keep the current value.
UPDATE tenants SET
    name       = COALESCE($2, name),
    plan       = COALESCE($3, plan),
    timezone   = COALESCE($4, timezone),
    updated_at = now()
WHERE id = $1
RETURNING id, name, plan, default_country, timezone, quiet_hours, created_at;

-- name: update-tenant-settings
-- Tenant PATCH /v1/me: NULL keeps a value, except quiet hours where
-- $4 = true means "set quiet_hours to $5" (NULL clears it).
UPDATE tenants SET
    timezone        = COALESCE($2, timezone),
    default_country = COALESCE($3, default_country),
    quiet_hours     = CASE WHEN $4::boolean THEN $5::jsonb ELSE quiet_hours END,
    updated_at      = now()
WHERE id = $1
RETURNING id, name, plan, default_country, timezone, quiet_hours, created_at;

-- name: create-api-key
INSERT INTO api_keys (tenant_id, prefix, key_hash)
VALUES ($1, $2, $3)
RETURNING id;

-- name: tenant-by-api-key
-- One round trip per request: find the live key, stamp last_used_at at most
-- once a minute (not a write per request), and return its tenant.
WITH k AS (
    SELECT id, tenant_id, last_used_at FROM api_keys
    WHERE key_hash = $1 AND revoked_at IS NULL
), touch AS (
    UPDATE api_keys SET last_used_at = now()
    FROM k
    WHERE api_keys.id = k.id
      AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute')
)
SELECT t.id, t.name, t.plan, t.default_country, t.timezone, t.quiet_hours, t.created_at
FROM k JOIN tenants t ON t.id = k.tenant_id;

-- name: revoke-api-key
UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL;
