package main

// End-to-end tests of campaigns through the local platform: the real api,
// campaign-worker and scheduler binaries under aws-lambda-rie, SQS on the
// embedded emulator, and a fake WuzAPI in this process.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wuzapi-manager/wuzapi-manager/infra/local"
	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapitest"
)

const (
	repoRoot = "../.."
	adminKey = "e2e-admin-key-campaigns-0123456789abcdef"
)

type e2e struct {
	p    *local.Platform
	bin  string
	fake *wuzapitest.Server
	key  string
	inst string
	db   *pgx.Conn
}

func randomName(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func startE2E(t *testing.T) *e2e {
	t.Helper()
	return startE2EWith(t, nil)
}

// startE2EWith is startE2E with configure, when not nil, changing the
// platform's configuration before it starts; cfg.DatabaseURL is the
// database's direct URL (the platform migrates it).
func startE2EWith(t *testing.T, configure func(cfg *local.Config)) *e2e {
	t.Helper()
	ctx := t.Context()
	bin := t.TempDir()
	if err := local.BuildFunctions(ctx, repoRoot, bin); err != nil {
		t.Fatalf("BuildFunctions: %v", err)
	}
	dbName := randomName("wm_e2e_camp_")
	u, _ := url.Parse(pgtest.ServerURL())
	u.Path = "/" + dbName
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, pgtest.ServerURL()); err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+dbName+" WITH (FORCE)")
			_ = c.Close(ctx)
		}
	})
	cfg := local.Config{
		TemplatePath:      filepath.Join(repoRoot, "template.yaml"),
		BinDir:            bin,
		StackName:         randomName("wm-e2e-camp-"),
		DatabaseURL:       u.String(),
		RedisURL:          "redis://127.0.0.1:6379/0",
		APIAddr:           "127.0.0.1:0",
		EmulatorAddr:      "127.0.0.1:0",
		VisibilityTimeout: 2 * time.Second,
		ScheduleInterval:  time.Second,
		Parameters:        map[string]string{"AdminApiKey": adminKey, "AllowPrivateWuzapi": "true"},
		// A recipient left in sending by a killed worker becomes unknown quickly.
		// and the send limiter's slot it held frees soon.
		Environment: map[string]string{"CAMPAIGN_STUCK_AFTER": "3s", "SEND_LEASE_TTL": "3s"},
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if configure != nil {
		configure(&cfg)
	}
	p, err := local.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	db, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(context.Background()) })

	e := &e2e{p: p, bin: bin, fake: wuzapitest.New(t), db: db}
	e.fake.AddUser("tok", wuzapitest.Ready)
	_, body := e.call(t, "POST", "/v1/tenants", adminKey, map[string]any{"name": "Acme", "plan": "enterprise"}, 201)
	e.key = body["data"].(map[string]any)["apiKey"].(string)
	_, body = e.call(t, "POST", "/v1/instances", e.key, map[string]any{"name": "main", "baseUrl": e.fake.URL, "token": "tok",
		"minDelayMs": 0, "maxDelayMs": 0, "messagesPerMinute": 1000, "hourlyCap": 100000, "dailyCap": 100000, "warmupDays": 0}, 201)
	e.inst = body["data"].(map[string]any)["id"].(string)
	// These runs test delivery, not the sending-safety rules (their own
	// subtests turn them on): no new-contact budgets, typing or checks.
	if _, err := db.Exec(ctx, `UPDATE instances SET new_contacts_per_day = 500, new_contacts_per_hour = 200,
		identical_per_hour = 1000, typing = false, check_numbers = false WHERE id = $1`, e.inst); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *e2e) call(t *testing.T, method, path, key string, in any, want int) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(t.Context(), method, e.p.APIURL+path, rd)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	if want != 0 && resp.StatusCode != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, raw, want)
	}
	return resp.StatusCode, out
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		<-tick.C
	}
}

func (e *e2e) create(t *testing.T, msg string, contacts []any, extra map[string]any) string {
	t.Helper()
	body := map[string]any{"instanceId": e.inst, "message": msg, "contacts": contacts}
	for k, v := range extra {
		body[k] = v
	}
	_, out := e.call(t, "POST", "/v1/campaigns", e.key, body, 202)
	return out["data"].(map[string]any)["jobId"].(string)
}

// state reads the campaign's state and its recipients by status straight
// from the database (polling through the API would spend the tenant's rate
// limit).
func (e *e2e) state(t *testing.T, id string) (string, map[string]any) {
	t.Helper()
	var st string
	if err := e.db.QueryRow(t.Context(), "SELECT status FROM campaigns WHERE id = $1", id).Scan(&st); err != nil {
		t.Fatal(err)
	}
	counts := map[string]any{"pending": 0.0, "sending": 0.0}
	rows, err := e.db.Query(t.Context(), "SELECT status, count(*)::float8 FROM campaign_recipients WHERE campaign_id = $1 GROUP BY status", id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		var n float64
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		counts[s] = n
	}
	return st, counts
}

func (e *e2e) recipientStatus(t *testing.T, id, phone string) string {
	t.Helper()
	var st string
	if err := e.db.QueryRow(t.Context(), "SELECT status FROM campaign_recipients WHERE campaign_id = $1 AND phone = $2", id, phone).Scan(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func phonesE2E(prefix, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("55119%03d%05d", prefix, i)
	}
	return out
}

func toAny(ps []string) []any {
	out := make([]any, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}

func assertOnce(t *testing.T, fake *wuzapitest.Server, ps []string) {
	t.Helper()
	got := fake.Delivered()
	for _, p := range ps {
		if len(got[p]) != 1 {
			t.Fatalf("%s received %d messages, want exactly 1", p, len(got[p]))
		}
	}
}

// workerPIDs are the running campaign-worker processes this test started.
func (e *e2e) workerPIDs(t *testing.T) []int {
	t.Helper()
	want := filepath.Join(e.bin, "campaign-worker", "bootstrap")
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, en := range entries {
		var pid int
		if _, err := fmt.Sscanf(en.Name(), "%d", &pid); err != nil {
			continue
		}
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && exe == want {
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestCampaignsEndToEnd(t *testing.T) {
	e := startE2E(t)

	t.Run("20 contacts delivered once with the right text", func(t *testing.T) {
		ps := phonesE2E(1, 20)
		contacts := make([]any, len(ps))
		for i, p := range ps {
			contacts[i] = map[string]any{"phone": p, "name": fmt.Sprintf("Cliente %d", i)}
		}
		msg := "{Oi|Olá} {{name}}!"
		id := e.create(t, msg, contacts, nil)
		eventually(t, 60*time.Second, "campaign completed", func() bool { st, _ := e.state(t, id); return st == "completed" })
		assertOnce(t, e.fake, ps)
		tpl := campaign.ParseTemplate(msg)
		for i, p := range ps {
			s := e.fake.Delivered()[p][0]
			want, _ := tpl.Render(campaign.Recipient{Phone: p, Name: fmt.Sprintf("Cliente %d", i)}, campaign.SeedKey(id, p))
			if s.Body != want || s.ID != campaign.MessageID(id, p, 0) {
				t.Fatalf("%s got %q (%s), want %q (%s)", p, s.Body, s.ID, want, campaign.MessageID(id, p, 0))
			}
		}
		_, out := e.call(t, "GET", "/v1/campaigns/"+id+"/status", e.key, nil, 200)
		d := out["data"].(map[string]any)
		if d["progress"] != 100.0 || d["result"].(map[string]any)["processed"] != 20.0 {
			t.Fatalf("status = %v", d)
		}
	})

	t.Run("transient retried, permanent failed once", func(t *testing.T) {
		ps := phonesE2E(2, 3)
		e.fake.Script(ps[0], wuzapitest.Reply{Status: 500, Error: "error sending message: server returned error 503"})
		e.fake.Script(ps[1], wuzapitest.Reply{Status: 400, Error: "could not parse Phone"})
		id := e.create(t, "hi", toAny(ps), nil)
		eventually(t, 90*time.Second, "campaign completed", func() bool { st, _ := e.state(t, id); return st == "completed" })
		sends := map[string]int{}
		for _, s := range e.fake.Sends() {
			sends[s.Phone]++
		}
		if sends[ps[0]] != 2 || sends[ps[1]] != 1 || sends[ps[2]] != 1 {
			t.Fatalf("attempts per phone = %v", sends)
		}
		if e.recipientStatus(t, id, ps[0]) != "sent" || e.recipientStatus(t, id, ps[1]) != "failed" {
			t.Fatal("wrong recipient outcomes")
		}
	})

	t.Run("pause freezes sends", func(t *testing.T) {
		ps := phonesE2E(3, 20)
		var once sync.Once
		paused := make(chan struct{})
		var id string
		idReady := make(chan struct{})
		e.fake.OnSend(func(s wuzapitest.Send) {
			if !strings.HasPrefix(s.Phone, "55119003") {
				return
			}
			once.Do(func() {
				<-idReady
				e.call(t, "POST", "/v1/campaigns/"+id+"/pause", e.key, nil, 200)
				close(paused)
			})
		})
		t.Cleanup(func() { e.fake.OnSend(nil) })
		id = e.create(t, "hi", toAny(ps), nil)
		close(idReady)
		<-paused
		eventually(t, 30*time.Second, "nothing in flight", func() bool {
			st, c := e.state(t, id)
			return st == "paused" && c["sending"] == 0.0
		})
		frozen := len(e.fake.Delivered())
		_, c := e.state(t, id)
		if c["pending"].(float64) < 15 {
			t.Fatalf("pause did not stop the chunk: counts %v", c)
		}
		// A chunk redelivered while paused sends nothing.
		e.call(t, "POST", "/v1/campaigns/"+id+"/resume", e.key, nil, 200)
		eventually(t, 60*time.Second, "campaign completed after resume", func() bool { st, _ := e.state(t, id); return st == "completed" })
		assertOnce(t, e.fake, ps)
		if frozen >= len(e.fake.Delivered()) {
			t.Fatal("resume sent nothing")
		}
	})

	t.Run("worker killed mid-chunk: at most one send per recipient", func(t *testing.T) {
		ps := phonesE2E(4, 20)
		hold := make(chan struct{})
		inSend := make(chan string, 1)
		var once sync.Once
		e.fake.OnSend(func(s wuzapitest.Send) {
			if s.Phone == ps[5] {
				once.Do(func() { inSend <- s.Phone; <-hold })
			}
		})
		t.Cleanup(func() { e.fake.OnSend(nil) })
		id := e.create(t, "hi", toAny(ps), nil)
		victim := <-inSend
		pids := e.workerPIDs(t)
		if len(pids) == 0 {
			t.Fatal("no campaign-worker process found")
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		close(hold)
		eventually(t, 90*time.Second, "campaign completed after the crash", func() bool { st, _ := e.state(t, id); return st == "completed" })
		assertOnce(t, e.fake, ps) // the victim's one send counts: it reached WuzAPI
		if st := e.recipientStatus(t, id, victim); st != "unknown" {
			t.Fatalf("killed send's recipient is %s, want unknown", st)
		}
	})

	t.Run("scheduled campaign released on time", func(t *testing.T) {
		ps := phonesE2E(5, 2)
		at := time.Now().Add(4 * time.Second).Truncate(time.Second)
		id := e.create(t, "hi", toAny(ps), map[string]any{"scheduledAt": at.UTC().Format(time.RFC3339)})
		eventually(t, 60*time.Second, "campaign completed", func() bool { st, _ := e.state(t, id); return st == "completed" })
		for _, p := range ps {
			d := e.fake.Delivered()[p]
			if len(d) != 1 || d[0].At.Before(at) {
				t.Fatalf("%s delivered %d times, first at %v; scheduled %v", p, len(d), d, at)
			}
		}
	})

	t.Run("pool campaign: sticky known contact, the rest spread, each sent once", func(t *testing.T) {
		ids := make([]string, 2)
		for i := range ids {
			tok := fmt.Sprintf("tokP%d", i)
			e.fake.AddUser(tok, wuzapitest.Ready)
			_, body := e.call(t, "POST", "/v1/instances", e.key, map[string]any{"name": fmt.Sprintf("pool%d", i), "baseUrl": e.fake.URL,
				"token": tok, "minDelayMs": 0, "maxDelayMs": 0, "messagesPerMinute": 1000, "hourlyCap": 100000, "dailyCap": 100000,
				"warmupDays": 0, "newContactsPerDay": 500, "newContactsPerHour": 200, "identicalPerHour": 1000, "typing": false,
				"checkNumbers": false}, 201)
			ids[i] = body["data"].(map[string]any)["id"].(string)
		}
		ps := phonesE2E(7, 9)
		if _, err := e.db.Exec(t.Context(), "INSERT INTO known_contacts (instance_id, phone) VALUES ($1, $2)", ids[1], ps[0]); err != nil {
			t.Fatal(err)
		}
		_, body := e.call(t, "POST", "/v1/campaigns", e.key, map[string]any{"instanceIds": ids, "message": "pool {{name}}", "contacts": toAny(ps)}, 202)
		id := body["data"].(map[string]any)["jobId"].(string)
		eventually(t, 60*time.Second, "pool campaign completed", func() bool { st, _ := e.state(t, id); return st == "completed" })
		assertOnce(t, e.fake, ps)
		by := map[string]int{}
		for _, p := range ps {
			by[e.fake.Delivered()[p][0].Token]++
		}
		if e.fake.Delivered()[ps[0]][0].Token != "tokP1" || by["tokP0"] < 3 || by["tokP1"] < 3 || by["tokP0"]+by["tokP1"] != len(ps) {
			t.Fatalf("sent by %v (%s by %s), want the known contact by tokP1 and the rest spread", by, ps[0], e.fake.Delivered()[ps[0]][0].Token)
		}
		_, body = e.call(t, "GET", "/v1/campaigns/"+id, e.key, nil, 200)
		insts, _ := body["data"].(map[string]any)["instances"].([]any)
		if len(insts) != 2 || insts[0].(map[string]any)["sent"] != float64(by["tokP0"]) || insts[1].(map[string]any)["sent"] != float64(by["tokP1"]) {
			t.Fatalf("instances = %v, want sent %v", insts, by)
		}
	})

	t.Run("staged rollout: the first slice, a hold, then the rest or a pause", func(t *testing.T) {
		rollout := map[string]any{"rollout": map[string]any{"share": 0.2, "holdMinutes": 1, "maxFailedShare": 0.2}}
		good, bad := phonesE2E(8, 10), phonesE2E(9, 10) // slices: the first 2 of each
		e.fake.Script(bad[0], wuzapitest.Reply{Status: 400, Error: "could not parse Phone"})
		e.fake.Script(bad[1], wuzapitest.Reply{Status: 400, Error: "could not parse Phone"})
		goodID := e.create(t, "rollout {{name}}", toAny(good), rollout)
		badID := e.create(t, "rollout {{name}}", toAny(bad), rollout)
		reason := func(id string) string {
			var r string
			_ = e.db.QueryRow(t.Context(), "SELECT coalesce(reason, '') FROM campaigns WHERE id = $1", id).Scan(&r)
			return r
		}
		eventually(t, 150*time.Second, "the good slice released the rest", func() bool { st, _ := e.state(t, goodID); return st == "completed" })
		assertOnce(t, e.fake, good)
		// The rest went out only after the hold: a minute after the slice's
		// last send settled.
		var holdFrom, released, sliceLast, restFirst time.Time
		if err := e.db.QueryRow(t.Context(), `SELECT c.rollout_hold_from, c.rollout_released_at,
			(SELECT max(sent_at) FROM campaign_recipients WHERE campaign_id = c.id AND seq < 2),
			(SELECT min(sent_at) FROM campaign_recipients WHERE campaign_id = c.id AND seq >= 2)
			FROM campaigns c WHERE c.id = $1`, goodID).Scan(&holdFrom, &released, &sliceLast, &restFirst); err != nil {
			t.Fatal(err)
		}
		if holdFrom.Before(sliceLast) || released.Before(holdFrom.Add(time.Minute)) || restFirst.Before(released) {
			t.Fatalf("slice sent by %s, hold from %s, released %s, rest from %s: want the rest after a minute's hold",
				sliceLast, holdFrom, released, restFirst)
		}
		eventually(t, 60*time.Second, "the failing slice paused its campaign", func() bool { st, _ := e.state(t, badID); return st == "paused" })
		if got, want := reason(badID), "auto-paused: rollout: 2 of the first 2 sends failed (more than 20 %); resume to send the rest anyway"; got != want {
			t.Fatalf("paused with %q, want %q", got, want)
		}
		for _, p := range bad[2:] {
			if n := len(e.fake.Delivered()[p]); n != 0 || e.recipientStatus(t, badID, p) != "pending" {
				t.Fatalf("%s beyond the failing slice: %d messages, %s; want none, pending", p, n, e.recipientStatus(t, badID, p))
			}
		}
	})

	// Last: the reach-out lock it provokes closes the instance's new-contact lane.
	t.Run("number check and reach-out lock", func(t *testing.T) {
		ps := phonesE2E(6, 4) // 0 not on WhatsApp, 1 known by another number, 2 meets a 463, 3 wrote to the instance
		if _, err := e.db.Exec(t.Context(), "UPDATE instances SET check_numbers = true WHERE id = $1", e.inst); err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.Exec(t.Context(), "INSERT INTO known_contacts (instance_id, phone) VALUES ($1, $2)", e.inst, ps[3]); err != nil {
			t.Fatal(err)
		}
		e.fake.NotOnWhatsApp(ps[0])
		e.fake.SetJID(ps[1], "5511906000099@s.whatsapp.net")
		e.fake.Script(ps[2], wuzapitest.Reply{Status: 500, Error: "error sending message: server returned error 463"})
		id := e.create(t, "hi {{name}}", toAny(ps), nil)
		var reason string
		eventually(t, 60*time.Second, "known contact sent and the lock recorded", func() bool {
			_ = e.db.QueryRow(t.Context(), "SELECT coalesce(reason, '') FROM campaigns WHERE id = $1", id).Scan(&reason)
			return e.recipientStatus(t, id, ps[3]) == "sent" && strings.HasPrefix(reason, "waiting: new-contact lock on main until ")
		})
		var skip string
		var attempts int
		if err := e.db.QueryRow(t.Context(), "SELECT coalesce(skip_reason, '') FROM campaign_recipients WHERE campaign_id = $1 AND phone = $2",
			id, ps[0]).Scan(&skip); err != nil || skip != "not_on_whatsapp" || e.recipientStatus(t, id, ps[0]) != "skipped" {
			t.Fatalf("not on WhatsApp: %s %q %v", e.recipientStatus(t, id, ps[0]), skip, err)
		}
		if d := e.fake.Delivered(); len(d["5511906000099"]) != 1 || len(d[ps[1]]) != 0 || len(d[ps[0]]) != 0 {
			t.Fatalf("checked number: delivered %v", d)
		}
		if err := e.db.QueryRow(t.Context(), "SELECT attempts FROM campaign_recipients WHERE campaign_id = $1 AND phone = $2",
			id, ps[2]).Scan(&attempts); err != nil || attempts != 0 || e.recipientStatus(t, id, ps[2]) != "pending" {
			t.Fatalf("locked recipient: %s, %d attempts, %v", e.recipientStatus(t, id, ps[2]), attempts, err)
		}
		if st, _ := e.state(t, id); st != "running" {
			t.Fatalf("campaign %s during the lock, want running", st)
		}
	})
}
