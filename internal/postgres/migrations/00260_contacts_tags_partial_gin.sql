-- +goose Up
-- The audiences' tags index holds only contacts that have tags. A contact
-- without tags (every contact of an import without a tags column) added
-- two entries to it (its tenant id and the empty array's), a GIN insert per
-- imported contact that no audience reads: a tags filter (any, all) matches
-- only contacts with tags, and says so (c.tags <> '{}') so that the planner
-- can use this index; none is a NOT and reads no index.
CREATE INDEX contacts_tenant_tagged_idx ON contacts USING gin (tenant_id, tags) WHERE tags <> '{}';
DROP INDEX contacts_tenant_tags_idx;

-- +goose Down
CREATE INDEX contacts_tenant_tags_idx ON contacts USING gin (tenant_id, tags);
DROP INDEX contacts_tenant_tagged_idx;
