package campaign_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/media"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapi"
)

// files is a hand-written campaign.MediaFiles: URLs name the key, reads
// return body (or err) and are counted.
type files struct {
	mu    sync.Mutex
	body  []byte
	err   error
	reads int
}

func (f *files) URL(_ context.Context, key string) (string, error) {
	return "https://s3.test/" + key + "?X-Amz-Signature=x", nil
}

func (f *files) Read(_ context.Context, _, _ string, _ int64) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return f.body, f.err
}

// mediaCampaign stores a ready media of contentType and a campaign on it.
func (e *env) mediaCampaign(t *testing.T, contentType, caption string, ps []string) (string, media.Media) {
	t.Helper()
	ctx := context.Background()
	_, typ, _ := media.Lookup(contentType)
	m, err := e.db.CreateMedia(ctx, media.Media{TenantID: e.tenant.ID, FileName: "tabela.pdf", ContentType: contentType,
		Kind: typ.Kind, Size: 3}, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := e.db.SettleMedia(ctx, m.ID, media.StatusReady, `"etag1"`, ""); err != nil || !ok {
		t.Fatalf("settle: %v %v", ok, err)
	}
	id := e.campaign(t, caption, ps, func(nc *campaign.NewCampaign) {
		nc.Campaign.Media = &campaign.Media{ID: m.ID}
	})
	return id, m
}

func TestWorkerSendsImageByURLOnce(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 4)
	f := &files{}
	e.worker.Media = &campaign.MediaMessenger{HTTP: wuzapi.Guard{AllowPrivate: true}.HTTPClient(10 * time.Second), Files: f}
	ps := phones(12)
	id, m := e.mediaCampaign(t, "image/jpeg", "Oi {{name}}", ps)
	e.run(t, id, 0)
	e.run(t, id, 0) // redelivered: nothing more
	assertOnce(t, e.fake, ps)
	for _, s := range e.fake.Sends() {
		if s.Media != "image" || s.ID != campaign.MessageID(id, s.Phone, 0) || !strings.HasPrefix(s.Body, "Oi N") ||
			s.File != "https://s3.test/"+m.ObjectKey+"?X-Amz-Signature=x" || s.MimeType != "image/jpeg" {
			t.Fatalf("send = %+v; want an image by URL with our id and the caption", s)
		}
	}
	if f.reads != 0 {
		t.Fatalf("an image was read %d times; WuzAPI fetches it by URL", f.reads)
	}
	if c := e.get(t, id); c.Status != campaign.Completed || c.Counts.Sent != 12 || c.Media == nil || c.Media.Kind != "image" {
		t.Fatalf("campaign = %s %+v media %+v", c.Status, c.Counts, c.Media)
	}
}

func TestWorkerSendsDocumentAsDataURL(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 4)
	f := &files{body: []byte("%PDF")}
	e.worker.Media = &campaign.MediaMessenger{HTTP: wuzapi.Guard{AllowPrivate: true}.HTTPClient(10 * time.Second), Files: f}
	ps := phones(6)
	id, _ := e.mediaCampaign(t, "application/pdf", "", ps)
	e.run(t, id, 0)
	assertOnce(t, e.fake, ps)
	want := "data:application/octet-stream;base64," + base64.StdEncoding.EncodeToString([]byte("%PDF"))
	for _, s := range e.fake.Sends() {
		if s.Media != "document" || s.File != want || s.FileName != "tabela.pdf" || s.MimeType != "application/pdf" ||
			s.ID != campaign.MessageID(id, s.Phone, 0) {
			t.Fatalf("send = %+v; want the document as a data URL with its name and our id", s)
		}
	}
	if f.reads != 1 {
		t.Fatalf("the document was read %d times for 6 sends, want 1", f.reads)
	}
}

func TestWorkerMediaFailures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		readErr    error
		status     string
		errHas     string
		wantSends  int
		wantMetric string
	}{
		// The file expired or was replaced: permanent, nothing sent.
		{"gone", campaign.ErrMediaGone, "failed", "gone", 0, "failed"},
		// S3 unreachable: transient, retried later like a text's 5xx.
		{"s3 down", errors.New("connection refused"), "pending", "connection refused", 0, "retried"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := setupWorker(t, 1)
			e.worker.Media = &campaign.MediaMessenger{HTTP: wuzapi.Guard{AllowPrivate: true}.HTTPClient(10 * time.Second),
				Files: &files{err: c.readErr}}
			ps := phones(1)
			id, _ := e.mediaCampaign(t, "audio/ogg", "", ps)
			e.run(t, id, 0)
			r := e.recipients(t, id)[ps[0]]
			if r.Status != c.status || r.Attempts != 1 || r.LastError == nil || !strings.Contains(*r.LastError, c.errHas) {
				t.Fatalf("recipient = %s attempts %d error %v; want %s after 1 attempt with %q", r.Status, r.Attempts, r.LastError, c.status, c.errHas)
			}
			if len(e.fake.Sends()) != c.wantSends || e.counts[c.wantMetric] != 1 {
				t.Fatalf("sends %d metrics %v", len(e.fake.Sends()), e.counts)
			}
		})
	}

	t.Run("replaced after its check", func(t *testing.T) {
		t.Parallel()
		e := setupWorker(t, 1)
		e.worker.Media = &campaign.MediaMessenger{Files: &files{}}
		ps := phones(2)
		id, m := e.mediaCampaign(t, "image/png", "x", ps)
		if ok, err := e.db.SettleMedia(context.Background(), m.ID, media.StatusRejected, `"etag2"`, media.ReplacedReason); !ok || err != nil {
			t.Fatalf("reject: %v %v", ok, err)
		}
		e.run(t, id, 0)
		for p, r := range e.recipients(t, id) {
			if r.Status != "failed" || r.LastError == nil || !strings.Contains(*r.LastError, "rejected") {
				t.Fatalf("%s = %s %v; want failed: media rejected", p, r.Status, r.LastError)
			}
		}
		if n := len(e.fake.Sends()); n != 0 {
			t.Fatalf("%d sends of a rejected media", n)
		}
	})
}
