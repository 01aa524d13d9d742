package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/wuzapi-manager/wuzapi-manager/internal/media"
)

var _ media.Store = (*DB)(nil)

func scanMedia(row pgx.Row) (media.Media, error) {
	var m media.Media
	err := row.Scan(&m.ID, &m.TenantID, &m.FileName, &m.ContentType, &m.Kind, &m.Size, &m.ObjectKey, &m.Status,
		&m.Error, &m.ETag, &m.CreatedAt, &m.CheckedAt, &m.ExpiresAt)
	return m, err
}

// CreateMedia records a pending media of the tenant whose upload goes to
// media.ObjectKey(tenantID, id), kept until now + media.Lifetime.
func (db *DB) CreateMedia(ctx context.Context, m media.Media, now time.Time) (media.Media, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return media.Media{}, fmt.Errorf("new media id: %w", err)
	}
	out, err := scanMedia(db.Pool.QueryRow(ctx, db.q("create-media"), id, m.TenantID, m.FileName, m.ContentType,
		m.Kind, m.Size, media.ObjectKey(m.TenantID, id.String()), now, now.Add(media.Lifetime)))
	if err != nil {
		return media.Media{}, fmt.Errorf("insert media of tenant %s: %w", m.TenantID, err)
	}
	return out, nil
}

// Media returns the tenant's media with id, or NOT_FOUND.
func (db *DB) Media(ctx context.Context, tenantID, id string) (media.Media, error) {
	if _, err := uuid.Parse(id); err != nil {
		return media.Media{}, notFound(pgx.ErrNoRows, "media")
	}
	m, err := scanMedia(db.Pool.QueryRow(ctx, db.q("get-media"), tenantID, id))
	return m, notFound(err, "media")
}

// MediaList returns a page of the tenant's media, newest first.
func (db *DB) MediaList(ctx context.Context, tenantID, after string, limit int) ([]media.Media, error) {
	rows, err := db.Pool.Query(ctx, db.q("list-media"), tenantID, nullUUID(after), limit)
	if err != nil {
		return nil, fmt.Errorf("list media of tenant %s: %w", tenantID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (media.Media, error) { return scanMedia(r) })
	if err != nil {
		return nil, fmt.Errorf("list media of tenant %s: %w", tenantID, err)
	}
	return out, nil
}

// MediaByKey implements media.Store.
func (db *DB) MediaByKey(ctx context.Context, key string) (media.Media, error) {
	m, err := scanMedia(db.Pool.QueryRow(ctx, db.q("media-by-key"), key))
	return m, notFound(err, "media")
}

// SettleMedia implements media.Store.
func (db *DB) SettleMedia(ctx context.Context, id, status, etag, reason string) (bool, error) {
	tag, err := db.Pool.Exec(ctx, db.q("settle-media"), id, status, etag, reason)
	if err != nil {
		return false, fmt.Errorf("settle media %s: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ExpireIdleMedia marks expired (at now) up to limit media that no
// campaign needs since idleSince (announced before it, and no campaign
// using them open or ended after it) and returns their object keys, the
// files to delete. Media a concurrent campaign create or resend holds are
// skipped until a later call.
func (db *DB) ExpireIdleMedia(ctx context.Context, idleSince, now time.Time, limit int) ([]string, error) {
	var keys []string
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, db.q("lock-idle-media"), idleSince, limit)
		if err != nil {
			return fmt.Errorf("lock idle media: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(ids) == 0 {
			return err
		}
		rows, err = tx.Query(ctx, db.q("expire-media"), ids, idleSince, now)
		if err != nil {
			return fmt.Errorf("expire %d idle media: %w", len(ids), err)
		}
		keys, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("expire idle media: %w", err)
	}
	return keys, nil
}

// holdMedia locks the tenant's media mediaID for the rest of tx (so the
// expiry cannot take it) and returns its status.
func (db *DB) holdMedia(ctx context.Context, tx pgx.Tx, tenantID, mediaID string) (string, error) {
	var status string
	if err := tx.QueryRow(ctx, db.q("hold-media"), tenantID, mediaID).Scan(&status); err != nil {
		return "", notFound(err, "media")
	}
	return status, nil
}
