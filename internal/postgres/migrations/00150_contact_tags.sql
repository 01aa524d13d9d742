-- +goose Up
-- Contacts gain tags for audiences. An empty array (never NULL) keeps the
-- audience filters free of NULL cases.
ALTER TABLE contacts ADD COLUMN tags text[] NOT NULL DEFAULT '{}';

-- Audience filters: tags any/all/none use && and @> (GIN array_ops);
-- attribute eq/neq/exists use @> and ? (GIN jsonb_ops, which supports both,
-- unlike jsonb_path_ops). Each GIN index leads with nothing tenant-specific,
-- so the planner ANDs it with the tenant's btree index in a bitmap scan.
CREATE INDEX contacts_tags_idx ON contacts USING gin (tags);
CREATE INDEX contacts_attributes_idx ON contacts USING gin (attributes);

-- +goose Down
DROP INDEX contacts_attributes_idx;
DROP INDEX contacts_tags_idx;
ALTER TABLE contacts DROP COLUMN tags;
