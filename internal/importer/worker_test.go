package importer_test

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/wuzapi-manager/wuzapi-manager/internal/awstest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/blob"
	"github.com/wuzapi-manager/wuzapi-manager/internal/importer"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/telemetry"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

// claimRecorder is a Store that only records which keys were claimed and
// finds no import for any of them.
type claimRecorder struct {
	importer.Store
	mu   sync.Mutex
	keys []string
}

func (c *claimRecorder) ClaimImport(_ context.Context, key string, _ time.Duration) (importer.Job, importer.ClaimResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys = append(c.keys, key)
	return importer.Job{}, importer.NotFound, nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tlogWriter struct{ t testing.TB }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestHandleMessageEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		keys []string
		err  error
	}{
		{"s3-test-event.json", nil, nil},
		{"s3-put-aws.json", []string{"imports/2024 data+x.csv"}, nil},
		{"s3-put-kumo.json", []string{"imports/2024 data+x.csv"}, nil},
		{"s3-delete.json", nil, nil},
		{"s3-outside-prefix.json", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			body, err := os.ReadFile(filepath.Join("testdata", "events", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			rec := &claimRecorder{}
			w := &importer.Worker{Store: rec, Log: testLogger(t)}
			if err := w.HandleMessage(context.Background(), string(body)); err != nil {
				t.Fatalf("HandleMessage: %v", err)
			}
			if fmt.Sprint(rec.keys) != fmt.Sprint(tt.keys) {
				t.Fatalf("claimed keys %q, want %q", rec.keys, tt.keys)
			}
		})
	}
	w := &importer.Worker{Store: &claimRecorder{}, Log: testLogger(t)}
	test, _ := os.ReadFile(filepath.Join("testdata", "events", "s3-test-event.json"))
	retry := w.HandleBatch(context.Background(), []importer.Message{{ID: "a", Body: "garbage"}, {ID: "b", Body: string(test)}, {ID: "c", Body: "{}"}})
	if len(retry) != 2 || retry["a"] == nil || retry["c"] == nil {
		t.Errorf("HandleBatch retries %v, want [a c]", retry)
	}
	for _, bad := range []string{`not json`, `{"v":1,"type":"campaign.chunk"}`, `{"Records":[]}`} {
		if err := w.HandleMessage(context.Background(), bad); !errors.Is(err, importer.ErrBadMessage) {
			t.Errorf("HandleMessage(%s) = %v, want ErrBadMessage", bad, err)
		}
	}
}

// keyRecorder is an importer.UploadHandler that records the keys it ran.
type keyRecorder struct{ keys []string }

func (k *keyRecorder) Run(_ context.Context, key string) error {
	k.keys = append(k.keys, key)
	return nil
}

func TestHandleMessageHandsOtherUploadsOn(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile(filepath.Join("testdata", "events", "s3-put-media-kumo.json"))
	if err != nil {
		t.Fatal(err)
	}
	rec, media := &claimRecorder{}, &keyRecorder{}
	w := &importer.Worker{Store: rec, Log: testLogger(t), Uploads: map[string]importer.UploadHandler{"media/": media}}
	if err := w.HandleMessage(context.Background(), string(body)); err != nil {
		t.Fatalf("HandleMessage: %v", err)
	}
	if len(rec.keys) != 0 || fmt.Sprint(media.keys) != "[media/t1/m1]" {
		t.Fatalf("imports claimed %q, media handled %q; want none and [media/t1/m1]", rec.keys, media.keys)
	}
}

type bundle struct {
	db      *postgres.DB
	env     *awstest.Env
	blob    *blob.Store
	queue   awstest.Queue
	worker  *importer.Worker
	metrics *telemetry.Metrics
	tenant  tenant.Tenant
}

func setup(t testing.TB) bundle {
	t.Helper()
	db := pgtest.NewDB(t)
	env := awstest.New(t)
	bucket := env.Bucket(t)
	q := env.Queue(t, 30*time.Second)
	env.Notify(t, bucket, importer.ObjectPrefix, q)
	tn, _, err := db.CreateTenant(context.Background(), tenant.Tenant{Name: "Imports", Plan: tenant.PlanFree, DefaultCountry: "BR", Timezone: "UTC"})
	if err != nil {
		t.Fatal(err)
	}
	m := telemetry.NewMetrics()
	b := bundle{db: db, env: env, blob: blob.New(env.S3, bucket), queue: q, metrics: m, tenant: tn}
	b.worker = &importer.Worker{
		Store: postgres.ImportStore{DB: db}, Objects: b.blob, Log: testLogger(t), BatchSize: 3,
		Rows: importer.RowCounterFunc(func(r string, n int) { m.ImportRows.WithLabelValues(r).Add(float64(n)) }),
	}
	return b
}

// upload creates an import, PUTs body through its presigned URL as a client
// would, and returns the import and the S3 notification that arrived.
func (b bundle) upload(t *testing.T, body string) (postgres.Import, string) {
	t.Helper()
	ctx := context.Background()
	im, err := b.db.CreateImport(ctx, b.tenant.ID, "contacts.csv")
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.blob.PresignPut(ctx, im.ObjectKey, "text/csv", 0, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, p.Method, p.URL, strings.NewReader(body))
	for k, v := range p.Headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT upload: %v %v", resp, err)
	}
	_ = resp.Body.Close()
	msgs := b.env.Receive(t, b.queue, 10*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d notifications, want 1", len(msgs))
	}
	_, _ = b.env.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(b.queue.URL), ReceiptHandle: msgs[0].ReceiptHandle})
	return im, aws.ToString(msgs[0].Body)
}

func (b bundle) importNow(t *testing.T, id string) postgres.Import {
	t.Helper()
	im, err := b.db.Import(context.Background(), b.tenant.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func counts(im postgres.Import) importer.Counts {
	return importer.Counts{RowsTotal: im.RowsTotal, Imported: im.Imported, Updated: im.Updated, Rejected: im.Rejected}
}

const mixedCSV = "Telefone;Nome;Cidade\n" +
	"11 99999-0001;Ana;SP\n" +
	"123;Short;X\n" +
	"11 99999-0002;Bruno;RJ\n" +
	"+55 11 99999-0001;Ana Souza;\n" + // repeated: counts as updated, last wins
	"11 99999-0003;\"Caio\nda Silva\";BH\n" +
	"no phone here;Nope;Y\n" +
	"11 99999-0004;Dora;POA\n"

func TestWorkerImportsUploadAndIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	// An existing, opted-out contact that the file updates: stays opted out.
	if _, _, err := b.db.UpsertContacts(ctx, b.tenant.ID, []importer.Contact{{Phone: "5511999990004", Name: "Old"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Pool.Exec(ctx, "UPDATE contacts SET opted_out_at = now()"); err != nil {
		t.Fatal(err)
	}
	im, event := b.upload(t, mixedCSV)
	if err := b.worker.HandleMessage(ctx, event); err != nil {
		t.Fatalf("HandleMessage: %v", err)
	}
	got := b.importNow(t, im.ID)
	want := importer.Counts{RowsTotal: 7, Imported: 3, Updated: 2, Rejected: 2}
	if got.Status != importer.StatusCompleted || counts(got) != want || got.Progress() != 100 || got.Error != nil {
		t.Fatalf("import = %+v; want completed with %+v", got, want)
	}
	for result, n := range map[string]float64{"imported": 3, "updated": 2, "rejected": 2} {
		if v := testutil.ToFloat64(b.metrics.ImportRows.WithLabelValues(result)); v != n {
			t.Errorf("import_rows_total{result=%q} = %v, want %v", result, v, n)
		}
	}

	contacts, err := b.db.Contacts(ctx, b.tenant.ID, postgres.ContactFilter{ImportID: im.ID}, "", 100)
	if err != nil || len(contacts) != 4 {
		t.Fatalf("contacts of the import = %d, %v; want 4", len(contacts), err)
	}
	ana, _ := b.db.ContactByPhone(ctx, b.tenant.ID, "5511999990001")
	if ana.Name != "Ana Souza" || ana.Attributes["Cidade"] != "SP" {
		t.Fatalf("ana = %+v; want the last row's name, the first row's city kept", ana)
	}
	caio, _ := b.db.ContactByPhone(ctx, b.tenant.ID, "5511999990003")
	if caio.Name != "Caio\nda Silva" {
		t.Fatalf("caio = %+v", caio)
	}
	dora, _ := b.db.ContactByPhone(ctx, b.tenant.ID, "5511999990004")
	if dora.OptedOutAt == nil || dora.Name != "Dora" || *dora.ImportID != im.ID {
		t.Fatalf("dora = %+v; want still opted out, renamed, of this import", dora)
	}

	// The rejected rows' CSV: the header, line and reason appended.
	obj, err := b.blob.Open(ctx, *got.RejectedObjectKey, "")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(obj.Body).ReadAll()
	_ = obj.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	wantRecs := [][]string{
		{"Telefone", "Nome", "Cidade", "line", "reason"},
		{"123", "Short", "X", "3", "too_short"},
		{"no phone here", "Nope", "Y", "8", "not_a_number"},
	}
	if fmt.Sprint(recs) != fmt.Sprint(wantRecs) {
		t.Fatalf("rejected rows CSV = %q, want %q", recs, wantRecs)
	}

	// At-least-once: the same event again changes nothing.
	if err := b.worker.HandleMessage(ctx, event); err != nil {
		t.Fatalf("second delivery: %v", err)
	}
	again := b.importNow(t, im.ID)
	if counts(again) != want || again.Status != importer.StatusCompleted || !again.FinishedAt.Equal(*got.FinishedAt) {
		t.Fatalf("after a redelivery: %+v; want unchanged %+v", again, got)
	}
	if v := testutil.ToFloat64(b.metrics.ImportRows.WithLabelValues("imported")); v != 3 {
		t.Fatalf("a redelivery counted rows again: imported = %v", v)
	}
}

func TestWorkerFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	garbage, err := os.ReadFile(filepath.Join("testdata", "garbage.bin"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, body string
		maxBytes   int64
		status     string
		errText    string
		counts     importer.Counts
	}{
		{"no phone column", "email,name\na@b.c,Ana\n", 0, importer.StatusFailed, "no phone column", importer.Counts{}},
		{"binary garbage", string(garbage), 0, importer.StatusFailed, "not a CSV", importer.Counts{}},
		{"zero bytes", "", 0, importer.StatusFailed, "empty", importer.Counts{}},
		{"over the size limit", mixedCSV, 64, importer.StatusFailed, "the limit is 64 bytes", importer.Counts{}},
		{"header only", "phone,name\n", 0, importer.StatusCompleted, "", importer.Counts{}},
		{"all invalid", "phone\n1\n2\nabc\n", 0, importer.StatusCompleted, "", importer.Counts{RowsTotal: 3, Rejected: 3}},
		{"30,000 header columns", "phone" + strings.Repeat(",a", 29_999) + "\n11999990001" + strings.Repeat(",x", 29_999) + "\n",
			0, importer.StatusFailed, "too_many_columns", importer.Counts{}},
		{"201 header columns", "phone" + strings.Repeat(",a", importer.MaxColumns) + "\n11999990001\n",
			0, importer.StatusFailed, "too_many_columns", importer.Counts{}},
		{"a NUL in a row rejects the row", "phone,name\n11999990081,A\n11999990082,B\x00\n",
			0, importer.StatusCompleted, "", importer.Counts{RowsTotal: 2, Imported: 1, Rejected: 1}},
		{"unclosed quote after good rows", "phone,name\n11999990001,A\n11999990002,B\n11999990003,C\n11999990004,\"D\n" + strings.Repeat("x\n", 40000),
			0, importer.StatusFailed, "the 3 rows before it were imported", importer.Counts{RowsTotal: 3, Imported: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im, event := b.upload(t, tt.body)
			w := *b.worker
			w.MaxBytes = tt.maxBytes
			if err := w.HandleMessage(ctx, event); err != nil {
				t.Fatalf("HandleMessage: %v (a failed import is acknowledged, not retried)", err)
			}
			got := b.importNow(t, im.ID)
			errText := ""
			if got.Error != nil {
				errText = *got.Error
			}
			if got.Status != tt.status || counts(got) != tt.counts || (tt.errText == "") != (errText == "") || !strings.Contains(errText, tt.errText) {
				t.Fatalf("import = %s %+v error %q; want %s %+v error containing %q", got.Status, counts(got), errText, tt.status, tt.counts, tt.errText)
			}
		})
	}
}

func TestWorkerIgnoresUnknownObject(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	if err := b.blob.Put(ctx, "imports/"+b.tenant.ID+"/stray.csv", "text/csv", []byte("phone\n11999990001\n")); err != nil {
		t.Fatal(err)
	}
	msgs := b.env.Receive(t, b.queue, 10*time.Second)
	if err := b.worker.HandleMessage(ctx, aws.ToString(msgs[0].Body)); err != nil {
		t.Fatalf("an object without an import must be acknowledged: %v", err)
	}
	if cs, _ := b.db.Contacts(ctx, b.tenant.ID, postgres.ContactFilter{}, "", 10); len(cs) != 0 {
		t.Fatalf("stray object imported %d contacts", len(cs))
	}
}

// flakyStore fails the commit of batch number failAt once, as a crash or a
// lost connection would, after which the import is retried.
type flakyStore struct {
	importer.Store
	mu      sync.Mutex
	commits int
	failAt  int
}

var errInjected = errors.New("injected commit failure")

func (f *flakyStore) StageBatch(ctx context.Context, job importer.Job, b importer.Batch) (importer.StagedBatch, error) {
	staged, err := f.Store.StageBatch(ctx, job, b)
	if err != nil {
		return nil, err
	}
	return flakyBatch{staged, f}, nil
}

type flakyBatch struct {
	importer.StagedBatch
	f *flakyStore
}

func (b flakyBatch) Commit(ctx context.Context, rowsBefore int, n int64, lease time.Duration) (importer.Counts, error) {
	b.f.mu.Lock()
	b.f.commits++
	fail := b.f.commits == b.f.failAt
	b.f.mu.Unlock()
	if fail {
		b.Rollback(ctx)
		return importer.Counts{}, errInjected
	}
	return b.StagedBatch.Commit(ctx, rowsBefore, n, lease)
}

// commitBatch stages b and commits it, as the worker does.
func commitBatch(ctx context.Context, store importer.Store, job importer.Job, b importer.Batch, rowsBefore int, bytes int64, lease time.Duration) (importer.Counts, error) {
	staged, err := store.StageBatch(ctx, job, b)
	if err != nil {
		return importer.Counts{}, err
	}
	return staged.Commit(ctx, rowsBefore, bytes, lease)
}

func TestWorkerResumesWithoutDoubleCounting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	// 7 rows: 2 rejected, 0001 twice (the second counts as updated), 4 new.
	want := importer.Counts{RowsTotal: 7, Imported: 4, Updated: 1, Rejected: 2}

	// A transient failure at the third batch: the retry resumes after the
	// two merged batches.
	im, event := b.upload(t, mixedCSV)
	w := *b.worker
	w.Store = &flakyStore{Store: b.worker.Store, failAt: 3}
	if err := w.HandleMessage(ctx, event); !errors.Is(err, errInjected) {
		t.Fatalf("first run: %v, want the injected failure", err)
	}
	mid := b.importNow(t, im.ID)
	if mid.Status != importer.StatusRunning || mid.RowsTotal != 6 {
		t.Fatalf("after the failure: %+v; want running with 6 rows merged", mid)
	}
	if err := w.HandleMessage(ctx, event); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if got := b.importNow(t, im.ID); got.Status != importer.StatusCompleted || counts(got) != want {
		t.Fatalf("after the retry: %s %+v; want completed %+v", got.Status, counts(got), want)
	}

	// A worker that died holding the claim: once its lease expires, the
	// next delivery takes over and finishes after what it merged.
	im2, event2 := b.upload(t, strings.ReplaceAll(mixedCSV, "11 99999-", "21 99999-"))
	store := postgres.ImportStore{DB: b.db}
	dead, res, err := store.ClaimImport(ctx, im2.ObjectKey, -time.Second) // lease already expired
	if err != nil || res != importer.Claimed {
		t.Fatalf("claim: %v %v", res, err)
	}
	r, err := importer.NewReader(strings.NewReader(strings.ReplaceAll(mixedCSV, "11 99999-", "21 99999-")), importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := r.ReadBatch(3)
	if err := store.SetImportObject(ctx, dead, 0, "", r.Header()); err != nil {
		t.Fatal(err)
	}
	if _, err := commitBatch(ctx, store, dead, first, 0, 10, -time.Second); err != nil {
		t.Fatal(err)
	}
	if err := b.worker.HandleMessage(ctx, event2); err != nil {
		t.Fatalf("takeover: %v", err)
	}
	got := b.importNow(t, im2.ID)
	if got.Status != importer.StatusCompleted || counts(got) != want {
		t.Fatalf("after takeover: %s %+v; want completed %+v", got.Status, counts(got), want)
	}
	if _, err := commitBatch(ctx, store, dead, first, 3, 10, time.Minute); !errors.Is(err, importer.ErrLeaseLost) {
		t.Fatalf("the dead worker's token still writes: %v", err)
	}
}

// TestWorkerRepeatsAcrossOverlappingBatches: the worker stages a batch while
// the one before it commits; a phone repeated in the next batch must still
// end with the later row, counted as updated, and the two transactions must
// not wait on each other (a deadlock would hang this test).
func TestWorkerRepeatsAcrossOverlappingBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	// Batches of 3 rows; every phone appears again two rows later, in the
	// next batch more often than not, and there are runs with no repeats.
	var body strings.Builder
	body.WriteString("phone,name\n")
	const phones = 60
	rows := 0
	for i := range phones {
		fmt.Fprintf(&body, "11 99999-%04d,first %d\n", i, i)
		rows++
		if i%3 != 2 {
			fmt.Fprintf(&body, "11 99999-%04d,last %d\n", i, i)
			rows++
		}
	}
	im, event := b.upload(t, body.String())
	if err := b.worker.HandleMessage(ctx, event); err != nil {
		t.Fatal(err)
	}
	repeated := phones - phones/3
	want := importer.Counts{RowsTotal: rows, Imported: phones, Updated: repeated}
	if got := b.importNow(t, im.ID); got.Status != importer.StatusCompleted || counts(got) != want {
		t.Fatalf("import %s %+v; want completed %+v", got.Status, counts(got), want)
	}
	for i := range phones {
		c, err := b.db.ContactByPhone(ctx, b.tenant.ID, fmt.Sprintf("551199999%04d", i))
		wantName := fmt.Sprintf("last %d", i)
		if i%3 == 2 {
			wantName = fmt.Sprintf("first %d", i)
		}
		if err != nil || c.Name != wantName {
			t.Fatalf("contact %d = %+v, %v; want name %q", i, c, err, wantName)
		}
	}
}

func TestRejectedRowsAreNeutralised(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	im, event := b.upload(t, "phone,name,note\n=1+1,@SUM(A1),-2\n11999990001,Ana,\"+x\x00\"\n")
	if err := b.worker.HandleMessage(ctx, event); err != nil {
		t.Fatal(err)
	}
	got := b.importNow(t, im.ID)
	if got.Status != importer.StatusCompleted || got.RejectedObjectKey == nil {
		t.Fatalf("import = %+v", got)
	}
	obj, err := b.blob.Open(ctx, *got.RejectedObjectKey, "")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(obj.Body).ReadAll()
	_ = obj.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"phone", "name", "note", "line", "reason"},
		{"'=1+1", "'@SUM(A1)", "'-2", "2", "not_a_number"},
		{"11999990001", "Ana", "'+x", "3", "invalid_text"},
	}
	if fmt.Sprint(recs) != fmt.Sprint(want) {
		t.Fatalf("rejected rows CSV = %q, want %q", recs, want)
	}
}

// TestConcurrentImportsOfOneTenant: two imports of one tenant naming the
// same phones run at once, each merging several batches at a time. Every
// batch of one file straddles two of the other's (the second file starts
// one row later), so their transactions wait on each other's rows; neither
// may hang (a batch staged and waiting for its turn to commit holds rows
// that Postgres cannot see it will release) and each phone is inserted by
// exactly one of them.
func TestConcurrentImportsOfOneTenant(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := setup(t)
	const phones = 300
	file := func(first string) string {
		var body strings.Builder
		body.WriteString("phone,name\n" + first)
		for i := range phones {
			fmt.Fprintf(&body, "11 99999-%04d,n %d\n", i, i)
		}
		return body.String()
	}
	imA, eventA := b.upload(t, file(""))
	imB, eventB := b.upload(t, file("11 98888-0000,extra\n"))
	w := *b.worker
	w.Merges = 3
	errs := make(chan error, 2)
	for _, ev := range []string{eventA, eventB} {
		go func() { errs <- w.HandleMessage(ctx, ev) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("import: %v", err)
		}
	}
	a, bb := b.importNow(t, imA.ID), b.importNow(t, imB.ID)
	if a.Status != importer.StatusCompleted || bb.Status != importer.StatusCompleted ||
		a.RowsTotal != phones || bb.RowsTotal != phones+1 || a.Imported+a.Updated != phones || bb.Imported+bb.Updated != phones+1 {
		t.Fatalf("imports %s %+v and %s %+v; want both completed with every row merged", a.Status, counts(a), bb.Status, counts(bb))
	}
	if got := a.Imported + bb.Imported; got != phones+1 {
		t.Fatalf("%d contacts counted as new by the two imports; want %d (each phone new once)", got, phones+1)
	}
	var n int
	if err := b.db.Pool.QueryRow(ctx, "SELECT count(*) FROM contacts WHERE tenant_id = $1", b.tenant.ID).Scan(&n); err != nil || n != phones+1 {
		t.Fatalf("%d contacts (%v); want %d", n, err, phones+1)
	}
}

// TestFailedCommitLeavesStagedBatchesUnapplied: when a commit fails while
// later batches are already staged (merged in their open transactions),
// none of those is applied: the contacts are those of the committed
// batches, the cursor counts them, and the retry merges the rest once.
func TestFailedCommitLeavesStagedBatchesUnapplied(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	var body strings.Builder
	body.WriteString("phone,name\n")
	for i := range 12 {
		fmt.Fprintf(&body, "11 97777-%04d,n %d\n", i, i)
	}
	im, event := b.upload(t, body.String())
	w := *b.worker
	w.Merges = 3
	w.Store = &flakyStore{Store: b.worker.Store, failAt: 2}
	if err := w.HandleMessage(ctx, event); !errors.Is(err, errInjected) {
		t.Fatalf("first run: %v, want the injected failure", err)
	}
	var n int
	if err := b.db.Pool.QueryRow(ctx, "SELECT count(*) FROM contacts WHERE tenant_id = $1", b.tenant.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if mid := b.importNow(t, im.ID); mid.RowsTotal != 3 || n != 3 {
		t.Fatalf("after the failure: %d rows counted, %d contacts; want 3 and 3 (the first batch only)", mid.RowsTotal, n)
	}
	if err := w.HandleMessage(ctx, event); err != nil {
		t.Fatalf("retry: %v", err)
	}
	want := importer.Counts{RowsTotal: 12, Imported: 12}
	if got := b.importNow(t, im.ID); got.Status != importer.StatusCompleted || counts(got) != want {
		t.Fatalf("after the retry: %s %+v; want completed %+v", got.Status, counts(got), want)
	}
}

// expectRecorder is a Store that records each staged batch's ExpectNew.
type expectRecorder struct {
	importer.Store
	mu     sync.Mutex
	expect []bool
}

func (r *expectRecorder) StageBatch(ctx context.Context, job importer.Job, b importer.Batch) (importer.StagedBatch, error) {
	r.mu.Lock()
	r.expect = append(r.expect, b.ExpectNew)
	r.mu.Unlock()
	return r.Store.StageBatch(ctx, job, b)
}

// TestWorkerExpectsNewAfterBatchesOfNewContacts: a batch is staged with
// ExpectNew until a committed batch meets a stored contact (repeats within
// the file do not count), not after, and the outcome is the merge's.
func TestWorkerExpectsNewAfterBatchesOfNewContacts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	if _, _, err := b.db.UpsertContacts(ctx, b.tenant.ID, []importer.Contact{{Phone: "5511999990005", Name: "stored"}}); err != nil {
		t.Fatal(err)
	}
	rec := &expectRecorder{Store: b.worker.Store}
	b.worker.Store, b.worker.Merges = rec, 1
	// Batches of 3: the first repeats a phone, the second holds the stored one.
	body := "phone,name\n11 99999-0001,a\n11 99999-0002,b\n11 99999-0001,c\n" +
		"11 99999-0004,d\n11 99999-0005,e\n11 99999-0006,f\n" +
		"11 99999-0007,g\n11 99999-0008,h\n11 99999-0009,i\n" +
		"11 99999-0010,j\n"
	im, event := b.upload(t, body)
	if err := b.worker.HandleMessage(ctx, event); err != nil {
		t.Fatal(err)
	}
	want := importer.Counts{RowsTotal: 10, Imported: 8, Updated: 2}
	if got := b.importNow(t, im.ID); got.Status != importer.StatusCompleted || counts(got) != want {
		t.Fatalf("import %s %+v; want completed %+v", got.Status, counts(got), want)
	}
	if got := fmt.Sprint(rec.expect); got != "[true true false false]" {
		t.Fatalf("ExpectNew of the batches = %s, want [true true false false]", got)
	}
	for phone, name := range map[string]string{"5511999990001": "c", "5511999990005": "e", "5511999990010": "j"} {
		if c, err := b.db.ContactByPhone(ctx, b.tenant.ID, phone); err != nil || c.Name != name {
			t.Errorf("contact %s = %+v, %v; want name %q", phone, c, err, name)
		}
	}
}
