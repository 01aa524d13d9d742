-- Sending safety: known contacts, the new-contact lane, number checks.

-- name: remember-contact
-- A phone that wrote to the instance is a known contact from then on.
INSERT INTO known_contacts (instance_id, phone, first_at, last_at)
VALUES ($1, $2, $3, $3)
ON CONFLICT (instance_id, phone) DO UPDATE SET
    first_at = LEAST(known_contacts.first_at, EXCLUDED.first_at),
    last_at  = GREATEST(known_contacts.last_at, EXCLUDED.last_at);

-- name: is-known-contact
SELECT EXISTS (SELECT 1 FROM known_contacts WHERE instance_id = $1 AND phone = ANY (phone_forms($2)));

-- name: lock-new-lane
-- A reach-out lock: 24 h, doubled when the last lock began within 7 days
-- (at most 7 days). A second 463 while locked (another worker's send was in
-- flight) keeps the lock as it is. Returns the lock's end and the reason.
WITH cur AS (
    SELECT id, name, COALESCE(new_lane_state = 'locked' AND new_lane_until > $2, false) AS still,
        last_lock_at, last_lock_seconds, new_lane_since, new_lane_until
    FROM instances WHERE id = $1 FOR UPDATE
), nxt AS (
    SELECT id, name, still,
        CASE WHEN still THEN last_lock_at ELSE $2 END AS lock_at,
        CASE
            WHEN still THEN last_lock_seconds
            WHEN last_lock_at IS NOT NULL AND last_lock_at > $2 - interval '7 days'
                THEN LEAST(COALESCE(last_lock_seconds, 86400) * 2, 604800)
            ELSE 86400 END AS secs
    FROM cur
)
UPDATE instances i SET
    new_lane_state = 'locked',
    new_lane_since = nxt.lock_at,
    new_lane_until = nxt.lock_at + make_interval(secs => nxt.secs),
    new_lane_reason = 'waiting: new-contact lock on ' || nxt.name || ' until '
        || to_char((nxt.lock_at + make_interval(secs => nxt.secs)) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
    new_lane_probe_at = NULL,
    last_lock_at = nxt.lock_at,
    last_lock_seconds = nxt.secs
FROM nxt
WHERE i.id = nxt.id
RETURNING i.new_lane_until, i.new_lane_reason, NOT nxt.still;

-- name: pause-new-lane
-- The delivery guard: pause the lane (unless it is already closed).
UPDATE instances SET new_lane_state = 'paused', new_lane_since = $2, new_lane_until = $3,
    new_lane_reason = $4, new_lane_probe_at = NULL
WHERE id = $1 AND new_lane_state IS NULL
RETURNING id;

-- name: resume-new-lane
-- The operator reopens a lane the delivery guard paused. A reach-out lock
-- is WhatsApp's and cannot be lifted here.
-- new_lane_since of an open lane is when it reopened: the delivery guard
-- then looks only at first messages sent after it.
UPDATE instances SET new_lane_state = NULL, new_lane_since = $3, new_lane_until = NULL,
    new_lane_reason = NULL, new_lane_probe_at = NULL, updated_at = now()
WHERE tenant_id = $1 AND id = $2 AND new_lane_state = 'paused'
RETURNING id;

-- name: take-lane-probe
-- One probe send when the lane's wait has ended: the first worker to ask
-- takes it; a probe taken over 5 minutes ago is taken to have died.
UPDATE instances SET new_lane_probe_at = $2
WHERE id = $1 AND new_lane_state IS NOT NULL AND new_lane_until <= $2
  AND (new_lane_probe_at IS NULL OR new_lane_probe_at < $2 - interval '5 minutes')
RETURNING id;

-- name: release-lane-probe
UPDATE instances SET new_lane_probe_at = NULL WHERE id = $1;

-- name: open-new-lane
UPDATE instances SET new_lane_state = NULL, new_lane_since = $2, new_lane_until = NULL,
    new_lane_reason = NULL, new_lane_probe_at = NULL
WHERE id = $1;

-- name: recent-new-deliveries
-- The delivery guard's window: the instance's last $3 first messages sent
-- before $2 (and after the lane last reopened), and how many of them have
-- a delivery receipt; then the earliest first message sent at or after
-- $2, the next that can enter the window (the worker asks again only
-- once it is old enough).
SELECT count(*) FILTER (WHERE delivered_at IS NOT NULL), count(*),
    (SELECT min(sent_at) FROM campaign_recipients
     WHERE instance_id = $1 AND new_contact AND sent_at >= $2)
FROM (
    SELECT delivered_at FROM campaign_recipients
    WHERE instance_id = $1 AND new_contact AND sent_at IS NOT NULL AND sent_at < $2
      AND sent_at > COALESCE((SELECT new_lane_since FROM instances WHERE id = $1 AND new_lane_state IS NULL), '-infinity')
    ORDER BY sent_at DESC
    LIMIT $3
) w;

-- name: unchecked-new
-- Pending new contacts of the chunk whose number has no answer newer than
-- $6 in the tenant's cache: the next /user/check batch. In a pool, only
-- those given to instance $4 (or to none yet).
SELECT r.phone FROM campaign_recipients r
JOIN campaigns c ON c.id = r.campaign_id
WHERE r.campaign_id = $1 AND r.seq >= $2 AND r.seq < $3 AND r.status = 'pending'
  AND (r.instance_id IS NULL OR r.instance_id = $4)
  AND NOT EXISTS (SELECT 1 FROM known_contacts k WHERE k.instance_id = $4 AND k.phone = ANY (phone_forms(r.phone)))
  AND NOT EXISTS (SELECT 1 FROM number_checks n WHERE n.tenant_id = c.tenant_id AND n.phone = r.phone AND n.checked_at >= $6)
ORDER BY r.seq
LIMIT $5;

-- name: save-number-check
INSERT INTO number_checks (tenant_id, phone, on_whatsapp, jid_phone, checked_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (tenant_id, phone) DO UPDATE SET
    on_whatsapp = EXCLUDED.on_whatsapp, jid_phone = EXCLUDED.jid_phone, checked_at = EXCLUDED.checked_at;

-- name: skip-not-on-whatsapp
-- Pending recipients of the chunk whose number is not on WhatsApp (a
-- cached answer newer than $4) are skipped, never sent.
UPDATE campaign_recipients r SET status = 'skipped', skip_reason = 'not_on_whatsapp', next_attempt_at = NULL
FROM campaigns c, number_checks n
WHERE r.campaign_id = $1 AND r.seq >= $2 AND r.seq < $3 AND r.status = 'pending'
  AND c.id = r.campaign_id AND n.tenant_id = c.tenant_id AND n.phone = r.phone
  AND NOT n.on_whatsapp AND n.checked_at >= $4;

-- name: new-lane
SELECT COALESCE(new_lane_state, ''), new_lane_until, COALESCE(new_lane_reason, '') FROM instances WHERE id = $1;
