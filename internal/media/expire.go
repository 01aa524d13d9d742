package media

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// ExpireStore is what the expiry needs of storage.
type ExpireStore interface {
	// ExpireIdleMedia marks expired (at now) up to limit media idle since
	// idleSince (see Idle) and returns their object keys.
	ExpireIdleMedia(ctx context.Context, idleSince, now time.Time, limit int) ([]string, error)
}

// Deleter deletes objects (blob.Store implements it); a missing key is no error.
type Deleter interface {
	Delete(ctx context.Context, key string) error
}

// ExpireBatch is how many media one step of the expiry takes.
const ExpireBatch = 100

// Expirer deletes the files of media no campaign needs any more (Idle).
// A media is marked expired before its file is deleted, so no campaign
// takes a media whose file may be gone; a delete that fails leaves the
// file to the bucket's lifecycle rule (Lifetime).
type Expirer struct {
	Store   ExpireStore
	Objects Deleter
	Now     func() time.Time
	Log     *slog.Logger
}

// Run expires idle media in batches of ExpireBatch until none is left or
// ctx ends, and returns how many it expired. It fails only when the store
// does; failed deletes are logged.
func (e *Expirer) Run(ctx context.Context) (int, error) {
	n := 0
	for ctx.Err() == nil {
		now := e.Now()
		keys, err := e.Store.ExpireIdleMedia(ctx, now.Add(-Idle), now, ExpireBatch)
		if err != nil {
			return n, fmt.Errorf("expire idle media after %d: %w", n, err)
		}
		for _, key := range keys {
			if err := e.Objects.Delete(ctx, key); err != nil {
				e.Log.WarnContext(ctx, "expired media file not deleted; the lifecycle rule will", "key", key, "error", err.Error())
			}
		}
		n += len(keys)
		if len(keys) < ExpireBatch {
			break
		}
	}
	if n > 0 {
		e.Log.InfoContext(ctx, "idle media expired", "count", n)
	}
	return n, nil
}
