//go:build linux

// Package benchorigin measures the origin design's Node stack (Express,
// express-rate-limit with rate-limit-redis, prom-client's request metrics,
// BullMQ and its campaign worker; the app in node/, built from the
// design's code) under the loads `make bench-platform` puts on the
// product, with CPU read from /proc the same way, so that the product's
// goals, stated as ratios against that stack, are measured side by side
// on any machine. Node processes of its own, a Redis of its own (its
// command count and CPU are this run's alone) and a fake WuzAPI answering
// at once. Run by `make bench-origin`, which installs node/'s packages
// from its lockfile; figures in docs/invocation-costs.md.
package benchorigin

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/infra/throwaway"
	"github.com/wuzapi-manager/wuzapi-manager/internal/benchproc"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapitest"
)

const (
	nodeDir  = "node"
	apiKey   = "wm_bench-origin-key-0123456789abcdef0123456789"
	tenantID = "bench-tenant"
	token    = "tok-origin"
	jobs     = 100 // × perJob contacts: the send mix, as bench-platform's
	perJob   = 200
	// statusRequests at statusClients at once: the status route's load.
	statusRequests = 4000
	statusClients  = 8
	// scheduleLead: the send phase's jobs are due this long after the
	// first is queued, so that queueing them is not counted as the sends'
	// cost.
	scheduleLead = 15 * time.Second
)

// phases chooses what runs, with bench-platform's names (`make
// bench-origin BENCH_PHASES=status`); the phases this stack lacks (safe,
// init) are ignored. Without send, the status phase reads the 100 jobs
// queued to start a day later, none sent.
var phases = flag.String("origin.phases", "send,status", "comma-separated phases to run: send, status")

func phase(name string) bool { return slices.Contains(strings.Split(*phases, ","), name) }

// BenchmarkOrigin prints ORIGIN lines of figures per phase. One iteration
// only: -benchtime 1x.
//
//	make bench-origin
func BenchmarkOrigin(b *testing.B) {
	for b.Loop() {
		e := start(b)
		if phase("send") {
			e.sendPhase(b, "send", "fetch")
			e.sendPhase(b, "send http", "http")
		} else if phase("status") {
			e.jobIDs = e.queueJobs(b, time.Now().Add(24*time.Hour))
		}
		if phase("status") {
			// A fresh server: the process that served the POSTs has
			// warmed the middleware they share with the status route.
			e.restartAPI(b)
			e.statusPhase(b, "status")
			// The same load again on the process its JIT has warmed: what
			// a long-running server pays.
			e.statusPhase(b, "status warm")
		}
	}
}

type env struct {
	redis   *redis.Client
	redisPI int
	fake    *wuzapitest.Server
	vars    []string  // the Node processes' environment
	api     *nodeProc // server/index.js: Express and the queue
	apiURL  string
	client  *client
	queued  int      // jobs queued so far
	jobIDs  []string // the status phase's: the first jobs queued
}

// start starts the Redis, the fake WuzAPI and the two Node processes, and
// stores the tenant and its API key where the app looks them up.
func start(b *testing.B) *env {
	b.Helper()
	if _, err := os.Stat(filepath.Join(nodeDir, "node_modules")); err != nil {
		b.Skipf("%s/node_modules is missing: make bench-origin installs it (npm ci) and runs this", nodeDir)
	}
	rs := throwaway.StartRedis(b)
	opts, _ := redis.ParseURL(rs.URL())
	e := &env{redis: redis.NewClient(opts), redisPI: rs.Pid(), fake: wuzapitest.New(b), client: newClient(statusClients)}
	b.Cleanup(func() { _ = e.redis.Close(); e.client.http.CloseIdleConnections() })
	e.fake.AddUser(token, wuzapitest.Ready)
	ctx := context.Background()
	sum := sha256.Sum256([]byte(apiKey))
	if err := e.redis.Set(ctx, "apikey:"+hex.EncodeToString(sum[:]), tenantID, 0).Err(); err != nil {
		b.Fatal(err)
	}
	if err := e.redis.HSet(ctx, "tenant:"+tenantID, "plan_type", "enterprise").Err(); err != nil {
		b.Fatal(err)
	}
	port := pgtest.FreePort(b)
	host, redisPort, _ := strings.Cut(opts.Addr, ":")
	vars := []string{"NODE_ENV=production", "REDIS_HOST=" + host, "REDIS_PORT=" + redisPort,
		"PORT=" + strconv.Itoa(port), "WUZAPI_URL=" + e.fake.URL, "WUZAPI_TOKEN=" + token}
	e.vars = vars
	e.api = startNode(b, "server/index.js", vars)
	e.apiURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	fmt.Printf("ORIGIN stack: %s\n", versions(b))
	return e
}

// versions names node's version and the packages installed in node/.
func versions(b *testing.B) string {
	b.Helper()
	out, err := exec.Command("node", "--version").Output()
	if err != nil {
		b.Fatalf("node --version: %v", err)
	}
	s := []string{"node " + strings.TrimSpace(string(out))}
	for _, pkg := range []string{"express", "express-rate-limit", "rate-limit-redis", "ioredis", "bullmq", "prom-client"} {
		raw, err := os.ReadFile(filepath.Join(nodeDir, "node_modules", pkg, "package.json"))
		if err != nil {
			b.Fatal(err)
		}
		var p struct{ Version string }
		if err := json.Unmarshal(raw, &p); err != nil {
			b.Fatalf("%s's package.json: %v", pkg, err)
		}
		s = append(s, pkg+" "+p.Version)
	}
	return strings.Join(s, ", ")
}

// post queues one job through the app's POST /send, due at at.
func (e *env) post(b *testing.B, i int, at time.Time) string {
	b.Helper()
	contacts := make([]string, perJob)
	for j := range contacts {
		contacts[j] = fmt.Sprintf("55119%03d%05d", i, j)
	}
	in, _ := json.Marshal(map[string]any{"contacts": contacts, "message": "Oi, lote " + strconv.Itoa(i),
		"scheduledAt": at.UTC().Format("2006-01-02T15:04:05.000Z07:00")})
	req, _ := http.NewRequest("POST", e.apiURL+"/api/bulk-campaigns/send", bytes.NewReader(in))
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.client.do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Data struct{ JobID string } }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 || out.Data.JobID == "" {
		b.Fatalf("POST /send = %d (%v), want 200 with a jobId\n%s", resp.StatusCode, err, e.api.log())
	}
	return out.Data.JobID
}

// queueJobs queues jobs x perJob contacts due at at and returns their ids.
func (e *env) queueJobs(b *testing.B, at time.Time) []string {
	b.Helper()
	var ids []string
	for i := range jobs {
		ids = append(ids, e.post(b, i, at))
	}
	e.queued += jobs
	return ids
}

// redisCommands is what the Redis counted so far.
func (e *env) redisCommands(b *testing.B) int64 {
	b.Helper()
	info, err := e.redis.Info(context.Background(), "stats").Result()
	if err != nil {
		b.Fatal(err)
	}
	m := regexp.MustCompile(`total_commands_processed:(\d+)`).FindStringSubmatch(info)
	if m == nil {
		b.Fatalf("no total_commands_processed in INFO stats:\n%s", info)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// sendPhase sends jobs x perJob through a campaign worker process of its
// own whose sendMessage uses client (WUZAPI_CLIENT): from the moment the
// jobs are due until every one is completed. name starts its lines.
func (e *env) sendPhase(b *testing.B, name, client string) {
	b.Helper()
	w := startNode(b, "server/worker.js", append(slices.Clone(e.vars), "WUZAPI_CLIENT="+client))
	defer w.stop()
	sent0 := len(e.fake.Sends())
	at := time.Now().Add(scheduleLead)
	ids := e.queueJobs(b, at)
	if e.jobIDs == nil {
		e.jobIDs = ids
	}
	if time.Now().After(at) || len(e.fake.Sends()) != sent0 {
		b.Fatalf("%s: queueing %d jobs took longer than their %s lead", name, jobs, scheduleLead)
	}
	c0 := e.redisCommands(b)
	w0, r0 := benchproc.Snapshot([]int{w.pid}), benchproc.Snapshot([]int{e.redisPI})
	<-time.After(time.Until(at))
	start := time.Now()
	e.waitCompleted(b, w)
	wall := time.Since(start)
	worker, rd := benchproc.Snapshot([]int{w.pid}).Since(w0), benchproc.Snapshot([]int{e.redisPI}).Since(r0)
	cmds := e.redisCommands(b) - c0
	sends := float64(len(e.fake.Sends()) - sent0)
	if int(sends) != jobs*perJob {
		b.Errorf("%s: %d sends, want %d (each contact once)\n%s", name, int(sends), jobs*perJob, w.log())
	}
	fmt.Printf("ORIGIN %s: %d sends (%d jobs x %d) in %.1fs, concurrency 5, sendMessage with %s\n",
		name, int(sends), jobs, perJob, wall.Seconds(), client)
	fmt.Printf("ORIGIN %s: worker CPU %.2fs, Redis %.2fs\n", name, worker.Seconds(), rd.Seconds())
	fmt.Printf("ORIGIN %s: %.0f sends per worker CPU-second; %.0f counting Redis\n",
		name, sends/worker.Seconds(), sends/(worker+rd).Seconds())
	fmt.Printf("ORIGIN %s: per send: %.2f Redis commands; %.3f ms Redis CPU, %.3f ms worker CPU\n",
		name, float64(cmds)/sends, rd.Seconds()*1000/sends, worker.Seconds()*1000/sends)
}

// waitCompleted waits until every job queued is in BullMQ's completed set
// (a failed job fails the benchmark); w is the worker, for its log.
func (e *env) waitCompleted(b *testing.B, w *nodeProc) {
	b.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Minute)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		done, err := e.redis.ZCard(ctx, "bull:campaigns:completed").Result()
		if err != nil {
			b.Fatal(err)
		}
		failed, err := e.redis.ZCard(ctx, "bull:campaigns:failed").Result()
		if err != nil {
			b.Fatal(err)
		}
		if failed > 0 {
			b.Fatalf("%d jobs failed\n%s", failed, w.log())
		}
		if done == int64(e.queued) {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d jobs completed within 10 minutes\n%s", done, e.queued, w.log())
		}
		<-tick.C
	}
}

// statusPhase drives GET /status/:jobId over the jobs at the enterprise
// plan's limit, from a fresh window (the limiter's keys deleted first):
// 200s and 429s as express-rate-limit gives them. name starts its lines.
func (e *env) statusPhase(b *testing.B, name string) {
	b.Helper()
	ctx := context.Background()
	keys, err := e.redis.Keys(ctx, "rl:*").Result()
	if err != nil {
		b.Fatal(err)
	}
	if len(keys) > 0 {
		if err := e.redis.Del(ctx, keys...).Err(); err != nil {
			b.Fatal(err)
		}
	}
	c0, conns0 := e.redisCommands(b), e.client.newConns.Load()
	a0, r0 := benchproc.Snapshot([]int{e.api.pid}), benchproc.Snapshot([]int{e.redisPI})
	codes, lat, wall := e.drive()
	api, rd := benchproc.Snapshot([]int{e.api.pid}).Since(a0), benchproc.Snapshot([]int{e.redisPI}).Since(r0)
	cmds, conns := e.redisCommands(b)-c0, e.client.newConns.Load()-conns0
	n := float64(statusRequests)
	if codes[200] == 0 || codes[200]+codes[429] != statusRequests {
		b.Errorf("%s: %v, want 200s and 429s only\n%s", name, codes, e.api.log())
	}
	fmt.Printf("ORIGIN %s: %d requests in %.1fs (%d x 200, %d x 429, other %d) over %d new connections from %d clients\n",
		name, statusRequests, wall.Seconds(), codes[200], codes[429], statusRequests-codes[200]-codes[429], conns, statusClients)
	fmt.Printf("ORIGIN %s: %.0f requests per node CPU-second (node %.2fs); %.0f counting Redis (%.2fs)\n",
		name, n/api.Seconds(), api.Seconds(), n/(api+rd).Seconds(), rd.Seconds())
	fmt.Printf("ORIGIN %s: per request: %.2f Redis commands; node %.3f ms, Redis %.3f ms CPU\n",
		name, float64(cmds)/n, api.Seconds()*1000/n, rd.Seconds()*1000/n)
	fmt.Printf("ORIGIN %s: client-side latency p50 %.2f ms, p99 %.2f ms\n", name, pct(lat, 50), pct(lat, 99))
}

// drive sends statusRequests from statusClients at once, over the jobs in
// turn, and returns the status codes, each request's latency in ms and
// the wall time.
func (e *env) drive() (map[int]int, []float64, time.Duration) {
	var mu sync.Mutex
	codes := map[int]int{}
	var lat []float64
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range statusClients {
		wg.Go(func() {
			for i := range next {
				t0 := time.Now()
				st := e.get("/api/bulk-campaigns/status/" + e.jobIDs[i%len(e.jobIDs)])
				ms := float64(time.Since(t0).Microseconds()) / 1000
				mu.Lock()
				codes[st]++
				lat = append(lat, ms)
				mu.Unlock()
			}
		})
	}
	for i := range statusRequests {
		next <- i
	}
	close(next)
	wg.Wait()
	return codes, lat, time.Since(start)
}

// get returns the status of GET path with the tenant's key, 0 when the
// request failed.
func (e *env) get(path string) int {
	req, _ := http.NewRequest("GET", e.apiURL+path, nil)
	req.Header.Set("Authorization", "Bearer "+apiKey)
	resp, err := e.client.do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// restartAPI replaces the api process with a new one on the same port,
// the client's connections to the old one closed.
func (e *env) restartAPI(b *testing.B) {
	b.Helper()
	e.api.stop()
	e.client.http.CloseIdleConnections()
	e.api = startNode(b, "server/index.js", e.vars)
}

// client is the benchmark's HTTP client: its transport keeps an idle
// connection for each of conns clients at once, so that each reuses its
// own and the server's CPU is the requests', not new connections'.
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

func pct(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*p/100)]
}

// nodeProc is one Node process of the app, its output kept for failure
// messages.
type nodeProc struct {
	pid    int
	cmd    *exec.Cmd
	exited chan struct{}
	mu     sync.Mutex
	out    bytes.Buffer
}

// stop kills the process and waits for it to exit.
func (p *nodeProc) stop() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

func (p *nodeProc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// startNode runs node script in nodeDir with vars as its whole
// environment, killed when the benchmark ends, and waits for its "ready"
// log line.
func startNode(b *testing.B, script string, vars []string) *nodeProc {
	b.Helper()
	cmd := exec.Command("node", script)
	cmd.Dir, cmd.Env = nodeDir, vars
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		b.Fatalf("node %s: %v", script, err)
	}
	ready, exited := make(chan struct{}), make(chan struct{})
	p := &nodeProc{pid: cmd.Process.Pid, cmd: cmd, exited: exited}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<20)
		once := sync.OnceFunc(func() { close(ready) })
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if strings.Contains(sc.Text(), `"msg":"ready"`) {
				once()
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() { _ = cmd.Wait(); _ = pw.Close(); close(exited) }()
	b.Cleanup(p.stop)
	select {
	case <-ready:
	case <-exited:
		b.Fatalf("node %s exited before it was ready\n%s", script, p.log())
	case <-time.After(30 * time.Second):
		b.Fatalf("node %s not ready within 30 s\n%s", script, p.log())
	}
	return p
}
