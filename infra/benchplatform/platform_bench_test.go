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
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/infra/local"
	"github.com/wuzapi-manager/wuzapi-manager/internal/benchproc"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
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
)

// functionEnv is set in every function's environment over the template's
// ("NAME=value,NAME=value"): `make bench-platform BENCH_ENV=...` measures a
// setting against the defaults.
var functionEnv = flag.String("platform.env", "", "NAME=value,... set in every function's environment")

// BenchmarkPlatform prints one PLATFORM line of figures per phase. One
// iteration only: -benchtime 1x.
//
//	make bench-platform
func BenchmarkPlatform(b *testing.B) {
	for b.Loop() {
		e := start(b)
		e.sendPhase(b)
		e.statusPhase(b)
		e.initDurations(b)
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
	camps   []string
	reports *reports
}

func start(b *testing.B) *env {
	b.Helper()
	ctx := context.Background()
	e := &env{bin: b.TempDir(), reports: &reports{}}
	if err := local.BuildFunctions(ctx, repoRoot, e.bin); err != nil {
		b.Fatalf("BuildFunctions: %v", err)
	}
	redisURL := e.startRedis(b)
	e.dbName = fmt.Sprintf("wm_bench_%d", time.Now().UnixNano())
	u, _ := url.Parse(pgtest.ServerURL())
	u.Path = "/" + e.dbName
	b.Cleanup(func() { dropDatabase(e.dbName) })
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
		StackName: fmt.Sprintf("wm-bench-%d", time.Now().UnixNano()), DatabaseURL: u.String(), RedisURL: redisURL,
		APIAddr: "127.0.0.1:0", EmulatorAddr: "127.0.0.1:0", ScheduleInterval: -1,
		// A failed chunk comes back in seconds, not the queue's 6 minutes.
		VisibilityTimeout: 5 * time.Second,
		Parameters:        map[string]string{"AdminApiKey": adminKey, "AllowPrivateWuzapi": "true", "WorkerVisibilityLease": "5s"},
		Logger:            logger,
	})
	if err != nil {
		b.Fatalf("Start: %v", err)
	}
	b.Cleanup(func() { _ = p.Close() })
	e.p = p
	if e.db, err = pgx.Connect(ctx, u.String()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.db.Close(context.Background()) })
	out, err := exec.Command("go", "tool", "-n", "aws-lambda-rie").Output()
	if err != nil {
		b.Fatalf("go tool -n aws-lambda-rie: %v", err)
	}
	e.rie = strings.TrimSpace(string(out))
	e.fake = wuzapitest.New(b)
	e.seed(b)
	return e
}

// startRedis runs a redis-server of the benchmark's own on a free port.
func (e *env) startRedis(b *testing.B) string {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		b.Fatalf("start redis-server: %v", err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	e.redisPI = cmd.Process.Pid
	u := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	e.redis = redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	b.Cleanup(func() { _ = e.redis.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for e.redis.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			b.Fatal("redis-server did not answer within 10s")
		}
		<-time.After(20 * time.Millisecond)
	}
	return u
}

func dropDatabase(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if c, err := pgx.Connect(ctx, pgtest.ServerURL()); err == nil {
		_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		_ = c.Close(ctx)
	}
}

// seed makes an enterprise tenant with one instance per campaign, each
// allowed 1,000 messages a minute with no pauses, no new-contact budget
// and no number checks: the fast limits of a bulk run.
func (e *env) seed(b *testing.B) {
	b.Helper()
	body := e.call(b, "POST", "/v1/tenants", adminKey, map[string]any{"name": "Bench", "plan": "enterprise"}, 201)
	e.key = body["data"].(map[string]any)["apiKey"].(string)
	for i := range campaigns {
		tok := fmt.Sprintf("tok%d", i)
		e.fake.AddUser(tok, wuzapitest.Ready)
		e.call(b, "POST", "/v1/instances", e.key, map[string]any{"name": fmt.Sprintf("n%d", i), "baseUrl": e.fake.URL, "token": tok,
			"minDelayMs": 0, "maxDelayMs": 0, "messagesPerMinute": 1000, "hourlyCap": 100000, "dailyCap": 100000, "warmupDays": 0}, 201)
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
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, map[string]any{"error": err.Error()}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
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

// sendPhase creates the campaigns through the API and waits until every
// recipient is settled. The worker's CPU is its own processes'; the
// stores' counts include the campaigns' creation (their recipients' COPY).
func (e *env) sendPhase(b *testing.B) {
	b.Helper()
	waitStats()
	c0 := e.counters(b)
	wb, wr := e.group("campaign-worker")
	boot0, rie0 := benchproc.Snapshot(wb), benchproc.Snapshot(wr)
	pg0, rd0 := e.storesCPU()
	e.reports.reset()
	start := time.Now()
	for i := range campaigns {
		contacts := make([]any, perCamp)
		for j := range contacts {
			contacts[j] = fmt.Sprintf("55119%03d%05d", i, j)
		}
		inst := e.instanceID(b, i)
		out := e.call(b, "POST", "/v1/campaigns", e.key, map[string]any{"instanceId": inst, "message": "Oi {{name}}, lote " + strconv.Itoa(i), "contacts": contacts}, 202)
		e.camps = append(e.camps, out["data"].(map[string]any)["jobId"].(string))
	}
	e.waitSettled(b)
	wall := time.Since(start)
	wb, wr = e.group("campaign-worker")
	boot, rie := benchproc.Snapshot(wb).Since(boot0), benchproc.Snapshot(wr).Since(rie0)
	pg1, rd1 := e.storesCPU()
	pgCPU, rdCPU := pg1.Since(pg0), rd1.Since(rd0)
	waitStats()
	c1 := e.counters(b)
	sends := float64(len(e.fake.Sends()))
	inv := e.reports.durations("CampaignWorkerFunction")
	fmt.Printf("PLATFORM send: %d sends (%d campaigns x %d) in %.1fs; %d worker invocations (%.1f sends each)\n",
		int(sends), campaigns, perCamp, wall.Seconds(), len(inv), sends/float64(max(len(inv), 1)))
	fmt.Printf("PLATFORM send: worker CPU %.2fs (rie %.2fs), Postgres backends %.2fs, Redis %.2fs\n",
		boot.Seconds(), rie.Seconds(), pgCPU.Seconds(), rdCPU.Seconds())
	fmt.Printf("PLATFORM send: %.0f sends per worker CPU-second; %.0f with Postgres and Redis\n",
		sends/boot.Seconds(), sends/(boot+pgCPU+rdCPU).Seconds())
	fmt.Printf("PLATFORM send: per send: %.2f Postgres transactions, %.1f rows returned, %.1f fetched, %.1f written; %.2f Redis commands; %.3f ms Postgres CPU\n",
		float64(c1.xacts-c0.xacts)/sends, float64(c1.returned-c0.returned)/sends, float64(c1.fetched-c0.fetched)/sends,
		float64(c1.written-c0.written)/sends, float64(c1.redisCmds-c0.redisCmds)/sends, pgCPU.Seconds()*1000/sends)
	fmt.Printf("PLATFORM send: worker invocation duration p50 %.1f ms, p99 %.1f ms, sum %.1f s (%.2f ms billed per send)\n",
		pct(inv, 50), pct(inv, 99), sum(inv)/1000, sum(inv)/sends)
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
	pg0, rd0 := e.storesCPU()
	c0 := e.counters(b)
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
	wall := time.Since(start)
	ab, ar = e.group("api")
	boot, rie := benchproc.Snapshot(ab).Since(boot0), benchproc.Snapshot(ar).Since(rie0)
	pg1, rd1 := e.storesCPU()
	waitStats()
	c1 := e.counters(b)
	d := e.reports.durations("ApiFunction")
	n := float64(statusRequests)
	fmt.Printf("PLATFORM status: %d requests in %.1fs (%d x 200, %d x 429, other %d)\n",
		statusRequests, wall.Seconds(), codes[200], codes[429], statusRequests-codes[200]-codes[429])
	fmt.Printf("PLATFORM status: %.0f requests per api CPU-second (api %.2fs); %.0f with its rie (%.2fs)\n",
		n/boot.Seconds(), boot.Seconds(), n/(boot+rie).Seconds(), rie.Seconds())
	fmt.Printf("PLATFORM status: api duration p50 %.2f ms, p99 %.2f ms, mean %.2f ms (%d REPORT lines)\n", pct(d, 50), pct(d, 99), sum(d)/float64(max(len(d), 1)), len(d))
	fmt.Printf("PLATFORM status: per request: %.2f Postgres transactions, %.2f Redis commands; Postgres %.3f ms, Redis %.3f ms CPU\n",
		float64(c1.xacts-c0.xacts)/n, float64(c1.redisCmds-c0.redisCmds)/n, pg1.Since(pg0).Seconds()*1000/n, rd1.Since(rd0).Seconds()*1000/n)
}

// initDurations prints each function's init durations (every instance's
// first REPORT), over the whole run.
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
	fn := ""
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "function" {
			fn = a.Value.String()
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
	if m := durRe.FindStringSubmatch(rec.Message); m != nil {
		v, _ := strconv.ParseFloat(m[1], 64)
		r.dur[fn] = append(r.dur[fn], v)
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
