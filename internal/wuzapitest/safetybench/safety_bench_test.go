package safetybench_test

import (
	"bytes"
	"container/heap"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	randv2 "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/httpapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/limit"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapitest"
)

const (
	recipients   = 1000
	numbers      = 5
	knownShare   = 10 // per cent of recipients who wrote to the number first
	absentShare  = 5  // per cent of recipients without WhatsApp
	maxSimulated = 30 * 24 * time.Hour
	adminKey     = "safety-bench-admin-key-0123456789abcdef"
)

// settings is one run's instance settings, as the API takes them. Fields
// the API does not know yet are ignored by it.
type settings struct {
	name     string
	instance map[string]any
	// perNumber: one campaign per number with its share of the list,
	// instead of one campaign over the pool of numbers.
	perNumber bool
}

// perNumberRun is s with one campaign per number.
func (s settings) perNumberRun() settings {
	s.name, s.perNumber = s.name+"-per-number", true
	return s
}

var (
	// defaults: the instance as a user creates it, giving nothing.
	defaults = settings{name: "defaults", instance: map[string]any{}}
	// origin: the settings this product first shipped with — 100 messages a minute, no new-contact
	// budget, no number checks, no typing.
	origin = settings{name: "origin", instance: map[string]any{
		"messagesPerMinute": 100, "minDelayMs": 600, "maxDelayMs": 600, "hourlyCap": 6000, "dailyCap": 100000,
		"warmupDays": 0, "newContactsPerDay": 500, "newContactsPerHour": 200, "identicalPerHour": 1000,
		"checkNumbers": false, "typing": false,
	}}
)

// result is what one run did.
type result struct {
	locks, bans, refused, sent, delivered int
	statuses                              map[string]int
	hours                                 float64 // to the last send
	finished                              bool
	stopped                               []string // campaigns left unfinished: how many, status, reason
	lockLog                               []string // each lock: when (São Paulo time) and why
}

func BenchmarkSendingSafety(b *testing.B) {
	for _, s := range []settings{defaults, defaults.perNumberRun(), origin, origin.perNumberRun()} {
		b.Run(s.name, func(b *testing.B) {
			var r result
			for range b.N {
				r = simulate(b, s)
			}
			b.ReportMetric(float64(r.locks), "locks")
			b.ReportMetric(float64(r.bans), "bans")
			b.ReportMetric(float64(r.sent), "sends")
			b.ReportMetric(r.hours, "sim-hours")
			fin := "finished"
			if !r.finished {
				fin = fmt.Sprintf("NOT finished within %d simulated days: %v", int(maxSimulated.Hours()/24), r.stopped)
			}
			fmt.Printf("FIGURES sending-safety %-19s locks=%d bans=%d sends=%d refused463=%d delivered=%d hours=%.1f recipients=%v %s\n",
				s.name, r.locks, r.bans, r.sent, r.refused, r.delivered, r.hours, r.statuses, fin)
			for _, l := range r.lockLog {
				fmt.Printf("FIGURES lock %-19s %s\n", s.name, l)
			}
		})
	}
}

// clock is the simulated time every part reads.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	if t.After(c.t) {
		c.t = t
	}
	c.mu.Unlock()
}
func (c *clock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

// chunkQueue is the campaigns queue: chunk messages due at a simulated time.
type chunkQueue struct {
	mu    sync.Mutex
	clock *clock
	items msgHeap
	seq   int
}

type msg struct {
	due        time.Time
	seq        int
	campaignID string
	chunk      int
	gen        int64
}

type msgHeap []msg

func (h msgHeap) Len() int { return len(h) }
func (h msgHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h msgHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *msgHeap) Push(x any)   { *h = append(*h, x.(msg)) }
func (h *msgHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (q *chunkQueue) EnqueueChunks(_ context.Context, id string, gen int64, chunks []int, delay time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, c := range chunks {
		q.seq++
		heap.Push(&q.items, msg{due: q.clock.Now().Add(delay), seq: q.seq, campaignID: id, chunk: c, gen: gen})
	}
	return nil
}

func (q *chunkQueue) next() (msg, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return msg{}, false
	}
	return q.items[0], true
}

func (q *chunkQueue) pop() msg {
	q.mu.Lock()
	defer q.mu.Unlock()
	return heap.Pop(&q.items).(msg)
}

// bench is one run's system.
type bench struct {
	clock  *clock
	db     *postgres.DB
	fake   *wuzapitest.Server
	queue  *chunkQueue
	api    string
	key    string
	worker *campaign.Worker
	insts  []string
	camps  []string
}

var saoPaulo, _ = time.LoadLocation("America/Sao_Paulo")

var start = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC) // 09:00 in São Paulo, a Monday

func simulate(b *testing.B, s settings) result {
	b.Helper()
	ctx := context.Background()
	e := setup(b)
	rng := randv2.New(randv2.NewPCG(42, 7))
	phones, names := contacts(rng)
	for i, p := range phones {
		if i%100 < absentShare {
			e.fake.NotOnWhatsApp(p)
		}
	}
	for i := range numbers {
		e.insts = append(e.insts, e.createInstance(b, i, s))
	}
	if _, err := e.db.Pool.Exec(ctx, "UPDATE instances SET created_at = $1", start); err != nil {
		b.Fatal(err)
	}
	e.createCampaigns(b, phones, names, s.perNumber)
	e.run(b)
	return e.result(b)
}

func setup(b *testing.B) *bench {
	b.Helper()
	clk := &clock{t: start}
	db, err := postgres.Open(context.Background(), pgtest.NewDatabase(b), postgres.Options{MaxConns: 8})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	b.Cleanup(func() { _ = rdb.Close() })
	e := &bench{clock: clk, db: db, queue: &chunkQueue{clock: clk}}
	e.fake = wuzapitest.New(b, wuzapitest.Clock(clk.Now), wuzapitest.Enforce(wuzapitest.DefaultEnforcement))
	for i := range numbers {
		e.fake.AddUser(fmt.Sprintf("tok%d", i), wuzapitest.Ready)
	}
	logger := slog.New(slog.DiscardHandler)
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	b.Cleanup(srv.Close)
	handler = httpapi.New(httpapi.Options{DB: db, Redis: rdb, Logger: logger, AdminAPIKey: adminKey,
		PublicBaseURL: srv.URL, Now: clk.Now, AllowPrivateWuzapi: true, Chunks: e.queue})
	e.api = srv.URL
	seed := randv2.New(randv2.NewPCG(1, 2))
	e.worker = &campaign.Worker{
		Store:     db,
		Messenger: campaign.WuzapiMessenger{Pool: wuzapi.Guard{AllowPrivate: true}.Pool(30 * time.Second)},
		Limiter: limit.NewSender(limit.SenderOptions{Redis: rdb, Prefix: "safetybench:" + randomHex() + ":",
			Now: clk.Now, Rand: seed.Float64, Logger: logger}),
		Queue:  e.queue,
		Logger: logger,
		Now:    clk.Now,
		Sleep:  func(_ context.Context, d time.Duration) error { clk.Add(d); return nil },
	}
	_, body := e.call(b, "POST", "/v1/tenants", adminKey, map[string]any{"name": "Bench", "plan": "enterprise",
		"defaultCountry": "BR", "timezone": "America/Sao_Paulo"}, 201)
	e.key = body["data"].(map[string]any)["apiKey"].(string)
	return e
}

func randomHex() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// contacts draws Brazilian mobiles that look like a real customer list
// (no runs of consecutive numbers) and first names that repeat.
func contacts(rng *randv2.Rand) ([]string, []string) {
	first := []string{"Ana", "João", "Maria", "Pedro", "Lucas", "Julia", "Gabriel", "Beatriz", "Rafael", "Camila",
		"Bruno", "Larissa", "Felipe", "Amanda", "Thiago", "Fernanda", "Gustavo", "Mariana", "Rodrigo", "Patrícia"}
	ddd := []int{11, 21, 31, 41, 47, 48, 51, 61, 71, 81, 85, 19, 27, 62}
	seen := map[string]bool{}
	var phones, names []string
	for len(phones) < recipients {
		p := fmt.Sprintf("55%d9%08d", ddd[rng.IntN(len(ddd))], rng.IntN(100_000_000))
		if seen[p] {
			continue
		}
		seen[p] = true
		phones = append(phones, p)
		names = append(names, first[rng.IntN(len(first))])
	}
	return phones, names
}

func (e *bench) call(b *testing.B, method, path, key string, in any, want int) (int, map[string]any) {
	b.Helper()
	raw, _ := json.Marshal(in)
	req, _ := http.NewRequest(method, e.api+path, bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	var body map[string]any
	_ = json.Unmarshal(out, &body)
	if want != 0 && resp.StatusCode != want {
		b.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, out, want)
	}
	return resp.StatusCode, body
}

func (e *bench) createInstance(b *testing.B, i int, s settings) string {
	b.Helper()
	in := map[string]any{"name": fmt.Sprintf("number %d", i+1), "baseUrl": e.fake.URL,
		"token": fmt.Sprintf("tok%d", i), "configureWebhook": true}
	for k, v := range s.instance {
		in[k] = v
	}
	_, body := e.call(b, "POST", "/v1/instances", e.key, in, 201)
	return body["data"].(map[string]any)["id"].(string)
}

// createCampaigns creates one campaign over the pool of numbers; with
// perNumber, or when the API takes no pools, one campaign per number with
// its share of the list. Recipients who wrote first write to the number
// that sends to them.
func (e *bench) createCampaigns(b *testing.B, phones, names []string, perNumber bool) {
	b.Helper()
	const message = "Olá {{name}}! Chegou a nova coleção de verão, com frete grátis até domingo."
	list := func(idx []int) []any {
		out := make([]any, 0, len(idx))
		for _, i := range idx {
			out = append(out, map[string]any{"phone": "+" + phones[i], "name": names[i]})
		}
		return out
	}
	all := make([]int, len(phones))
	for i := range all {
		all[i] = i
	}
	code, body := 0, map[string]any(nil)
	if !perNumber {
		code, body = e.call(b, "POST", "/v1/campaigns", e.key, map[string]any{"name": "verão",
			"instanceIds": e.insts, "message": message, "contacts": list(all)}, 0)
	}
	if code == http.StatusAccepted {
		e.camps = append(e.camps, body["data"].(map[string]any)["jobId"].(string))
		for i, p := range phones {
			if i%100 >= absentShare && i%100 < absentShare+knownShare {
				e.emitKnown(b, fmt.Sprintf("tok%d", i%numbers), p)
			}
		}
		return
	}
	for n := range numbers {
		var idx []int
		for i, p := range phones {
			if i%numbers != n {
				continue
			}
			idx = append(idx, i)
			if i%100 >= absentShare && i%100 < absentShare+knownShare {
				e.emitKnown(b, fmt.Sprintf("tok%d", n), p)
			}
		}
		_, body := e.call(b, "POST", "/v1/campaigns", e.key, map[string]any{"name": fmt.Sprintf("verão %d", n+1),
			"instanceId": e.insts[n], "message": message, "contacts": list(idx)}, 202)
		e.camps = append(e.camps, body["data"].(map[string]any)["jobId"].(string))
	}
}

// emitKnown has phone write to the number of token before the campaign.
func (e *bench) emitKnown(b *testing.B, token, phone string) {
	b.Helper()
	if code, err := e.fake.EmitMessage(token, phone, "Oi! Vocês têm a coleção nova?"); err != nil || code >= 300 {
		b.Fatalf("incoming message from %s: %d, %v", phone, code, err)
	}
}

// run moves the simulated clock from event to event: chunk messages fall
// due and the worker handles them; webhook events (receipts, bans) fall due
// and the simulator posts them to the API.
func (e *bench) run(b *testing.B) {
	b.Helper()
	ctx := context.Background()
	for steps := 0; steps < 1_000_000; steps++ {
		now := e.clock.Now()
		if now.Sub(start) > maxSimulated {
			return
		}
		if at, ok := e.fake.NextEvent(); ok && !at.After(now) {
			if _, err := e.fake.FlushEvents(ctx); err != nil {
				b.Fatal(err)
			}
			continue
		}
		if m, ok := e.queue.next(); ok && !m.due.After(now) {
			m = e.queue.pop()
			if err := e.worker.HandleChunk(ctx, m.campaignID, m.chunk, m.gen); err != nil {
				// The message would be received again after its visibility timeout.
				_ = e.queue.EnqueueChunks(ctx, m.campaignID, m.gen, []int{m.chunk}, 30*time.Second)
			}
			continue
		}
		next, have := time.Time{}, false
		if at, ok := e.fake.NextEvent(); ok {
			next, have = at, true
		}
		if m, ok := e.queue.next(); ok && (!have || m.due.Before(next)) {
			next, have = m.due, true
		}
		if !have {
			return // nothing will ever happen again
		}
		e.clock.Set(next)
	}
	b.Fatal("the simulation did not settle in a million steps")
}

func (e *bench) result(b *testing.B) result {
	b.Helper()
	r := result{statuses: map[string]int{}}
	for i := range numbers {
		st := e.fake.Stats(fmt.Sprintf("tok%d", i))
		r.locks += st.Locks
		r.bans += st.Bans
		r.refused += st.Refused463
		r.sent += st.Sent
		r.delivered += st.Delivered
		for _, l := range st.LockLog {
			var times []string
			for _, t := range l.NewSends {
				times = append(times, t.In(saoPaulo).Format("01-02T15:04"))
			}
			r.lockLog = append(r.lockLog, fmt.Sprintf("number %d at %s: %s (new in 24 h %d, in the hour %d, not on WhatsApp %d, checked in the hour %d; first messages of the 24 h before: %v)",
				i+1, l.At.In(saoPaulo).Format("2006-01-02T15:04"), l.Why, l.NewInDay, l.NewInHour, l.NotOnWhatsApp, l.ChecksInHour, times))
		}
	}
	ctx := context.Background()
	rows, err := e.db.Pool.Query(ctx, `SELECT status, count(*) FROM campaign_recipients WHERE campaign_id = ANY($1::uuid[]) GROUP BY status`, e.camps)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			b.Fatal(err)
		}
		r.statuses[st] = n
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	var last *time.Time
	if err := e.db.Pool.QueryRow(ctx, `SELECT max(sent_at) FROM campaign_recipients WHERE campaign_id = ANY($1::uuid[])`,
		e.camps).Scan(&last); err != nil {
		b.Fatal(err)
	}
	if last != nil {
		r.hours = last.Sub(start).Hours()
	}
	rows, err = e.db.Pool.Query(ctx, `SELECT status, coalesce(reason, '') FROM campaigns
		WHERE id = ANY($1::uuid[]) AND status NOT IN ('completed', 'failed', 'cancelled')`, e.camps)
	if err != nil {
		b.Fatal(err)
	}
	stopped := map[string]int{}
	for rows.Next() {
		var st, reason string
		if err := rows.Scan(&st, &reason); err != nil {
			b.Fatal(err)
		}
		stopped[st+" ("+reason+")"]++
	}
	for what, n := range stopped {
		r.stopped = append(r.stopped, fmt.Sprintf("%d×%s", n, what))
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	r.finished = len(r.stopped) == 0
	return r
}
