-- +goose Up
-- A running report holds a lease its worker renews; a report whose lease
-- ended long ago lost its worker and is failed by the scheduler, like an
-- import. The partial indexes serve that sweep.
ALTER TABLE reports ADD COLUMN lease_until timestamptz;
CREATE INDEX reports_running_lease_idx ON reports (lease_until) WHERE status = 'running';
CREATE INDEX imports_running_lease_idx ON imports (lease_until) WHERE status = 'running';

-- +goose Down
DROP INDEX imports_running_lease_idx;
DROP INDEX reports_running_lease_idx;
ALTER TABLE reports DROP COLUMN lease_until;
