package local

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/jackc/pgx/v5"
)

const (
	repoRoot      = "../.."
	pgServerURL   = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	testRedisURL  = "redis://127.0.0.1:6379/0"
	e2eAdminKey   = "e2e-admin-key-0123456789abcdef0123456789"
	e2eVisibility = 2 * time.Second
)

// newTestDatabase names a database that does not exist yet (the platform
// creates it) and drops it when the test ends.
func newTestDatabase(t *testing.T) string {
	t.Helper()
	name := randomName("wm_e2e_")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, pgServerURL)
		if err != nil {
			t.Errorf("connect to drop %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, _ := url.Parse(pgServerURL)
	u.Path = "/" + name
	return u.String()
}

// TestEndToEnd runs the real function binaries on the local platform:
// gateway -> api, and a poison message through campaign-worker to the DLQ.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	cfg := e2eConfig(t, "wm-e2e-")
	cfg.ScheduleInterval = 2 * time.Second
	p := startPlatform(t, cfg)

	t.Run("health", func(t *testing.T) {
		status, body := call(t, p.APIURL, http.MethodGet, "/health", "", "")
		if status != http.StatusOK {
			t.Fatalf("GET /health = %d %s, want 200", status, body)
		}
	})

	var tenantKey string
	t.Run("create tenant", func(t *testing.T) {
		status, body := call(t, p.APIURL, http.MethodPost, "/v1/tenants", e2eAdminKey, `{"name":"Acme"}`)
		if status != http.StatusCreated {
			t.Fatalf("POST /v1/tenants = %d %s, want 201", status, body)
		}
		var resp struct {
			Data struct {
				APIKey string `json:"apiKey"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &resp); err != nil || resp.Data.APIKey == "" {
			t.Fatalf("POST /v1/tenants body %s: no data.apiKey (%v)", body, err)
		}
		tenantKey = resp.Data.APIKey
	})

	t.Run("me", func(t *testing.T) {
		if tenantKey == "" {
			t.Fatal("no tenant key: create tenant failed")
		}
		status, body := call(t, p.APIURL, http.MethodGet, "/v1/me", tenantKey, "")
		if status != http.StatusOK || !strings.Contains(string(body), `"Acme"`) {
			t.Fatalf("GET /v1/me = %d %s, want 200 with the tenant name", status, body)
		}
	})

	t.Run("unknown route through the gateway", func(t *testing.T) {
		status, body := call(t, p.APIURL, http.MethodGet, "/no/such/route?x=1", "", "")
		if status != http.StatusNotFound || !strings.Contains(string(body), `"NOT_FOUND"`) {
			t.Fatalf("GET /no/such/route = %d %s, want 404 NOT_FOUND", status, body)
		}
	})

	t.Run("poison message reaches the DLQ after 3 receives", func(t *testing.T) {
		sqsc := p.AWS().SQS
		main := p.Resources.Queues["CampaignsQueue"]
		dlq := p.Resources.Queues["CampaignsDLQ"]
		const poison = `{"v":99,"type":"nonsense"}`
		sent, err := sqsc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(main.URL), MessageBody: aws.String(poison)})
		if err != nil {
			t.Fatalf("send to %s: %v", main.Name, err)
		}
		var got sqstypes.Message
		eventually(t, 60*time.Second, "the poison message in "+dlq.Name, func(ctx context.Context) (bool, error) {
			out, err := sqsc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
				QueueUrl:                    aws.String(dlq.URL),
				WaitTimeSeconds:             1,
				MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
			})
			if err != nil || len(out.Messages) == 0 {
				return false, err
			}
			got = out.Messages[0]
			return true, nil
		})
		if aws.ToString(got.MessageId) != aws.ToString(sent.MessageId) || aws.ToString(got.Body) != poison {
			t.Errorf("DLQ message = %s %s, want %s %s", aws.ToString(got.MessageId), aws.ToString(got.Body), aws.ToString(sent.MessageId), poison)
		}
		attrs, err := sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl:       aws.String(main.URL),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages},
		})
		if err != nil {
			t.Fatalf("attributes of %s: %v", main.Name, err)
		}
		if n := attrs.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)]; n != "0" {
			t.Errorf("%s holds %s visible messages, want 0", main.Name, n)
		}
	})

	t.Run("Close stops every process", func(t *testing.T) {
		pids := p.pids()
		// 5 functions x 2 RIE processes, plus the function processes that
		// have been invoked (api, campaign-worker, scheduler at least).
		if len(pids) < 13 {
			t.Fatalf("platform runs %d processes %v, want every RIE and the invoked functions", len(pids), pids)
		}
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		for _, pid := range pids {
			if running(pid) {
				t.Errorf("process %d still runs after Close", pid)
			}
		}
		select {
		case <-p.Done():
		default:
			t.Error("Done is not closed after Close")
		}
	})
}

// call sends one request and returns the status and body.
func call(t *testing.T, base, method, path, bearer, body string) (int, []byte) {
	t.Helper()
	status, b, _ := callHeaders(t, base, method, path, bearer, body)
	return status, b
}
