package local

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// TestImportEndToEnd uploads a CSV the way a client does, through the
// presigned PUT the API hands out, and lets the platform do the rest: the
// S3 notification reaches the imports queue, the poller invokes the real
// import-worker binary, and the API reports the counts. The same event
// delivered again changes nothing.
func TestImportEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	cfg := e2eConfig(t, "wm-imp-")
	cfg.ScheduleInterval = time.Minute
	p := startPlatform(t, cfg)

	var tenant struct {
		Data struct{ APIKey string } `json:"data"`
	}
	decode(t, call2(t, p.APIURL, "POST", "/v1/tenants", e2eAdminKey, `{"name":"Importer","defaultCountry":"BR"}`, 201), &tenant)
	key := tenant.Data.APIKey

	var created struct {
		Data struct {
			ImportID  string            `json:"importId"`
			UploadURL string            `json:"uploadUrl"`
			Method    string            `json:"method"`
			Headers   map[string]string `json:"headers"`
		} `json:"data"`
	}
	decode(t, call2(t, p.APIURL, "POST", "/v1/imports", key, `{"fileName":"clientes.csv"}`, 201), &created)
	up := created.Data

	// Latin-1, semicolons, a quoted newline, a bad phone and a repeat.
	csvBody := "Telefone;Nome;Cidade\n" +
		"11 99999-0001;Jos\xe9;S\xe3o Paulo\n" +
		"12;Curto;X\n" +
		"11 99999-0002;\"Ana\nMaria\";Rio\n" +
		"+55 11 99999-0001;Jos\xe9 Silva;\n"
	req, _ := http.NewRequestWithContext(ctx, up.Method, up.UploadURL, strings.NewReader(csvBody))
	for k, v := range up.Headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("PUT to the presigned URL: %v %v", resp, err)
	}
	_ = resp.Body.Close()

	type importView struct {
		Status          string  `json:"status"`
		RowsTotal       int     `json:"rowsTotal"`
		Imported        int     `json:"imported"`
		Updated         int     `json:"updated"`
		Rejected        int     `json:"rejected"`
		Progress        int     `json:"progress"`
		Error           *string `json:"error"`
		RejectedRowsURL string  `json:"rejectedRowsUrl"`
	}
	get := func() importView {
		var v struct{ Data importView }
		decode(t, call2(t, p.APIURL, "GET", "/v1/imports/"+up.ImportID, key, "", 200), &v)
		return v.Data
	}
	var done importView
	eventually(t, 90*time.Second, "the import to finish", func(context.Context) (bool, error) {
		done = get()
		return done.Status == "completed" || done.Status == "failed", nil
	})
	want := importView{Status: "completed", RowsTotal: 4, Imported: 2, Updated: 1, Rejected: 1, Progress: 100}
	if got := done; got.Status != want.Status || got.RowsTotal != want.RowsTotal || got.Imported != want.Imported ||
		got.Updated != want.Updated || got.Rejected != want.Rejected || got.Progress != 100 || got.Error != nil {
		t.Fatalf("import = %+v, want %+v", got, want)
	}

	var contacts struct {
		Data struct {
			Items []struct {
				Phone      string            `json:"phone"`
				Name       string            `json:"name"`
				Attributes map[string]string `json:"attributes"`
			} `json:"items"`
		} `json:"data"`
	}
	decode(t, call2(t, p.APIURL, "GET", "/v1/contacts?importId="+up.ImportID, key, "", 200), &contacts)
	var got []string
	for _, c := range contacts.Data.Items {
		got = append(got, fmt.Sprintf("%s|%s|%s", c.Phone, c.Name, c.Attributes["Cidade"]))
	}
	sort.Strings(got)
	if fmt.Sprint(got) != fmt.Sprint([]string{"5511999990001|José Silva|São Paulo", "5511999990002|Ana\nMaria|Rio"}) {
		t.Fatalf("contacts = %q", got)
	}

	rresp, err := http.Get(done.RejectedRowsURL)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(rresp.Body).ReadAll()
	_ = rresp.Body.Close()
	if err != nil || fmt.Sprint(rows) != "[[Telefone Nome Cidade line reason] [12 Curto X 3 too_short]]" {
		t.Fatalf("rejected rows = %q, %v", rows, err)
	}

	// At least once: the same S3 event again (as kumo writes it), and the
	// same file uploaded again. Neither re-runs the completed import.
	q := p.Resources.Queues["ImportsQueue"]
	var bucket string
	for _, b := range p.Resources.Buckets {
		bucket = b.Name
	}
	objectKey := strings.TrimPrefix(mustPath(t, up.UploadURL), "/"+bucket+"/")
	event := fmt.Sprintf(`{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":%q},"object":{"key":%q,"size":%d}}}]}`,
		bucket, url.QueryEscape(objectKey), len(csvBody))
	sqsc := p.AWS().SQS
	if _, err := sqsc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(event)}); err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequestWithContext(ctx, up.Method, up.UploadURL, strings.NewReader(csvBody))
	for k, v := range up.Headers {
		req.Header.Set(k, v)
	}
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("second PUT: %v %v", resp, err)
	} else {
		_ = resp.Body.Close()
	}
	eventually(t, 60*time.Second, "the imports queue to drain", func(ctx context.Context) (bool, error) {
		out, err := sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(q.URL),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
		if err != nil {
			return false, err
		}
		a := out.Attributes
		return a[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)] == "0" &&
			a[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)] == "0", nil
	})
	if again := get(); again.Status != "completed" || again.RowsTotal != 4 || again.Imported != 2 || again.Updated != 1 || again.Rejected != 1 {
		t.Fatalf("after the event twice: %+v, want the same counts", again)
	}
	dlq := p.Resources.Queues["ImportsDLQ"]
	out, err := sqsc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlq.URL), WaitTimeSeconds: 0})
	if err != nil || len(out.Messages) != 0 {
		t.Fatalf("imports DLQ holds %d messages (%v); redeliveries must be acknowledged", len(out.Messages), err)
	}
}

// call2 is call that also checks the status.
func call2(t *testing.T, base, method, path, bearer, body string, status int) []byte {
	t.Helper()
	got, b := call(t, base, method, path, bearer, body)
	if got != status {
		t.Fatalf("%s %s = %d %s, want %d", method, path, got, b, status)
	}
	return b
}

func decode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

func mustPath(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}
