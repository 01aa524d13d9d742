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
