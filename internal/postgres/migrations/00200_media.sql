-- +goose Up
-- Campaign media: a file a tenant uploads to S3 (media/{tenant}/{id}),
-- checked by the import worker before it may be sent.
CREATE TABLE media (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    file_name    text NOT NULL,
    content_type text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('image', 'video', 'audio', 'document')),
    size         bigint NOT NULL CHECK (size > 0),
    object_key   text NOT NULL UNIQUE,
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ready', 'rejected')),
    error        text,
    etag         text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    checked_at   timestamptz,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX media_tenant_page_idx ON media (tenant_id, id);

-- A campaign's media; its message is then the caption.
ALTER TABLE campaigns ADD COLUMN media_id uuid REFERENCES media (id);
CREATE INDEX campaigns_media_idx ON campaigns (media_id) WHERE media_id IS NOT NULL;

-- +goose Down
DROP INDEX campaigns_media_idx;
ALTER TABLE campaigns DROP COLUMN media_id;
DROP TABLE media;
