-- +goose Up
-- A media is 'expired' once the scheduler deleted its file because no
-- campaign needs it any more (media.Idle); its row stays so old campaigns
-- still show what they sent.
ALTER TABLE media DROP CONSTRAINT media_status_check;
ALTER TABLE media ADD CONSTRAINT media_status_check
    CHECK (status IN ('pending', 'ready', 'rejected', 'expired'));
-- The scheduler's search for idle media reads only the live ones.
CREATE INDEX media_live_created_idx ON media (created_at) WHERE status <> 'expired';

-- +goose Down
DROP INDEX media_live_created_idx;
UPDATE media SET status = 'rejected', error = 'the file was deleted' WHERE status = 'expired';
ALTER TABLE media DROP CONSTRAINT media_status_check;
ALTER TABLE media ADD CONSTRAINT media_status_check
    CHECK (status IN ('pending', 'ready', 'rejected'));
