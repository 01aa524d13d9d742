-- +goose Up
-- Audience previews count a tenant's opted-out matches apart from the rest:
-- this index holds only opted-out contacts, so that count reads few rows
-- and the rest is an index-only count of the tenant's (tenant_id, id) keys.
-- Imports pay almost nothing for it: a contact that is not opted out adds
-- no entry.
CREATE INDEX contacts_opted_out_idx ON contacts (tenant_id) WHERE opted_out_at IS NOT NULL;

-- +goose Down
DROP INDEX contacts_opted_out_idx;
