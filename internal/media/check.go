package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/importer"
)

// Media is an uploaded (or announced) file of a tenant.
type Media struct {
	ID          string     `json:"id"`
	TenantID    string     `json:"-"`
	FileName    string     `json:"fileName"`
	ContentType string     `json:"contentType"`
	Kind        string     `json:"kind"`
	Size        int64      `json:"size"`
	Status      string     `json:"status"`
	Error       *string    `json:"error"`
	CreatedAt   time.Time  `json:"createdAt"`
	CheckedAt   *time.Time `json:"checkedAt"`
	// ExpiresAt is when the bucket's lifecycle rule deletes the file at
	// the latest; for an expired media, when the scheduler deleted it.
	ExpiresAt time.Time `json:"expiresAt"`
	ObjectKey string    `json:"-"`
	// ETag is the checked object's ETag, "" until the check.
	ETag string `json:"-"`
}

// Store is what the check needs of storage.
type Store interface {
	// MediaByKey returns the media whose upload goes to key, or a
	// NOT_FOUND error.
	MediaByKey(ctx context.Context, key string) (Media, error)
	// SettleMedia moves a pending media to ready (with the checked ETag) or
	// rejected (with reason), or a ready one to rejected; false when the
	// media was no longer in a state that allows it.
	SettleMedia(ctx context.Context, id, status, etag, reason string) (bool, error)
}

// Objects opens uploads (blob.Store implements it): a missing key is
// importer.ErrObjectNotFound.
type Objects interface {
	Open(ctx context.Context, key, ifMatch string) (importer.Object, error)
}

// Checker checks media uploads from the bucket's notifications.
type Checker struct {
	Store   Store
	Objects Objects
	Log     *slog.Logger
}

// ReplacedReason is the error of a ready media whose file was uploaded
// again after its check.
const ReplacedReason = "the file was replaced after it was checked; upload it as a new media"

// Run checks the upload at key (implements importer.UploadHandler). It
// returns nil when the media is settled or there is nothing to check (no
// media has the key, the object is gone) and an error when the
// notification should come again.
func (c *Checker) Run(ctx context.Context, key string) error {
	m, err := c.Store.MediaByKey(ctx, key)
	if errors.Is(err, errcode.ErrNotFound) {
		c.Log.InfoContext(ctx, "upload of no media ignored", "key", key)
		return nil
	}
	if err != nil {
		return fmt.Errorf("media of %s: %w", key, err)
	}
	obj, err := c.Objects.Open(ctx, key, "")
	if errors.Is(err, importer.ErrObjectNotFound) {
		c.Log.InfoContext(ctx, "media upload gone before its check", "media_id", m.ID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("open media %s: %w", m.ID, err)
	}
	defer obj.Body.Close()
	switch {
	case m.Status == StatusReady && obj.ETag != m.ETag:
		return c.settle(ctx, m, StatusRejected, obj.ETag, ReplacedReason)
	case m.Status != StatusPending:
		return nil // a repeated notification of a settled upload
	}
	head := make([]byte, SniffBytes)
	n, err := io.ReadFull(obj.Body, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read media %s: %w", m.ID, err)
	}
	if why := Check(m.ContentType, m.Size, obj.Size, head[:n]); why != "" {
		return c.settle(ctx, m, StatusRejected, obj.ETag, why)
	}
	return c.settle(ctx, m, StatusReady, obj.ETag, "")
}

func (c *Checker) settle(ctx context.Context, m Media, status, etag, reason string) error {
	ok, err := c.Store.SettleMedia(ctx, m.ID, status, etag, reason)
	if err != nil {
		return fmt.Errorf("settle media %s as %s: %w", m.ID, status, err)
	}
	if ok {
		c.Log.InfoContext(ctx, "media checked", "media_id", m.ID, "tenant_id", m.TenantID, "status", status, "reason", reason)
	}
	return nil
}
