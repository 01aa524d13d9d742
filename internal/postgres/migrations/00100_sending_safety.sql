-- +goose Up
-- Sending that keeps numbers alive (docs/sending-safety.md): new-contact
-- budgets, the new-contact lane (reach-out lock, delivery guard), readable
-- bans, number checks, typing, identical-text caps, pools and staged rollout.

ALTER TABLE instances
    -- First messages to people who never wrote to the number, per calendar
    -- day (tenant time zone; warm-up grows it from 5) and per sliding hour.
    ADD COLUMN new_contacts_per_day  integer NOT NULL DEFAULT 20 CHECK (new_contacts_per_day BETWEEN 1 AND 500),
    ADD COLUMN new_contacts_per_hour integer NOT NULL DEFAULT 8 CHECK (new_contacts_per_hour BETWEEN 1 AND 200),
    -- Ask WuzAPI /user/check before the first send to a new contact.
    ADD COLUMN check_numbers         boolean NOT NULL DEFAULT true,
    -- Show "typing…" before each send.
    ADD COLUMN typing                boolean NOT NULL DEFAULT true,
    -- The same final text goes to at most this many new contacts an hour.
    ADD COLUMN identical_per_hour    integer NOT NULL DEFAULT 10 CHECK (identical_per_hour BETWEEN 1 AND 1000),
    -- The TemporaryBan code WuzAPI reported (101, 102, ...); NULL otherwise.
    ADD COLUMN ban_code              integer,
    -- The new-contact lane: NULL = open; 'locked' after a reach-out lock
    -- (error 463), 'paused' by the delivery guard. Known contacts keep being
    -- sent either way. new_lane_until is when one probe send may try again.
    ADD COLUMN new_lane_state        text CHECK (new_lane_state IN ('locked', 'paused')),
    ADD COLUMN new_lane_since        timestamptz,
    ADD COLUMN new_lane_until        timestamptz,
    -- A person's reason, e.g. "paused: only 2 of 10 recent first messages were delivered".
    ADD COLUMN new_lane_reason       text,
    -- When a worker took the single probe send of a lane whose wait ended
    -- (a probe older than a few minutes is taken to have died).
    ADD COLUMN new_lane_probe_at     timestamptz,
    -- The last reach-out lock: its start and length, for the doubling rule
    -- (a lock within 7 days of the last doubles it, at most 7 days).
    ADD COLUMN last_lock_at          timestamptz,
    ADD COLUMN last_lock_seconds     integer;

-- Phones that wrote to an instance (any incoming Message webhook, replies
-- included): sends to them are to known contacts, everyone else is new.
-- The phone is stored as WhatsApp reported it; lookups try both Brazilian
-- forms (phone_forms).
CREATE TABLE known_contacts (
    instance_id uuid NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    phone       text NOT NULL,
    first_at    timestamptz NOT NULL DEFAULT now(),
    last_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (instance_id, phone)
);

-- Answers of WuzAPI /user/check, per tenant, trusted for 30 days.
-- jid_phone is the number WhatsApp knows (older Brazilian mobiles lack the
-- 9th digit there): sends go to it.
CREATE TABLE number_checks (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    phone       text NOT NULL,
    on_whatsapp boolean NOT NULL,
    jid_phone   text,
    checked_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, phone)
);
CREATE INDEX number_checks_checked_idx ON number_checks (checked_at);

ALTER TABLE campaign_recipients
    -- Why a recipient is skipped: 'opted_out', 'not_on_whatsapp'.
    ADD COLUMN skip_reason text,
    -- The instance that sends (or sent) this recipient; written at claim.
    ADD COLUMN instance_id uuid REFERENCES instances (id) ON DELETE SET NULL,
    -- Whether the send was a first message to a new contact (for the
    -- delivery guard); NULL until claimed.
    ADD COLUMN new_contact boolean,
    -- The number the send went to when it differs from phone (the checked JID).
    ADD COLUMN send_phone  text;
-- The delivery guard's look at an instance's recent first messages.
CREATE INDEX campaign_recipients_new_sent_idx ON campaign_recipients (instance_id, sent_at DESC)
    WHERE new_contact AND sent_at IS NOT NULL;

ALTER TABLE campaigns
    -- A pool: 2–20 instances of the tenant; instance_id is then the first.
    ADD COLUMN instance_ids uuid[],
    -- Staged rollout {share, holdMinutes, maxFailedShare, maxOptOutShare}; NULL = none.
    ADD COLUMN rollout jsonb,
    -- When the first slice finished and the hold began; when the rest was released.
    ADD COLUMN rollout_hold_from timestamptz,
    ADD COLUMN rollout_released_at timestamptz;

-- phone_forms returns p and, for a Brazilian mobile, its other form: with
-- the 9th digit (55 + area + 9 + 8 digits) and without it (55 + area + 8
-- digits starting 6–9). WhatsApp still knows some older numbers without it.
-- +goose StatementBegin
CREATE FUNCTION phone_forms(p text) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p ~ '^55[1-9][0-9]9[6-9][0-9]{7}$' THEN ARRAY[p, substr(p, 1, 4) || substr(p, 6)]
        WHEN p ~ '^55[1-9][0-9][6-9][0-9]{7}$' THEN ARRAY[p, substr(p, 1, 4) || '9' || substr(p, 5)]
        ELSE ARRAY[p]
    END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION phone_forms(text);
ALTER TABLE campaigns
    DROP COLUMN rollout_released_at,
    DROP COLUMN rollout_hold_from,
    DROP COLUMN rollout,
    DROP COLUMN instance_ids;
DROP INDEX campaign_recipients_new_sent_idx;
ALTER TABLE campaign_recipients
    DROP COLUMN send_phone,
    DROP COLUMN new_contact,
    DROP COLUMN instance_id,
    DROP COLUMN skip_reason;
DROP TABLE number_checks;
DROP TABLE known_contacts;
ALTER TABLE instances
    DROP COLUMN last_lock_seconds,
    DROP COLUMN last_lock_at,
    DROP COLUMN new_lane_probe_at,
    DROP COLUMN new_lane_reason,
    DROP COLUMN new_lane_until,
    DROP COLUMN new_lane_since,
    DROP COLUMN new_lane_state,
    DROP COLUMN ban_code,
    DROP COLUMN identical_per_hour,
    DROP COLUMN typing,
    DROP COLUMN check_numbers,
    DROP COLUMN new_contacts_per_hour,
    DROP COLUMN new_contacts_per_day;
