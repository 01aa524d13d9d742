package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/infra/local"
	"github.com/wuzapi-manager/wuzapi-manager/infra/throwaway"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapitest"
)

const (
	repoRoot = "../.."
	adminKey = "faults-admin-key-0123456789abcdef0123456789"
	dbName   = "wm_faults"
)

// shape is what the short and long forms differ in.
type shape struct {
	plans      []string      // the good tenants' plans
	recipients int           // per campaign
	perMinute  int           // each instance's messagesPerMinute
	baseline   time.Duration // the quiet phase
	minStorm   time.Duration // the storm lasts at least this (its faults may take longer)
	settle     time.Duration // how long campaigns may take to finish after the faults
	// workerKills: also kill the import and report workers mid-work (their
	// recovery waits out the 2-minute import lease, so only the long form).
	workerKills bool
}

func formShape() shape {
	if longForm {
		return shape{plans: []string{"free", "pro", "enterprise"}, recipients: 30, perMinute: 12,
			baseline: 2 * time.Minute, minStorm: 3 * time.Minute, settle: 8 * time.Minute, workerKills: true}
	}
	return shape{plans: []string{"free", "free", "pro"}, recipients: 10, perMinute: 30,
		baseline: 25 * time.Second, minStorm: 30 * time.Second, settle: 4 * time.Minute}
}

// planLimit is the API allowance per minute of each plan.
var planLimit = map[string]int{"free": 100, "pro": 500, "enterprise": 2000}

// Settings of the platform: the template's recovery settings shortened so
// a run takes minutes. The same sums with the template's values are the
// bounds of docs/recovery.md (3 and 5 minutes).
const (
	visibilityLease = 3 * time.Second
	sendLease       = 5 * time.Second
	stuckAfter      = 8 * time.Second
	tick            = time.Second
	pollWait        = time.Second
	sendTimeout     = 20 * time.Second // the worker's WuzAPI timeout (not configurable)
)

// tenant is one tenant of the scenario.
type tenant struct {
	name, plan, key string
	limit           int // API allowance per minute
	index           int
	token           string // its WuzAPI user
	instanceID      string
	webhookURL      string // with its secret

	mu        sync.Mutex
	campaigns []string // in creation order; the last is the open one
}

func (tn *tenant) current() string {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	if len(tn.campaigns) == 0 {
		return ""
	}
	return tn.campaigns[len(tn.campaigns)-1]
}

// suite is one run of the scenario.
type suite struct {
	t     *testing.T
	shape shape
	pg    *throwaway.Postgres
	rs    *throwaway.Redis
	fake  *wuzapitest.Server
	p     *local.Platform
	db    *pgxpool.Pool
	http  *http.Client
	logf  string // the platform's log

	good     []*tenant
	careless *tenant
	importer *tenant // the long form's large import and report
	load     *loadGen
	marks    marks
	recs     []recovery
	bad      carelessResult

	hangOthers int           // other instances' messages while one send hung
	redisDown  time.Duration // how long each restart took
	pgDown     time.Duration
	resumed    int // campaigns resumed after an auto-pause
	importRows string
	importOK   bool
	kills      []time.Time // every SIGKILL
}

// setup starts the servers, the fake WuzAPI and the platform, and creates
// the tenants with their instances.
func setup(t *testing.T) *suite {
	t.Helper()
	redis.SetLogger(quietRedis{}) // its dial retries while a server restarts are expected
	s := &suite{t: t, shape: formShape()}
	s.pg = throwaway.StartPostgres(t)
	s.rs = throwaway.StartRedis(t)
	s.fake = wuzapitest.New(t)
	s.http = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}}
	s.startPlatform()
	pool, err := pgxpool.New(t.Context(), s.pg.URL(dbName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s.db = pool
	for i, plan := range s.shape.plans {
		s.good = append(s.good, s.newTenant(i, fmt.Sprintf("Good %d (%s)", i+1, plan), plan))
	}
	s.careless = s.newTenant(len(s.shape.plans), "Careless", "free")
	if s.shape.workerKills {
		s.importer = s.newTenant(len(s.shape.plans)+1, "Importer", "pro")
	}
	return s
}

func (s *suite) startPlatform() {
	t := s.t
	logf, err := os.CreateTemp("", "wm-faults-*.log")
	if err != nil {
		t.Fatal(err)
	}
	s.logf = logf.Name()
	t.Cleanup(func() {
		_ = logf.Close()
		if !t.Failed() {
			_ = os.Remove(s.logf)
		}
	})
	cfg := local.Config{
		TemplatePath: filepath.Join(repoRoot, "template.yaml"),
		BinDir:       functionBinaries(t),
		StackName:    fmt.Sprintf("wm-faults-%d", time.Now().UnixNano()%1e9),
		DatabaseURL:  s.pg.URL(dbName),
		RedisURL:     s.rs.URL(),
		APIAddr:      "127.0.0.1:0",
		EmulatorAddr: "127.0.0.1:0",
		PollWait:     pollWait,
		// Four instances of each function: with the default two, three
		// tenants' chunks (each invocation holds its slot while it waits
		// out the instance's gap between sends) leave one tenant waiting
		// for a slot, which fair share allows but the baseline would not
		// show as sending. Lambda's own concurrency is far higher.
		Concurrency:      4,
		ScheduleInterval: tick,
		// The queues' own visibility timeouts (6x each worker's Timeout, as
		// on AWS): only the workers' visibility lease brings a dead
		// worker's messages back sooner.
		Parameters: map[string]string{
			"AdminApiKey": adminKey, "AllowPrivateWuzapi": "true",
			"WorkerVisibilityLease": visibilityLease.String(), "SendLeaseTtl": sendLease.String(),
			"CampaignStuckAfter": stuckAfter.String(),
		},
		Logger: slog.New(slog.NewJSONHandler(logf, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	p, err := local.Start(t.Context(), cfg)
	if err != nil {
		t.Fatalf("start the platform: %v (log: %s)", err, s.logf)
	}
	t.Cleanup(func() { _ = p.Close() })
	s.p = p
}

// gapMs spaces an instance's sends evenly at its per-minute limit, so each
// instance sends all the time at exactly its limit.
func (s *suite) gapMs() int { return 60000 / s.shape.perMinute }

// newTenant creates a tenant on plan with one instance on the fake WuzAPI
// whose limits are the scenario's (perMinute a minute, evenly spaced).
func (s *suite) newTenant(i int, name, plan string) *tenant {
	t := s.t
	tn := &tenant{name: name, plan: plan, limit: planLimit[plan], index: i, token: fmt.Sprintf("tok-%d", i)}
	var created struct{ Data struct{ APIKey string } }
	s.mustJSON("POST", "/v1/tenants", adminKey, fmt.Sprintf(`{"name":%q,"plan":%q}`, name, plan), 201, &created)
	tn.key = created.Data.APIKey
	s.fake.AddUser(tn.token, wuzapitest.Ready)
	var inst struct {
		Data struct {
			ID         string `json:"id"`
			WebhookURL string `json:"webhookUrl"`
		}
	}
	s.mustJSON("POST", "/v1/instances", tn.key, fmt.Sprintf(`{"name":"wa %d","baseUrl":%q,"token":%q,
		"messagesPerMinute":%d,"minDelayMs":%d,"maxDelayMs":%d,"hourlyCap":1000,"dailyCap":1000,"warmupDays":0,"maxInFlight":1,
		"newContactsPerDay":500,"newContactsPerHour":200,"identicalPerHour":1000,"typing":false,"checkNumbers":false}`,
		i, s.fake.URL, tn.token, s.shape.perMinute, s.gapMs(), s.gapMs()), 201, &inst)
	tn.instanceID, tn.webhookURL = inst.Data.ID, inst.Data.WebhookURL
	if !strings.Contains(tn.webhookURL, "secret=") {
		t.Fatalf("instance webhookUrl %q carries no secret", tn.webhookURL)
	}
	return tn
}

// campaignBody is a campaign of the scenario's size for tn with phones no
// other campaign of tn uses.
func (s *suite) campaignBody(tn *tenant) string {
	tn.mu.Lock()
	n := len(tn.campaigns)
	tn.mu.Unlock()
	contacts := make([]string, s.shape.recipients)
	for i := range contacts {
		contacts[i] = fmt.Sprintf(`{"phone":"55119%d%02d%05d","name":"C%d"}`, tn.index, n, i, i)
	}
	return fmt.Sprintf(`{"instanceId":%q,"message":"Oi {{name}}, tudo bem?","contacts":[%s]}`, tn.instanceID, strings.Join(contacts, ","))
}

// do sends one API request (through client c, or the suite's).
func (s *suite) do(ctx context.Context, c *http.Client, method, path, bearer, body string) (int, []byte, http.Header, error) {
	if c == nil {
		c = s.http
	}
	u := path
	if !strings.HasPrefix(path, "http") {
		u = s.p.APIURL + path
	}
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header, err
}

// mustJSON sends a request that must answer want and decodes its body.
func (s *suite) mustJSON(method, path, bearer, body string, want int, out any) {
	s.t.Helper()
	status, b, _, err := s.do(s.t.Context(), nil, method, path, bearer, body)
	if err != nil || status != want {
		s.t.Fatalf("%s %s = %d %s (%v), want %d", method, path, status, b, err, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

// clientFrom is an HTTP client whose connections come from a loopback
// address of its own (127.0.0.x), so the API sees it as another client IP.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 8}}
}

// binaries holds the real function binaries, built once per test binary.
var binaries struct {
	once sync.Once
	dir  string
	err  error
}

func functionBinaries(t *testing.T) string {
	t.Helper()
	binaries.once.Do(func() {
		if binaries.dir, binaries.err = os.MkdirTemp("", "wm-faults-bin-"); binaries.err != nil {
			return
		}
		binaries.err = local.BuildFunctions(context.Background(), repoRoot, binaries.dir)
	})
	if binaries.err != nil {
		t.Fatalf("BuildFunctions: %v", binaries.err)
	}
	return binaries.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binaries.dir != "" {
		_ = os.RemoveAll(binaries.dir)
	}
	os.Exit(code)
}

// quietRedis drops go-redis's own log lines.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// jsonField reads a string at path in a JSON body ("" when absent).
func jsonField(b []byte, path ...string) string {
	var v any
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&v); err != nil {
		return ""
	}
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[k]
	}
	s, _ := v.(string)
	return s
}
