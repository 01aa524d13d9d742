package httpapi_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/importer"
	"github.com/wuzapi-manager/wuzapi-manager/internal/media"
)

// Media expire by use: the scheduler's expiry deletes the file (on kumo's
// S3) and marks the media expired once it was announced more than
// media.Idle ago and no campaign using it is open or ended less than
// media.Idle ago. An expired media is refused by a new campaign (expired)
// and by a resend of a campaign that used it (INVALID_STATE).
func TestMediaExpiresWhenIdle(t *testing.T) {
	t.Parallel()
	b := setupMedia(t)
	ctx := context.Background()
	inst := b.newInstance(t, nil)["id"].(string)
	img := pngBytes(t)
	t0 := *b.now
	day := 24 * time.Hour

	ids := map[string]string{}
	for _, name := range []string{"ended long ago", "ended recently", "open campaign", "never used"} {
		ids[name] = b.upload(t, name+".png", "image/png", len(img), img)["id"].(string)
	}
	campaigns := map[string]string{}
	for _, name := range []string{"ended long ago", "ended recently", "open campaign"} {
		r := b.do(t, "POST", "/v1/campaigns", b.key, map[string]any{"instanceId": inst, "message": "Oi",
			"contacts": []string{"11999990001"}, "media": map[string]any{"mediaId": ids[name]}})
		if r.Status != 202 {
			t.Fatalf("campaign with %s media = %d %s", name, r.Status, r.Raw)
		}
		campaigns[name] = dig(r.Body, "data", "jobId").(string)
	}
	for name, ended := range map[string]time.Time{"ended long ago": t0.Add(day), "ended recently": t0.Add(6 * day)} {
		if _, err := b.db.Pool.Exec(ctx, `UPDATE campaigns SET status = 'completed', finished_at = $2 WHERE id = $1`, campaigns[name], ended); err != nil {
			t.Fatal(err)
		}
		if _, err := b.db.Pool.Exec(ctx, `UPDATE campaign_recipients SET status = 'failed' WHERE campaign_id = $1`, campaigns[name]); err != nil {
			t.Fatal(err)
		}
	}
	*b.now = t0.Add(7 * day)
	ids["announced recently"] = b.upload(t, "fresh.png", "image/png", len(img), img)["id"].(string)

	at := t0.Add(8*day + time.Hour) // idle since t0 + 1 day + 1 hour
	e := &media.Expirer{Store: b.db, Objects: b.store, Now: func() time.Time { return at }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	n, err := e.Run(ctx)
	if err != nil || n != 2 {
		t.Fatalf("expiry = %d, %v; want 2 (ended long ago, never used)", n, err)
	}
	for name, id := range ids {
		expired := name == "ended long ago" || name == "never used"
		g := b.do(t, "GET", "/v1/media/"+id, b.key, nil)
		wantStatus := map[bool]string{true: "expired", false: "ready"}[expired]
		if dig(g.Body, "data", "status") != wantStatus || (dig(g.Body, "data", "url") != nil) == expired {
			t.Errorf("%s: GET = %s; want %s", name, g.Raw, wantStatus)
		}
		if expired && dig(g.Body, "data", "expiresAt") != at.Format(time.RFC3339) {
			t.Errorf("%s: expiresAt %v, want the expiry's time %s", name, dig(g.Body, "data", "expiresAt"), at.Format(time.RFC3339))
		}
		obj, err := b.store.Open(ctx, media.ObjectKey(b.tenantID, id), "")
		if err == nil {
			_ = obj.Body.Close()
		}
		if gone := errors.Is(err, importer.ErrObjectNotFound); gone != expired || (!gone && err != nil) {
			t.Errorf("%s: object open error %v; want gone = %v", name, err, expired)
		}
	}
	if n, err := e.Run(ctx); err != nil || n != 0 {
		t.Fatalf("second expiry = %d, %v; want nothing left", n, err)
	}

	// An expired media is refused by a new campaign and by a resend.
	r := b.do(t, "POST", "/v1/campaigns", b.key, map[string]any{"instanceId": inst, "message": "Oi",
		"contacts": []string{"11999990001"}, "media": map[string]any{"mediaId": ids["never used"]}})
	if r.Status != 400 || !hasDetail(r.Body, "media.mediaId", "expired") {
		t.Errorf("campaign with an expired media = %d %s; want 400 media.mediaId/expired", r.Status, r.Raw)
	}
	r = b.do(t, "POST", "/v1/campaigns/"+campaigns["ended long ago"]+"/resend", b.key, `{"statuses":["failed"]}`)
	if r.Status != 409 || dig(r.Body, "code") != "INVALID_STATE" {
		t.Errorf("resend of a campaign whose media expired = %d %s; want 409 INVALID_STATE", r.Status, r.Raw)
	}
	if c := b.do(t, "GET", "/v1/campaigns/"+campaigns["ended long ago"], b.key, nil); dig(c.Body, "data", "state") != "completed" ||
		dig(c.Body, "data", "media", "status") != "expired" {
		t.Errorf("the refused resend changed the campaign, or its media is not shown expired: %s", c.Raw)
	}
	// A resend of a campaign whose media is kept works, and holds it again.
	r = b.do(t, "POST", "/v1/campaigns/"+campaigns["ended recently"]+"/resend", b.key, `{"statuses":["failed"]}`)
	if r.Status != 202 {
		t.Errorf("resend of a campaign whose media is kept = %d %s", r.Status, r.Raw)
	}
}

// The expiry skips a media that a campaign create or resend holds (the
// FOR SHARE of their transaction) instead of waiting for it, and takes it
// on a later run once the hold is gone and it is still idle.
func TestMediaExpirySkipsHeldMedia(t *testing.T) {
	t.Parallel()
	b := setupMedia(t)
	ctx := context.Background()
	img := pngBytes(t)
	id := b.upload(t, "held.png", "image/png", len(img), img)["id"].(string)
	at := b.now.Add(8 * 24 * time.Hour)
	e := &media.Expirer{Store: b.db, Objects: b.store, Now: func() time.Time { return at }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}

	tx, err := b.db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var status string
	if err := tx.QueryRow(ctx, `SELECT status FROM media WHERE id = $1 FOR SHARE`, id).Scan(&status); err != nil || status != "ready" {
		t.Fatalf("hold: %q %v", status, err)
	}
	if n, err := e.Run(ctx); err != nil || n != 0 {
		t.Fatalf("expiry while held = %d, %v; want 0 (skipped, not waited for)", n, err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := e.Run(ctx); err != nil || n != 1 {
		t.Fatalf("expiry after the hold = %d, %v; want 1", n, err)
	}
}
