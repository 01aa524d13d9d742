-- name: create-instance
INSERT INTO instances (id, tenant_id, name, base_url, token, webhook_secret_hash,
    messages_per_minute, min_delay_ms, max_delay_ms, hourly_cap, daily_cap, warmup_days, max_in_flight,
    new_contacts_per_day, new_contacts_per_hour, check_numbers, typing, identical_per_hour)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
RETURNING id, tenant_id, name, base_url, token, messages_per_minute, min_delay_ms, max_delay_ms,
    hourly_cap, daily_cap, warmup_days, max_in_flight, new_contacts_per_day, new_contacts_per_hour,
    check_numbers, typing, identical_per_hour, created_at;

-- name: get-instance
SELECT id, tenant_id, name, base_url, token, messages_per_minute, min_delay_ms, max_delay_ms,
    hourly_cap, daily_cap, warmup_days, max_in_flight, new_contacts_per_day, new_contacts_per_hour,
    check_numbers, typing, identical_per_hour, created_at
FROM instances WHERE tenant_id = $1 AND id = $2;

-- name: list-instances
-- Keyset page, newest first; $2 is the last id of the previous page or NULL.
SELECT id, tenant_id, name, base_url, token, messages_per_minute, min_delay_ms, max_delay_ms,
    hourly_cap, daily_cap, warmup_days, max_in_flight, new_contacts_per_day, new_contacts_per_hour,
    check_numbers, typing, identical_per_hour, created_at
FROM instances
WHERE tenant_id = $1 AND ($2::uuid IS NULL OR id < $2)
ORDER BY id DESC
LIMIT $3;

-- name: update-instance
UPDATE instances SET
    name = $3, messages_per_minute = $4, min_delay_ms = $5, max_delay_ms = $6,
    hourly_cap = $7, daily_cap = $8, warmup_days = $9, max_in_flight = $10,
    new_contacts_per_day = $11, new_contacts_per_hour = $12, check_numbers = $13, typing = $14,
    identical_per_hour = $15, updated_at = now()
WHERE tenant_id = $1 AND id = $2
RETURNING id, tenant_id, name, base_url, token, messages_per_minute, min_delay_ms, max_delay_ms,
    hourly_cap, daily_cap, warmup_days, max_in_flight, new_contacts_per_day, new_contacts_per_hour,
    check_numbers, typing, identical_per_hour, created_at;

-- name: set-instance-session
UPDATE instances SET connected = $3, logged_in = $4, status_checked_at = now()
WHERE tenant_id = $1 AND id = $2;

-- name: instance-statuses
-- What stops the tenant's instances $2 sending, and their delivery rate:
-- of each one's last $4 sends before $3 (sends younger than that may not
-- have their receipt yet), how many were delivered (or read). The sends
-- index is keyed by whether a send was a first message (new_contact: true,
-- false, or NULL when claimed before it was recorded): each range gives its
-- last $4 in order, and the newest $4 of the three are the instance's.
SELECT i.id, COALESCE(i.blocked_reason, ''), i.ban_code, i.blocked_until, i.connected, i.logged_in,
    COALESCE(i.new_lane_state, ''), i.new_lane_until, COALESCE(i.new_lane_reason, ''), d.delivered, d.settled
FROM instances i
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE w.delivered_at IS NOT NULL OR w.read_at IS NOT NULL) AS delivered, count(*) AS settled
    FROM (
        SELECT u.delivered_at, u.read_at FROM (
            (SELECT r.delivered_at, r.read_at, r.sent_at FROM campaign_recipients r
             WHERE r.instance_id = i.id AND r.new_contact AND r.sent_at IS NOT NULL AND r.sent_at < $3
             ORDER BY r.sent_at DESC LIMIT $4)
            UNION ALL
            (SELECT r.delivered_at, r.read_at, r.sent_at FROM campaign_recipients r
             WHERE r.instance_id = i.id AND NOT r.new_contact AND r.sent_at IS NOT NULL AND r.sent_at < $3
             ORDER BY r.sent_at DESC LIMIT $4)
            UNION ALL
            (SELECT r.delivered_at, r.read_at, r.sent_at FROM campaign_recipients r
             WHERE r.instance_id = i.id AND r.new_contact IS NULL AND r.sent_at IS NOT NULL AND r.sent_at < $3
             ORDER BY r.sent_at DESC LIMIT $4)
        ) u
        ORDER BY u.sent_at DESC
        LIMIT $4
    ) w
) d
WHERE i.tenant_id = $1 AND i.id = ANY ($2::uuid[]);
