-- +goose Up
-- Every enqueue of a campaign's chunks (create, resume, resend, release,
-- requeue) starts a new chunk generation; its messages carry it, and a
-- message of an older generation is dropped, so pausing and resuming never
-- leaves two live messages for one chunk. Hand-backs keep the generation.
ALTER TABLE campaigns ADD COLUMN chunk_gen bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE campaigns DROP COLUMN chunk_gen;
