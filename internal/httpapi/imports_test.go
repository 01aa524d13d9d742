package httpapi_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/awstest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/blob"
	"github.com/wuzapi-manager/wuzapi-manager/internal/httpapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/importer"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
)

// importSetup is setup with uploads on an in-process S3 and a worker on
// the same database, run by the test where the queue would.
func importSetup(t *testing.T) (bundle, *importer.Worker) {
	t.Helper()
	env := awstest.New(t)
	store := blob.New(env.S3, env.Bucket(t))
	var db *postgres.DB
	b := setup(t, func(o *httpapi.Options) {
		o.Uploads = store
		o.ImportMaxBytes = 1 << 20
		db = o.DB
	})
	w := &importer.Worker{Store: postgres.ImportStore{DB: db}, Objects: store, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return b, w
}

func put(t *testing.T, data any, body string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), dig(data, "method").(string), dig(data, "uploadUrl").(string), strings.NewReader(body))
	for k, v := range dig(data, "headers").(map[string]any) {
		req.Header.Set(k, v.(string))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("PUT to the upload URL: %v %v", resp, err)
	}
	_ = resp.Body.Close()
}

func TestImportRoutes(t *testing.T) {
	t.Parallel()
	b, w := importSetup(t)
	tenantID, key := b.newTenant(t, map[string]any{"name": "Importer"})
	_, otherKey := b.newTenant(t, map[string]any{"name": "Other"})

	r := b.do(t, "POST", "/v1/imports", key, map[string]any{"fileName": "clientes.csv"})
	data := dig(r.Body, "data")
	id, _ := dig(data, "importId").(string)
	if r.Status != 201 || id == "" || dig(data, "method") != "PUT" || dig(data, "maxBytes") != float64(1<<20) ||
		dig(data, "headers", "Content-Type") != "text/csv" {
		t.Fatalf("POST /v1/imports = %d %s", r.Status, r.Raw)
	}
	if !strings.Contains(dig(data, "uploadUrl").(string), "imports/"+tenantID+"/"+id+".csv") {
		t.Fatalf("uploadUrl %s is not imports/{tenantId}/{importId}.csv", dig(data, "uploadUrl"))
	}
	exp, err := time.Parse(time.RFC3339, dig(data, "expiresAt").(string))
	if err != nil || time.Until(exp) > 16*time.Minute || time.Until(exp) < 10*time.Minute {
		t.Fatalf("expiresAt = %v, %v; want about 15 minutes from now", dig(data, "expiresAt"), err)
	}

	r = b.do(t, "GET", "/v1/imports/"+id, key, nil)
	if r.Status != 200 || dig(r.Body, "data", "status") != "pending" || dig(r.Body, "data", "progress") != float64(0) {
		t.Fatalf("pending import = %d %s", r.Status, r.Raw)
	}
	if _, has := dig(r.Body, "data").(map[string]any)["rejectedRowsUrl"]; has {
		t.Fatalf("rejectedRowsUrl shown with nothing rejected: %s", r.Raw)
	}

	put(t, data, "phone,name\n11999990001,Ana\nxx,Bad\n11999990001,Ana B\n")
	if err := w.Run(context.Background(), importer.ObjectKey(tenantID, id)); err != nil {
		t.Fatal(err)
	}
	r = b.do(t, "GET", "/v1/imports/"+id, key, nil)
	d := dig(r.Body, "data")
	if r.Status != 200 || dig(d, "status") != "completed" || dig(d, "rowsTotal") != float64(3) || dig(d, "imported") != float64(1) ||
		dig(d, "updated") != float64(1) || dig(d, "rejected") != float64(1) || dig(d, "progress") != float64(100) || dig(d, "error") != nil {
		t.Fatalf("completed import = %d %s", r.Status, r.Raw)
	}
	resp, err := http.Get(dig(d, "rejectedRowsUrl").(string))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(resp.Body).ReadAll()
	_ = resp.Body.Close()
	if err != nil || fmt.Sprint(recs) != "[[phone name line reason] [xx Bad 3 not_a_number]]" {
		t.Fatalf("rejected rows = %q, %v", recs, err)
	}

	r = b.do(t, "GET", "/v1/imports?limit=10", key, nil)
	if items, _ := dig(r.Body, "data", "items").([]any); r.Status != 200 || len(items) != 1 || dig(items[0], "id") != id || dig(items[0], "fileName") != "clientes.csv" {
		t.Fatalf("GET /v1/imports = %d %s", r.Status, r.Raw)
	}
	r = b.do(t, "GET", "/v1/contacts?importId="+id, key, nil)
	if items, _ := dig(r.Body, "data", "items").([]any); r.Status != 200 || len(items) != 1 || dig(items[0], "name") != "Ana B" {
		t.Fatalf("contacts of the import = %d %s", r.Status, r.Raw)
	}

	for _, tt := range []struct {
		name, method, path, key string
		body                    any
		status                  int
		code                    string
	}{
		{"another tenant's import", "GET", "/v1/imports/" + id, otherKey, nil, 404, "NOT_FOUND"},
		{"not a uuid", "GET", "/v1/imports/nope", key, nil, 404, "NOT_FOUND"},
		{"file name too long", "POST", "/v1/imports", key, map[string]any{"fileName": strings.Repeat("x", 256)}, 400, "VALIDATION_FAILED"},
		{"file name not a string", "POST", "/v1/imports", key, `{"fileName":1}`, 400, "VALIDATION_FAILED"},
		{"no key", "POST", "/v1/imports", "", nil, 401, "UNAUTHORIZED"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := b.do(t, tt.method, tt.path, tt.key, tt.body)
			if r.Status != tt.status || dig(r.Body, "code") != tt.code {
				t.Fatalf("%s %s = %d %s; want %d %s", tt.method, tt.path, r.Status, r.Raw, tt.status, tt.code)
			}
		})
	}
	if r := b.do(t, "POST", "/v1/imports", key, nil); r.Status != 201 {
		t.Fatalf("POST /v1/imports without a body = %d %s", r.Status, r.Raw)
	}
}

func TestImportsUnavailableWithoutBucket(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, key := b.newTenant(t, map[string]any{"name": "NoBucket"})
	if r := b.do(t, "POST", "/v1/imports", key, nil); r.Status != 503 || dig(r.Body, "code") != "UNAVAILABLE" {
		t.Fatalf("POST /v1/imports without uploads = %d %s", r.Status, r.Raw)
	}
}
