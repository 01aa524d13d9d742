//go:build linux

// Package benchplatform measures what the deployed functions cost per API
// request and per send: the real binaries under the local platform (as
// `make run` runs them), a fake WuzAPI answering at once, a Redis of the
// benchmark's own (so its command count and CPU are this run's alone) and
// a database of its own on the local Postgres. CPU is read per process
// group from /proc. Run by `make bench-platform`; figures in
// docs/invocation-costs.md.
package benchplatform

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/infra/local"
	"github.com/wuzapi-manager/wuzapi-manager/infra/throwaway"
	"github.com/wuzapi-manager/wuzapi-manager/internal/benchproc"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapitest"
)

const (
	repoRoot  = "../.."
	adminKey  = "bench-admin-key-0123456789abcdef0123456789"
	campaigns = 100 // × recipients: the send mix
	perCamp   = 200
	// statusRequests at statusClients at once: the status route's load.
	statusRequests = 4000
	statusClients  = 8
	// The safe-pacing phase: safeCampaigns x safePerCamp sends, each
	// instance safeGapMs-safeGapMs+1000 apart.
	safeCampaigns = 20
	safePerCamp   = 6
	safeGapMs     = 6000
	// scheduleLead: a phase's campaigns start this long after the first
	// is created, so their creation is not counted as the sends' cost.
	scheduleLead = 45 * time.Second
)

// functionEnv is set in every function's environment over the template's
// ("NAME=value,NAME=value"): `make bench-platform BENCH_ENV=...` measures a
// setting against the defaults.
var functionEnv = flag.String("platform.env", "", "NAME=value,... set in every function's environment")

// phases chooses what runs (`make bench-platform BENCH_PHASES=status`):
// without send, the status phase reads campaigns scheduled a day ahead
// (the same 100 x 200 recipients, none sent), which takes a minute instead
// of several.
var phases = flag.String("platform.phases", "send,status,safe,init", "comma-separated phases to run: send, status, safe, init")

func phase(name string) bool { return slices.Contains(strings.Split(*phases, ","), name) }

// BenchmarkPlatform prints one PLATFORM line of figures per phase. One
// iteration only: -benchtime 1x.
//
//	make bench-platform
func BenchmarkPlatform(b *testing.B) {
	for b.Loop() {
		e := start(b)
		if phase("send") {
			e.sendPhase(b)
		} else if phase("status") {
			e.scheduleCampaigns(b)
		}
		if phase("status") {
			e.statusPhase(b)
		}
		if phase("safe") {
			e.safePhase(b)
		}
		if phase("init") {
			e.initDurations(b)
			e.coldStarts(b)
		}
	}
}

type env struct {
	p       *local.Platform
	bin     string
	rie     string
	dbName  string
	db      *pgx.Conn
	redis   *redis.Client
	redisPI int
	fake    *wuzapitest.Server
	key     string
	safeKey string // the safe-pacing phase's tenant
	camps   []string
	reports *reports
	client  *client
}

func start(b *testing.B) *env {
	b.Helper()
	ctx := context.Background()
	e := &env{bin: b.TempDir(), reports: &reports{}, client: newClient(statusClients)}
	b.Cleanup(e.client.http.CloseIdleConnections)
	if err := local.BuildFunctions(ctx, repoRoot, e.bin); err != nil {
		b.Fatalf("BuildFunctions: %v", err)
	}
	dbURL, redisURL := e.startStores(b)
	logger := slog.New(e.reports)
	env := map[string]string{}
	for _, kv := range strings.Split(*functionEnv, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	fmt.Printf("PLATFORM env: %v\n", env)
	p, err := local.Start(ctx, local.Config{
		TemplatePath: filepath.Join(repoRoot, "template.yaml"), BinDir: e.bin,
		StackName: fmt.Sprintf("wm-bench-%d", time.Now().UnixNano()), DatabaseURL: dbURL, RedisURL: redisURL,
		APIAddr: "127.0.0.1:0", EmulatorAddr: "127.0.0.1:0", ScheduleInterval: -1,
		// A failed chunk comes back in seconds, not the queue's 6 minutes.
		VisibilityTimeout: 5 * time.Second,
		Parameters:        map[string]string{"AdminApiKey": adminKey, "AllowPrivateWuzapi": "true", "WorkerVisibilityLease": "5s"},
		Environment:       env,
		Logger:            logger,
	})
	if err != nil {
		b.Fatalf("Start: %v", err)
	}
	b.Cleanup(func() { _ = p.Close() })
	e.p = p
	out, err := exec.Command("go", "tool", "-n", "aws-lambda-rie").Output()
	if err != nil {
		b.Fatalf("go tool -n aws-lambda-rie: %v", err)
	}
	e.rie = strings.TrimSpace(string(out))
	e.fake = wuzapitest.New(b)
	e.seed(b)
	return e
}

// startStores starts the benchmark's own Postgres (with
// pg_stat_statements loaded, which needs a server start) and Redis, makes
// the database with the extension, and returns their URLs.
func (e *env) startStores(b *testing.B) (dbURL, redisURL string) {
	b.Helper()
	ctx := context.Background()
	pg := throwaway.StartPostgres(b, "shared_preload_libraries=pg_stat_statements", "pg_stat_statements.max=10000")
	rs := throwaway.StartRedis(b)
	e.redisPI = rs.Pid()
	e.dbName = "wm_bench"
	admin, err := pgx.Connect(ctx, pg.URL("postgres"))
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+e.dbName); err != nil {
		b.Fatal(err)
	}
	if e.db, err = pgx.Connect(ctx, pg.URL(e.dbName)); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.db.Close(context.Background()) })
	if _, err := e.db.Exec(ctx, "CREATE EXTENSION pg_stat_statements"); err != nil {
		b.Fatalf("pg_stat_statements (PostgreSQL's contrib, in Debian's postgresql package): %v", err)
	}
	// The benchmark's own queries (the polls, the counters) are not the
	// functions' cost.
	if _, err := e.db.Exec(ctx, "SET pg_stat_statements.track = 'none'"); err != nil {
		b.Fatal(err)
	}
	opts, _ := redis.ParseURL(rs.URL())
	e.redis = redis.NewClient(opts)
	b.Cleanup(func() { _ = e.redis.Close() })
	return pg.URL(e.dbName), rs.URL()
}

// seed makes an enterprise tenant with one instance per campaign, each
// allowed 1,000 messages a minute with no pauses, no new-contact budget
// and no number checks: the fast limits of a bulk run.
func (e *env) seed(b *testing.B) {
	b.Helper()
	body := e.call(b, "POST", "/v1/tenants", adminKey, map[string]any{"name": "Bench", "plan": "enterprise"}, 201)
	e.key = body["data"].(map[string]any)["apiKey"].(string)
	// The safe-pacing phase's instances belong to a second tenant (the
	// plan allows 100 instances), with a gap above the worker's in-process
	// wait.
	body = e.call(b, "POST", "/v1/tenants", adminKey, map[string]any{"name": "Bench safe", "plan": "enterprise"}, 201)
	e.safeKey = body["data"].(map[string]any)["apiKey"].(string)
	for i := range campaigns + safeCampaigns {
		tok := fmt.Sprintf("tok%d", i)
		e.fake.AddUser(tok, wuzapitest.Ready)
		key, gap := e.key, 0
		if i >= campaigns {
			key, gap = e.safeKey, safeGapMs
		}
		e.call(b, "POST", "/v1/instances", key, map[string]any{"name": fmt.Sprintf("n%d", i), "baseUrl": e.fake.URL, "token": tok,
			"minDelayMs": gap, "maxDelayMs": gap + min(gap, 1000), "messagesPerMinute": 1000, "hourlyCap": 100000, "dailyCap": 100000,
			"warmupDays": 0}, 201)
	}
	if _, err := e.db.Exec(context.Background(), `UPDATE instances SET new_contacts_per_day = 500, new_contacts_per_hour = 200,
		identical_per_hour = 1000, typing = false, check_numbers = false`); err != nil {
		b.Fatal(err)
	}
}

func (e *env) call(b *testing.B, method, path, key string, in any, want int) map[string]any {
	b.Helper()
	status, out := e.do(method, path, key, in)
	if status != want {
		b.Fatalf("%s %s = %d %v, want %d", method, path, status, out, want)
	}
	return out
}

func (e *env) do(method, path, key string, in any) (int, map[string]any) {
	var rd io.Reader
	if in != nil {
		j, _ := json.Marshal(in)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, e.p.APIURL+path, rd)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := e.client.do(req)
	if err != nil {
		return 0, map[string]any{"error": err.Error()}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// client is the benchmark's HTTP client: its transport keeps an idle
// connection for each of conns clients at once, so that each reuses its
// own and no phase pays for new connections on the API's side.
type client struct {
	http     *http.Client
	newConns atomic.Int64 // connections opened so far
}

func newClient(conns int) *client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = conns
	return &client{http: &http.Client{Transport: t}}
}

// do sends req, counting the connection it got when it is a new one.
func (c *client) do(req *http.Request) (*http.Response, error) {
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		if !i.Reused {
			c.newConns.Add(1)
		}
	}}
	return c.http.Do(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
}

// group is the CPU of one function's processes: its bootstraps, and the
// emulator (aws-lambda-rie) processes that run them.
func (e *env) group(fn string) (bootstrap, rie []int) {
	boot := filepath.Join(e.bin, fn, "bootstrap")
	return benchproc.Exe(boot), benchproc.Find(func(cmd string) bool {
		return strings.HasPrefix(cmd, e.rie) && strings.HasSuffix(cmd, boot)
	})
}

// counters are what Postgres and Redis count for the run.
type counters struct {
	xacts, returned, fetched, written, redisCmds int64
}

// waitStats waits out Postgres's 10-second flush of idle backends' statistics.
func waitStats() { <-time.After(11 * time.Second) }

func (e *env) counters(b *testing.B) counters {
	b.Helper()
	var c counters
	if err := e.db.QueryRow(context.Background(), `SELECT xact_commit + xact_rollback, tup_returned, tup_fetched,
		tup_inserted + tup_updated + tup_deleted FROM pg_stat_database WHERE datname = current_database()`).
		Scan(&c.xacts, &c.returned, &c.fetched, &c.written); err != nil {
		b.Fatal(err)
	}
	info, err := e.redis.Info(context.Background(), "stats").Result()
	if err != nil {
		b.Fatal(err)
	}
	if m := regexp.MustCompile(`total_commands_processed:(\d+)`).FindStringSubmatch(info); m != nil {
		c.redisCmds, _ = strconv.ParseInt(m[1], 10, 64)
	}
	return c
}

// storesCPU samples Postgres's backends of the database and the Redis.
func (e *env) storesCPU() (pg, rd benchproc.Sample) {
	return benchproc.Snapshot(benchproc.PostgresBackends(e.dbName)), benchproc.Snapshot([]int{e.redisPI})
}

// sendPhase sends campaigns x perCamp at the fast limits of a bulk run.
func (e *env) sendPhase(b *testing.B) { e.sends(b, "send", campaigns, perCamp) }

// safePhase sends safeCampaigns x safePerCamp on instances of their own
// (no new-contact budget spent yet) whose gap between sends (safeGapMs)
// is above the worker's in-process wait (5 s): each send is then its own
// invocation, the chunk handed back to the queue after it until the gap
// has passed, the path of a 45-90 s pacing.
func (e *env) safePhase(b *testing.B) { e.sends(b, "safe", safeCampaigns, safePerCamp) }

// sends creates camps campaigns of per recipients through the API,
// scheduled to start once all are created, and measures from their start
// until every recipient is settled: the worker's CPU is its own
// processes', the stores' counts are the sends' alone.
func (e *env) sends(b *testing.B, phase string, camps, per int) {
	b.Helper()
	sent0 := len(e.fake.Sends())
	at := time.Now().Add(scheduleLead)
	first, key := 0, e.key // the phase's instances: the bulk phase's first, the safe phase's after them
	if phase == "safe" {
		first, key = campaigns, e.safeKey
	}
	for i := range camps {
		contacts := make([]any, per)
		for j := range contacts {
			contacts[j] = fmt.Sprintf("55%s9%03d%05d", map[string]string{"send": "11", "safe": "21"}[phase], i, j)
		}
		out := e.call(b, "POST", "/v1/campaigns", key, map[string]any{"instanceId": e.instanceID(b, first+i),
			"message": "Oi {{name}}, lote " + strconv.Itoa(i), "contacts": contacts, "scheduledAt": at.UTC().Format(time.RFC3339)}, 202)
		if phase == "send" {
			e.camps = append(e.camps, out["data"].(map[string]any)["jobId"].(string))
		}
	}
	if time.Now().After(at) || len(e.fake.Sends()) != sent0 {
		b.Fatalf("%s: creating %d campaigns took longer than their %s lead", phase, camps, scheduleLead)
	}
	waitStats()
	c0 := e.counters(b)
	attr := e.beginAttribution(b)
	wb, wr := e.group("campaign-worker")
	boot0, rie0 := benchproc.Snapshot(wb), benchproc.Snapshot(wr)
	pg0, rd0 := e.storesCPU()
	e.reports.reset()
	<-time.After(time.Until(at))
	start := time.Now()
	e.waitSettled(b)
	wall := time.Since(start)
	wb, wr = e.group("campaign-worker")
	boot, rie := benchproc.Snapshot(wb).Since(boot0), benchproc.Snapshot(wr).Since(rie0)
	pg1, rd1 := e.storesCPU()
	pgCPU, rdCPU := pg1.Since(pg0), rd1.Since(rd0)
	attr.print(b, e, phase, float64(len(e.fake.Sends())-sent0))
	waitStats()
	c1 := e.counters(b)
	sends := float64(len(e.fake.Sends()) - sent0)
	if int(sends) != camps*per {
		b.Errorf("%s: %d sends, want %d (each recipient once)", phase, int(sends), camps*per)
	}
	inv := e.reports.durations("CampaignWorkerFunction")
	fmt.Printf("PLATFORM %s: %d sends (%d campaigns x %d) in %.1fs; %d worker invocations (%.2f sends each)\n",
		phase, int(sends), camps, per, wall.Seconds(), len(inv), sends/float64(max(len(inv), 1)))
	fmt.Printf("PLATFORM %s: worker CPU %.2fs (rie %.2fs), Postgres backends %.2fs, Redis %.2fs\n",
		phase, boot.Seconds(), rie.Seconds(), pgCPU.Seconds(), rdCPU.Seconds())
	fmt.Printf("PLATFORM %s: %.0f sends per worker CPU-second; %.0f with Postgres and Redis\n",
		phase, sends/boot.Seconds(), sends/(boot+pgCPU+rdCPU).Seconds())
	fmt.Printf("PLATFORM %s: per send: %.2f Postgres transactions, %.1f rows returned, %.1f fetched, %.1f written; %.2f Redis commands; %.3f ms Postgres CPU, %.3f ms Redis CPU, %.3f ms worker CPU\n",
		phase, float64(c1.xacts-c0.xacts)/sends, float64(c1.returned-c0.returned)/sends, float64(c1.fetched-c0.fetched)/sends,
		float64(c1.written-c0.written)/sends, float64(c1.redisCmds-c0.redisCmds)/sends, pgCPU.Seconds()*1000/sends,
		rdCPU.Seconds()*1000/sends, boot.Seconds()*1000/sends)
	fmt.Printf("PLATFORM %s: worker invocation duration p50 %.1f ms, p99 %.1f ms, sum %.1f s (%.2f ms billed per send)\n",
		phase, pct(inv, 50), pct(inv, 99), sum(inv)/1000, sum(inv)/sends)
}

// scheduleCampaigns creates the send phase's campaigns scheduled a day
// ahead, so that the status phase has them without sending them.
func (e *env) scheduleCampaigns(b *testing.B) {
	b.Helper()
	at := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	for i := range campaigns {
		contacts := make([]any, perCamp)
		for j := range contacts {
			contacts[j] = fmt.Sprintf("55119%03d%05d", i, j)
		}
		out := e.call(b, "POST", "/v1/campaigns", e.key, map[string]any{"instanceId": e.instanceID(b, i),
			"message": "Oi {{name}}, lote " + strconv.Itoa(i), "contacts": contacts, "scheduledAt": at}, 202)
		e.camps = append(e.camps, out["data"].(map[string]any)["jobId"].(string))
	}
	// The rate limit the creations spent is back before the status phase.
	if err := e.redis.FlushAll(context.Background()).Err(); err != nil {
		b.Fatal(err)
	}
	waitStats()
}

func (e *env) instanceID(b *testing.B, i int) string {
	b.Helper()
	var id string
	if err := e.db.QueryRow(context.Background(), "SELECT id::text FROM instances WHERE name = $1", fmt.Sprintf("n%d", i)).Scan(&id); err != nil {
		b.Fatal(err)
	}
	return id
}

func (e *env) waitSettled(b *testing.B) {
	b.Helper()
	deadline := time.Now().Add(20 * time.Minute)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		var open int
		if err := e.db.QueryRow(context.Background(), `SELECT count(*) FROM campaigns WHERE status <> 'completed'`).Scan(&open); err != nil {
			b.Fatal(err)
		}
		if open == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d campaigns not completed within 20 minutes", open)
		}
		<-tick.C
	}
}

// statusPhase drives GET /v1/campaigns/{id}/status at the enterprise
// plan's real limit: 200s and 429s as the limiter gives them.
func (e *env) statusPhase(b *testing.B) {
	b.Helper()
	ab, ar := e.group("api")
	boot0, rie0 := benchproc.Snapshot(ab), benchproc.Snapshot(ar)
	threads0 := sampleThreads(ab)
	pg0, rd0 := e.storesCPU()
	c0, conns0 := e.counters(b), e.client.newConns.Load()
	attr := e.beginAttribution(b)
	e.reports.reset()
	var mu sync.Mutex
	codes := map[int]int{}
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range statusClients {
		wg.Go(func() {
			for i := range next {
				st, _ := e.do("GET", "/v1/campaigns/"+e.camps[i%len(e.camps)]+"/status", e.key, nil)
				mu.Lock()
				codes[st]++
				mu.Unlock()
			}
		})
	}
	for i := range statusRequests {
		next <- i
	}
	close(next)
	wg.Wait()
	wall, conns := time.Since(start), e.client.newConns.Load()-conns0
	ab, ar = e.group("api")
	boot, rie := benchproc.Snapshot(ab).Since(boot0), benchproc.Snapshot(ar).Since(rie0)
	threads1 := sampleThreads(ab)
	pg1, rd1 := e.storesCPU()
	attr.print(b, e, "status", statusRequests)
	waitStats()
	c1 := e.counters(b)
	d := e.reports.durations("ApiFunction")
	n := float64(statusRequests)
	fmt.Printf("PLATFORM status: %d requests in %.1fs (%d x 200, %d x 429, other %d) over %d new connections from %d clients\n",
		statusRequests, wall.Seconds(), codes[200], codes[429], statusRequests-codes[200]-codes[429], conns, statusClients)
	fmt.Printf("PLATFORM status: %.0f requests per api CPU-second (api %.2fs); %.0f with its rie (%.2fs)\n",
		n/boot.Seconds(), boot.Seconds(), n/(boot+rie).Seconds(), rie.Seconds())
	fmt.Printf("PLATFORM status: api duration p50 %.2f ms, p99 %.2f ms, mean %.2f ms (%d REPORT lines)\n", pct(d, 50), pct(d, 99), sum(d)/float64(max(len(d), 1)), len(d))
	fmt.Printf("PLATFORM status: per request: %.2f Postgres transactions, %.2f Redis commands; Postgres %.3f ms, Redis %.3f ms CPU\n",
		float64(c1.xacts-c0.xacts)/n, float64(c1.redisCmds-c0.redisCmds)/n, pg1.Since(pg0).Seconds()*1000/n, rd1.Since(rd0).Seconds()*1000/n)
	printThreads("status", "api", threads0, threads1, n)
	printTail("status", e.reports.invocations("ApiFunction"), 2)
}

// initDurations prints each function's init durations as aws-lambda-rie
// reports them (every instance's first REPORT), over the whole run: RIE's
// own init phase, which starts after the process is up, so not a cold
// start (coldStarts measures that).
func (e *env) initDurations(b *testing.B) {
	b.Helper()
	for _, fn := range []string{"ApiFunction", "CampaignWorkerFunction"} {
		in := e.reports.inits(fn)
		fmt.Printf("PLATFORM init: %s %d cold starts, max %.1f ms, values %v\n", fn, len(in), pct(in, 100), in)
	}
}

func sum(v []float64) float64 {
	t := 0.0
	for _, x := range v {
		t += x
	}
	return t
}

func pct(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

// reports collects aws-lambda-rie's REPORT lines from the platform's log:
// the duration of each invocation and, on an instance's first, its init.
type reports struct {
	mu       sync.Mutex
	dur      map[string][]float64
	init     map[string][]float64
	invs     map[string][]invocation // dur's, with when and where
	warnings int
}

var (
	durRe  = regexp.MustCompile(`\tDuration: ([0-9.]+) ms`)
	initRe = regexp.MustCompile(`Init Duration: ([0-9.]+) ms`)
)

func (r *reports) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dur = map[string][]float64{}
	r.invs = map[string][]invocation{}
}

// invocations returns fn's invocations since the last reset.
func (r *reports) invocations(fn string) []invocation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.invs[fn])
}

func (r *reports) durations(fn string) []float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.dur[fn])
}

func (r *reports) inits(fn string) []float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.init[fn])
}

func (r *reports) Enabled(context.Context, slog.Level) bool { return true }

func (r *reports) Handle(_ context.Context, rec slog.Record) error {
	if rec.Level >= slog.LevelWarn {
		r.mu.Lock()
		r.warnings++
		if r.warnings <= 5 {
			var attrs []string
			rec.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a.String()); return true })
			fmt.Printf("PLATFORM warning: %s %s\n", rec.Message, strings.Join(attrs, " "))
		}
		r.mu.Unlock()
	}
	if !strings.HasPrefix(rec.Message, "REPORT RequestId:") {
		return nil
	}
	fn, instance := "", int64(0)
	rec.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "function":
			fn = a.Value.String()
		case "instance":
			instance = a.Value.Int64()
		}
		return true
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dur == nil {
		r.dur = map[string][]float64{}
	}
	if r.init == nil {
		r.init = map[string][]float64{}
	}
	if r.invs == nil {
		r.invs = map[string][]invocation{}
	}
	if m := durRe.FindStringSubmatch(rec.Message); m != nil {
		v, _ := strconv.ParseFloat(m[1], 64)
		r.dur[fn] = append(r.dur[fn], v)
		r.invs[fn] = append(r.invs[fn], invocation{at: rec.Time, instance: int(instance), ms: v})
	}
	if m := initRe.FindStringSubmatch(rec.Message); m != nil {
		v, _ := strconv.ParseFloat(m[1], 64)
		r.init[fn] = append(r.init[fn], v)
	}
	return nil
}

// WithAttrs keeps the function name the platform adds with Logger.With;
// the handler state is shared, so every derived logger feeds one report.
func (r *reports) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &derived{r: r, attrs: attrs}
}

func (r *reports) WithGroup(string) slog.Handler { return r }

type derived struct {
	r     *reports
	attrs []slog.Attr
}

func (d *derived) Enabled(context.Context, slog.Level) bool { return true }

func (d *derived) Handle(ctx context.Context, rec slog.Record) error {
	rec.AddAttrs(d.attrs...)
	return d.r.Handle(ctx, rec)
}

func (d *derived) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &derived{r: d.r, attrs: append(slices.Clone(d.attrs), attrs...)}
}

func (d *derived) WithGroup(string) slog.Handler { return d }
