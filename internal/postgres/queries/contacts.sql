-- name: create-contact-stage
-- One staging table per merge transaction; COPY fills it.
CREATE TEMP TABLE contact_stage (
    id         uuid    NOT NULL,
    phone      text    NOT NULL,
    name       text    NOT NULL,
    attributes jsonb   NOT NULL,
    tags       text[]  NOT NULL
) ON COMMIT DROP;

-- name: merge-contact-stage
-- The caller collapses repeated phones (Go: collapse), so no row is touched
-- twice (Postgres would refuse the statement if one were). A row with an
-- empty name keeps the stored name; attributes are merged key by key;
-- non-empty tags replace the stored ones, empty tags keep them;
-- opted_out_at is never touched, so an opted-out contact stays opted out.
-- id is used only by a new row. xmax = 0 tells a new row from an updated
-- one. $2 NULL (an API upsert) keeps the contact's import.
-- A new contact for a phone on the tenant's suppression list starts opted
-- out: the join here does for the whole batch what the row trigger
-- contacts_keep_opt_out_insert does for one row, and the caller sets
-- wuzapi.opt_outs_joined for this statement so that the trigger stays off.
WITH merged AS (
    INSERT INTO contacts AS c (id, tenant_id, phone, name, attributes, tags, import_id, opted_out_at)
    SELECT s.id, $1, s.phone, s.name, s.attributes, s.tags, $2, o.opted_out_at
    FROM contact_stage s LEFT JOIN opt_outs o ON o.tenant_id = $1 AND o.phone = s.phone
    ON CONFLICT (tenant_id, phone) DO UPDATE SET
        name       = CASE WHEN EXCLUDED.name <> '' THEN EXCLUDED.name ELSE c.name END,
        attributes = c.attributes || EXCLUDED.attributes,
        tags       = CASE WHEN cardinality(EXCLUDED.tags) > 0 THEN EXCLUDED.tags ELSE c.tags END,
        import_id  = COALESCE(EXCLUDED.import_id, c.import_id),
        updated_at = now()
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) FROM merged;

-- name: opt-outs-of-phones
-- The suppression list's entries for a batch's phones, read before the
-- batch is COPYed straight into contacts as new contacts (what the merge's
-- join with opt_outs does for the whole batch). A tenant without a
-- suppression list reads one index entry: the EXISTS is a one-time filter,
-- so the probes of the phones (an index descent for each of the batch's
-- thousands, after sorting them) do not run.
SELECT phone, opted_out_at FROM opt_outs
WHERE tenant_id = $1 AND phone = ANY($2::text[]) AND EXISTS (SELECT FROM opt_outs WHERE tenant_id = $1);

-- name: list-contacts
SELECT id, phone, name, attributes, tags, import_id, opted_out_at, created_at, updated_at
FROM contacts
WHERE tenant_id = $1
  AND ($2::uuid IS NULL OR id < $2)
  AND ($3::uuid IS NULL OR import_id = $3)
ORDER BY id DESC
LIMIT $4;

-- name: get-contact-by-phone
SELECT id, phone, name, attributes, tags, import_id, opted_out_at, created_at, updated_at
FROM contacts WHERE tenant_id = $1 AND phone = $2;

-- name: delete-contact
DELETE FROM contacts WHERE tenant_id = $1 AND id = $2;

-- name: update-contact
-- PATCH: NULL parameters leave a column as it is. Attributes merge key by
-- key and a key patched to null is removed (stored values are never null).
-- opted_out_at is not in the SET list, so the opt-out trigger never runs
-- and an opted-out contact stays opted out.
UPDATE contacts SET
    name       = COALESCE($3::text, name),
    tags       = COALESCE($4::text[], tags),
    attributes = CASE WHEN $5::jsonb IS NULL THEN attributes ELSE jsonb_strip_nulls(attributes || $5::jsonb) END,
    updated_at = now()
WHERE tenant_id = $1 AND id = $2
RETURNING id, phone, name, attributes, tags, import_id, opted_out_at, created_at, updated_at;
