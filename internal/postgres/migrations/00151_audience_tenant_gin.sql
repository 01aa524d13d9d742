-- +goose Up
-- The GIN indexes of audiences lead with tenant_id (btree_gin), so a tag or
-- attribute filter reads only the tenant's matching entries instead of
-- ANDing with a bitmap of every contact of the tenant.
CREATE EXTENSION IF NOT EXISTS btree_gin;
CREATE INDEX contacts_tenant_tags_idx ON contacts USING gin (tenant_id, tags);
CREATE INDEX contacts_tenant_attributes_idx ON contacts USING gin (tenant_id, attributes);
DROP INDEX contacts_tags_idx;
DROP INDEX contacts_attributes_idx;

-- +goose Down
CREATE INDEX contacts_tags_idx ON contacts USING gin (tags);
CREATE INDEX contacts_attributes_idx ON contacts USING gin (attributes);
DROP INDEX contacts_tenant_attributes_idx;
DROP INDEX contacts_tenant_tags_idx;
