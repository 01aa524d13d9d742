-- name: create-media
INSERT INTO media (id, tenant_id, file_name, content_type, kind, size, object_key, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING id, tenant_id, file_name, content_type, kind, size, object_key, status, error, etag,
          created_at, checked_at, expires_at;

-- name: get-media
SELECT id, tenant_id, file_name, content_type, kind, size, object_key, status, error, etag,
       created_at, checked_at, expires_at
FROM media WHERE tenant_id = $1 AND id = $2;

-- name: list-media
SELECT id, tenant_id, file_name, content_type, kind, size, object_key, status, error, etag,
       created_at, checked_at, expires_at
FROM media
WHERE tenant_id = $1 AND ($2::uuid IS NULL OR id < $2)
ORDER BY id DESC
LIMIT $3;

-- name: media-by-key
-- The upload's own key names its media: the tenant comes from the row, not
-- from anything in the notification.
SELECT id, tenant_id, file_name, content_type, kind, size, object_key, status, error, etag,
       created_at, checked_at, expires_at
FROM media WHERE object_key = $1;

-- name: settle-media
-- pending becomes ready or rejected once; a ready media becomes rejected
-- when its file was replaced. Nothing else moves.
UPDATE media SET status = $2, etag = $3, error = NULLIF($4, ''), checked_at = now()
WHERE id = $1 AND (status = 'pending' OR (status = 'ready' AND $2 = 'rejected'));

-- name: lock-idle-media
-- Media whose file no campaign needs: announced before $1 and no campaign
-- using it that is open or ended at or after $1 (a resend opens an ended one
-- again, so the status is read too). Locked, skipping media a campaign create
-- holds, so that create and this expiry never both win.
SELECT m.id::text FROM media m
WHERE m.status <> 'expired' AND m.created_at < $1
  AND NOT EXISTS (
      SELECT 1 FROM campaigns c
      WHERE c.media_id = m.id
        AND (c.status IN ('scheduled', 'queued', 'running', 'paused') OR c.finished_at IS NULL OR c.finished_at >= $1))
ORDER BY m.created_at
LIMIT $2
FOR UPDATE OF m SKIP LOCKED;

-- name: expire-media
-- The locked media that are still idle (checked again with this statement's
-- snapshot, which sees every campaign committed before the lock) become
-- expired at $3; their keys are the files to delete.
UPDATE media m SET status = 'expired', expires_at = $3
WHERE m.id = ANY($1::uuid[]) AND m.status <> 'expired'
  AND NOT EXISTS (
      SELECT 1 FROM campaigns c
      WHERE c.media_id = m.id
        AND (c.status IN ('scheduled', 'queued', 'running', 'paused') OR c.finished_at IS NULL OR c.finished_at >= $2))
RETURNING m.object_key;

-- name: hold-media
-- A campaign create or resend holds its media until it commits: the expiry
-- skips held media, and a media it expired first is seen here as expired.
SELECT status FROM media WHERE tenant_id = $1 AND id = $2 FOR SHARE;
