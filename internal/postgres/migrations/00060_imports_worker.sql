-- +goose Up
-- What the import worker needs on top of schema v1: the claim's
-- lease and fencing token, the object it read, progress by bytes, and the
-- rejected rows until their CSV is written.
ALTER TABLE imports
    -- Fences a claim: writes of a worker whose lease was taken over fail.
    ADD COLUMN claim_token uuid,
    ADD COLUMN lease_until timestamptz,
    ADD COLUMN attempts    integer NOT NULL DEFAULT 0,
    -- Recorded by the first claim: a resumed claim checks the object is the same.
    ADD COLUMN object_etag text,
    ADD COLUMN header      text[],
    ADD COLUMN bytes_total bigint,
    ADD COLUMN bytes_done  bigint NOT NULL DEFAULT 0,
    ADD CONSTRAINT imports_counts_check CHECK (imported + updated + rejected = rows_total);

-- Rejected rows of a running import, written in the same transaction as
-- their batch; turned into a CSV in S3 when the import completes, then dropped.
CREATE TABLE import_rejects (
    import_id uuid    NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    line      integer NOT NULL,
    fields    text[]  NOT NULL,
    reason    text    NOT NULL,
    PRIMARY KEY (import_id, line)
);

-- Contacts of one import, newest first (GET /v1/contacts?importId=, audiences).
CREATE INDEX contacts_import_page_idx ON contacts (tenant_id, import_id, id) WHERE import_id IS NOT NULL;
DROP INDEX contacts_import_idx;

-- +goose Down
CREATE INDEX contacts_import_idx ON contacts (tenant_id, import_id) WHERE import_id IS NOT NULL;
DROP INDEX contacts_import_page_idx;
DROP TABLE import_rejects;
ALTER TABLE imports
    DROP CONSTRAINT imports_counts_check,
    DROP COLUMN claim_token, DROP COLUMN lease_until, DROP COLUMN attempts,
    DROP COLUMN object_etag, DROP COLUMN header, DROP COLUMN bytes_total, DROP COLUMN bytes_done;
