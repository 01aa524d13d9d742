package faults

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapitest"
)

// marks are the phases' bounds.
type marks struct {
	baseFrom, baseTo, stormFrom, stormTo, outFrom, outTo time.Time
}

// recovery is one measured recovery.
type recovery struct {
	fault, what string
	took        time.Duration // -1: not within the bound
	local       time.Duration // the bound with the suite's settings
	bound       time.Duration // the bound of docs/recovery.md with the template's settings
}

// Bounds. continueLocal and unknownLocal are docs/recovery.md's sums with
// the suite's settings (visibility lease + max(send lease, gap) + poll;
// stuck-after + tick), each with a minute of headroom for a loaded
// machine; continueBound and unknownBound are the contract with the
// template's settings.
var (
	continueLocal = visibilityLease + sendLease + pollWait + time.Minute
	unknownLocal  = stuckAfter + tick + time.Minute
	continueBound = 3 * time.Minute
	unknownBound  = 5 * time.Minute
)

// TestFaults runs the scenario and checks the table (docs/faults.md).
func TestFaults(t *testing.T) {
	s := setup(t)
	ctx := t.Context()
	s.load = s.startLoad(ctx)
	keepCtx, stopKeep := context.WithCancel(ctx)
	defer stopKeep()
	s.keepCampaigns(keepCtx)
	if _, ok := s.nextSend(ctx, time.Now(), "", 2*time.Minute); !ok {
		t.Fatalf("no campaign sent anything within 2 minutes (log: %s)", s.logf)
	}

	s.marks.baseFrom = time.Now()
	s.pause(ctx, s.shape.baseline)
	s.marks.baseTo = time.Now()

	s.marks.stormFrom = time.Now()
	carelessCtx, stopCareless := context.WithCancel(ctx)
	carelessDone := make(chan struct{})
	go func() { defer close(carelessDone); s.runCareless(carelessCtx) }()
	s.storm(ctx)
	s.pause(ctx, time.Until(s.marks.stormFrom.Add(s.shape.minStorm)))
	stopCareless()
	<-carelessDone
	s.marks.stormTo = time.Now()

	s.marks.outFrom = time.Now()
	s.outages(ctx)
	s.marks.outTo = time.Now()

	stopKeep()
	s.load.stop()
	s.checkCarelessAfter(ctx)
	s.settleAll(ctx)
	r := s.report(ctx)
	r.print(t)
	r.check(t)
}

// pause waits d (or until ctx ends).
func (s *suite) pause(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
	case <-tm.C:
	}
}

// poll calls cond every 100 ms until it holds (true, when) or timeout
// passes (false).
func poll(ctx context.Context, timeout time.Duration, cond func() bool) (time.Time, bool) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tk := time.NewTicker(100 * time.Millisecond)
	defer tk.Stop()
	for {
		if cond() {
			return time.Now(), true
		}
		select {
		case <-ctx.Done():
			return time.Time{}, false
		case <-tk.C:
		}
	}
}

// nextSend waits for the first message that went out after t (of token,
// or of any instance when ""), and returns when the fake received it.
func (s *suite) nextSend(ctx context.Context, t time.Time, token string, timeout time.Duration) (time.Time, bool) {
	var at time.Time
	_, ok := poll(ctx, timeout, func() bool {
		for _, sd := range s.fake.Sends() {
			if sd.OK() && !sd.NoAnswer && sd.At.After(t) && (token == "" || sd.Token == token) {
				at = sd.At
				return true
			}
		}
		return false
	})
	return at, ok
}

// record adds a recovery measured from `from` to `to` (ok false: not
// within the bound).
func (s *suite) record(fault, what string, from, to time.Time, ok bool, local, bound time.Duration) {
	took := time.Duration(-1)
	if ok {
		took = to.Sub(from)
	}
	s.recs = append(s.recs, recovery{fault: fault, what: what, took: took, local: local, bound: bound})
}

// storm applies the faults of the storm one after another while the
// careless tenant runs: a campaign worker killed mid-send (and the
// scheduler killed while it should settle that send), then WuzAPI
// answering 5xx, hanging past the send timeout and resetting connections;
// the long form also kills the import and report workers mid-work.
func (s *suite) storm(ctx context.Context) {
	s.killCampaignWorker(ctx)
	s.wuzapiFault(ctx, wuzapitest.FaultServerError, 3)
	s.wuzapiFault(ctx, wuzapitest.FaultHang, 1)
	s.wuzapiFault(ctx, wuzapitest.FaultReset, 2)
	if s.shape.workerKills {
		s.killImportWorker(ctx)
		s.killReportWorker(ctx)
	}
}

// killCampaignWorker holds a good tenant's send at WuzAPI (it went out),
// SIGKILLs every campaign worker process meanwhile, and the scheduler
// three times while the recipient waits to be settled; then measures how
// soon the chunk's other recipients continue and the one in flight
// becomes unknown.
func (s *suite) killCampaignWorker(ctx context.Context) {
	held := make(chan wuzapitest.Send, 1)
	release := make(chan struct{})
	var armed atomic.Bool
	armed.Store(true)
	good := s.goodTokens()
	s.fake.OnSend(func(sd wuzapitest.Send) {
		if good[sd.Token] && armed.CompareAndSwap(true, false) {
			held <- sd
			<-release
		}
	})
	defer s.fake.OnSend(nil)
	var inFlight wuzapitest.Send
	select {
	case inFlight = <-held:
	case <-time.After(2 * time.Minute):
		s.t.Errorf("kill campaign-worker: no good tenant's send within 2 minutes")
		armed.Store(false)
		return
	case <-ctx.Done():
		return
	}
	s.kill("CampaignWorkerFunction")
	crash := time.Now()
	close(release)
	for range 3 {
		s.kill("SchedulerFunction")
		s.pause(ctx, tick)
	}
	// Both are watched at once: each is timed from the crash.
	var continued, unknown time.Time
	poll(ctx, unknownBound, func() bool {
		if continued.IsZero() {
			if at, ok := s.sentExcept(crash, inFlight.Token, inFlight.Phone); ok {
				continued = at
			}
		}
		if unknown.IsZero() && s.recipientStatus(ctx, inFlight.ID) == "unknown" {
			unknown = time.Now()
		}
		return !continued.IsZero() && !unknown.IsZero()
	})
	s.record("campaign-worker SIGKILL mid-send", "its chunk continued", crash, continued, !continued.IsZero(), continueLocal, continueBound)
	s.record("campaign-worker SIGKILL mid-send (+ scheduler SIGKILL x3)", "recipient in flight unknown", crash, unknown, !unknown.IsZero(), unknownLocal, unknownBound)
}

// sentExcept returns when the first message of token to another phone
// than phone went out after t.
func (s *suite) sentExcept(t time.Time, token, phone string) (time.Time, bool) {
	for _, sd := range s.fake.Sends() {
		if sd.OK() && !sd.NoAnswer && sd.At.After(t) && sd.Token == token && sd.Phone != phone {
			return sd.At, true
		}
	}
	return time.Time{}, false
}

func (s *suite) goodTokens() map[string]bool {
	m := map[string]bool{}
	for _, tn := range s.good {
		m[tn.token] = true
	}
	return m
}

// kill SIGKILLs a function's processes and notes when.
func (s *suite) kill(fn string) {
	s.kills = append(s.kills, time.Now())
	n, err := s.p.KillFunction(fn)
	if err != nil || n == 0 {
		// RIE starts a function's process at its first invocation; none
		// yet is not a failure of the product.
		s.t.Logf("kill %s: %d processes killed (%v)", fn, n, err)
	}
}

func (s *suite) recipientStatus(ctx context.Context, messageID string) string {
	var st string
	_ = s.db.QueryRow(ctx, `SELECT status FROM campaign_recipients WHERE wuzapi_message_id = $1`, messageID).Scan(&st)
	return st
}

// wuzapiFault makes WuzAPI fail the next n sends with f and measures how
// soon a message goes out normally again after the last of them ended
// (a hang ends when the worker gives up on it). During a hang, the other
// instances must keep sending.
func (s *suite) wuzapiFault(ctx context.Context, f wuzapitest.Fault, n int) {
	before := len(s.fake.Sends())
	s.fake.SetFault(f, n, 2*time.Minute)
	if _, ok := poll(ctx, 2*time.Minute, func() bool { return s.fake.FaultsLeft() == 0 }); !ok {
		s.t.Errorf("WuzAPI %s: the fault did not meet %d sends within 2 minutes", f, n)
		s.fake.SetFault(wuzapitest.FaultNone, 0, 0)
		return
	}
	end := time.Now()
	if f == wuzapitest.FaultHang {
		var ok bool
		var hungToken string
		end, ok = poll(ctx, sendTimeout+time.Minute, func() bool { hungToken = s.noAnswer(before); return hungToken != "" })
		if !ok {
			s.t.Errorf("WuzAPI hang: the worker did not give up within %s", sendTimeout+time.Minute)
			return
		}
		s.hangOthers = s.sendsOthers(before, hungToken, end)
	}
	to, ok := s.nextSend(ctx, end, "", continueBound)
	s.record(fmt.Sprintf("WuzAPI %s x%d", f, n), "next message out", end, to, ok, continueLocal, continueBound)
}

// noAnswer returns the token of the first send at or after index i that
// got no answer ("" when none).
func (s *suite) noAnswer(i int) string {
	for _, sd := range s.fake.Sends()[i:] {
		if sd.NoAnswer {
			return sd.Token
		}
	}
	return ""
}

// sendsOthers counts the messages other instances sent from index i until
// end.
func (s *suite) sendsOthers(i int, token string, end time.Time) int {
	n := 0
	for _, sd := range s.fake.Sends()[i:] {
		if sd.OK() && sd.Token != token && !sd.At.After(end) {
			n++
		}
	}
	return n
}

// outages kill the API function, restart Redis and restart Postgres (an
// immediate shutdown: a crash) while the load goes on, and measure the
// time until the good tenants are answered and messages go out again.
func (s *suite) outages(ctx context.Context) {
	kill := time.Now()
	s.kill("ApiFunction")
	to, ok := s.apiAnswers(ctx, kill)
	s.record("api SIGKILL", "every good tenant answered", kill, to, ok, continueLocal, continueBound)

	start := time.Now()
	if err := s.rs.Restart(ctx); err != nil {
		s.t.Fatalf("restart redis: %v", err)
	}
	back := time.Now()
	s.redisDown = back.Sub(start)
	to, ok = s.nextSend(ctx, back, "", continueBound)
	s.record(fmt.Sprintf("Redis restart (down %s)", s.redisDown.Round(100*time.Millisecond)), "next message out", back, to, ok, continueLocal+30*time.Second, continueBound)

	start = time.Now()
	if err := s.pg.Restart(ctx, syscall.SIGQUIT); err != nil {
		s.t.Fatalf("restart postgres: %v", err)
	}
	back = time.Now()
	s.pgDown = back.Sub(start)
	to, ok = s.apiAnswers(ctx, back)
	s.record(fmt.Sprintf("Postgres crash restart (down %s)", s.pgDown.Round(100*time.Millisecond)), "every good tenant answered", back, to, ok, continueLocal, continueBound)
	to, ok = s.nextSend(ctx, back, "", continueBound)
	s.record(fmt.Sprintf("Postgres crash restart (down %s)", s.pgDown.Round(100*time.Millisecond)), "next message out", back, to, ok, continueLocal, continueBound)
}

// apiAnswers waits until every good tenant got a 2xx (or a 429) to a
// request sent after t.
func (s *suite) apiAnswers(ctx context.Context, t time.Time) (time.Time, bool) {
	return poll(ctx, continueBound, func() bool {
		ok := map[int]bool{}
		for _, sm := range s.load.between(t, time.Now().Add(time.Hour)) {
			if sm.status/100 == 2 || sm.status == 429 {
				ok[sm.tenant] = true
			}
		}
		return len(ok) == len(s.good)
	})
}

// settleAll waits until every campaign of every tenant has finished,
// resuming the campaigns auto-paused on the way as their tenant would.
func (s *suite) settleAll(ctx context.Context) {
	_, ok := poll(ctx, s.shape.settle, func() bool {
		rows, err := s.db.Query(ctx, `SELECT c.id, c.status, t.id FROM campaigns c JOIN tenants t ON t.id = c.tenant_id
			WHERE c.status NOT IN ('completed', 'failed', 'cancelled')`)
		if err != nil {
			return false
		}
		open := 0
		var paused []string
		for rows.Next() {
			var id, st, tid string
			if rows.Scan(&id, &st, &tid) == nil {
				open++
				if st == "paused" {
					paused = append(paused, id)
				}
			}
		}
		rows.Close()
		for _, id := range paused {
			s.resume(ctx, id)
		}
		return open == 0
	})
	if !ok {
		s.t.Errorf("campaigns still open %s after the faults (log: %s)", s.shape.settle, s.logf)
	}
}

// resume resumes a paused campaign with its tenant's key.
func (s *suite) resume(ctx context.Context, id string) {
	for _, tn := range append(append([]*tenant(nil), s.good...), s.careless) {
		status, b, _, _ := s.do(ctx, nil, "POST", "/v1/campaigns/"+id+"/resume", tn.key, "")
		if status == 200 {
			s.resumed++
			s.t.Logf("resumed campaign %s of %s: %s", id, tn.name, strings.TrimSpace(string(b)))
			return
		}
	}
}

// killImportWorker SIGKILLs the import worker while a large import of the
// importer tenant runs (after its first committed batch), and measures how
// soon the import completes: the retry finds the import's lease running,
// comes back when it ends and resumes after the last committed batch.
func (s *suite) killImportWorker(ctx context.Context) {
	const rows = 60000
	var b strings.Builder
	b.WriteString("phone,name\n")
	for i := range rows {
		fmt.Fprintf(&b, "5511966%06d,Pessoa %d\n", i, i)
	}
	id := s.upload(ctx, s.importer, "big.csv", b.String())
	var started bool
	_, started = poll(ctx, 2*time.Minute, func() bool {
		var st string
		var n int
		err := s.db.QueryRow(ctx, `SELECT status, imported FROM imports WHERE id = $1`, id).Scan(&st, &n)
		return err == nil && st == "running" && n > 0
	})
	if !started {
		s.t.Errorf("import-worker kill: the import did not commit a batch within 2 minutes")
		return
	}
	s.kill("ImportWorkerFunction")
	crash := time.Now()
	var st string
	var n int
	to, ok := poll(ctx, unknownBound, func() bool {
		err := s.db.QueryRow(ctx, `SELECT status, imported + updated FROM imports WHERE id = $1`, id).Scan(&st, &n)
		return err == nil && (st == "completed" || st == "failed")
	})
	ok = ok && st == "completed"
	s.record(fmt.Sprintf("import-worker SIGKILL mid-import (%d rows)", rows), "import completed", crash, to, ok, importLease+continueLocal, unknownBound)
	var contacts int
	_ = s.db.QueryRow(ctx, `SELECT count(*) FROM contacts WHERE import_id = $1`, id).Scan(&contacts)
	s.importRows = fmt.Sprintf("%s, %d of %d rows counted, %d contacts", st, n, rows, contacts)
	s.importOK = st == "completed" && n == rows && contacts == rows
}

// importLease is how long an import stays claimed after its last batch
// (fixed in the import worker).
const importLease = 2 * time.Minute

// killReportWorker SIGKILLs the report worker while a contacts report of
// the importer tenant runs, and measures how soon the report is ready (a
// retry restarts it).
func (s *suite) killReportWorker(ctx context.Context) {
	var out struct {
		Data struct {
			ReportID string `json:"reportId"`
		}
	}
	s.mustJSON("POST", "/v1/reports", s.importer.key, `{"type":"contacts"}`, 202, &out)
	id := out.Data.ReportID
	_, running := poll(ctx, 2*time.Minute, func() bool {
		var st string
		err := s.db.QueryRow(ctx, `SELECT status FROM reports WHERE id = $1`, id).Scan(&st)
		return err == nil && st != "pending"
	})
	s.kill("ReportWorkerFunction")
	crash := time.Now()
	var st string
	to, ok := poll(ctx, unknownBound, func() bool {
		err := s.db.QueryRow(ctx, `SELECT status FROM reports WHERE id = $1`, id).Scan(&st)
		return err == nil && (st == "completed" || st == "failed")
	})
	what := "report completed"
	if !running {
		what += " (killed before it ran)"
	}
	s.record("report-worker SIGKILL", what, crash, to, ok && st == "completed", continueLocal, unknownBound)
}
