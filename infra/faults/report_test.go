package faults

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapitest"
)

// row is one line of the table: what was measured, the figure, the bound
// and whether it holds.
type row struct {
	what, got, want string
	ok              bool
}

type report struct {
	rows []row
	logf string
}

func (r *report) add(ok bool, what, want, format string, args ...any) {
	r.rows = append(r.rows, row{what: what, got: fmt.Sprintf(format, args...), want: want, ok: ok})
}

// print logs the table (make faults shows it; make test shows it when the
// test fails).
func (r *report) print(t *testing.T) {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "check\tmeasured\tbound\t")
	fmt.Fprintln(w, "-----\t--------\t-----\t")
	for _, x := range r.rows {
		mark := "ok"
		if !x.ok {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", x.what, x.got, x.want, mark)
	}
	_ = w.Flush()
	form := "short form (make test)"
	if longForm {
		form = "long form (make faults)"
	}
	t.Logf("fault-and-load suite, %s:\n%s", form, b.String())
}

// check fails the test for every row that does not hold.
func (r *report) check(t *testing.T) {
	for _, x := range r.rows {
		if !x.ok {
			t.Errorf("%s: %s, bound %s (platform log: %s)", x.what, x.got, x.want, r.logf)
		}
	}
}

// recipient is one campaign recipient as stored.
type recipient struct {
	campaign, phone, status, skip, id string
}

// key is a recipient's (campaign, phone).
type key struct{ campaign, phone string }

func (s *suite) report(ctx context.Context) *report {
	r := &report{logf: s.logf}
	recips := s.recipients(ctx)
	s.deliveryRows(r, recips)
	s.apiRows(r)
	s.sendLimitRows(r)
	s.recoveryRows(r)
	s.carelessRows(r)
	return r
}

func (s *suite) recipients(ctx context.Context) []recipient {
	rows, err := s.db.Query(ctx, `SELECT campaign_id::text, phone, status, coalesce(skip_reason, ''),
		coalesce(wuzapi_message_id, ''), generation FROM campaign_recipients`)
	if err != nil {
		s.t.Fatalf("read recipients: %v", err)
	}
	defer rows.Close()
	var out []recipient
	for rows.Next() {
		var rc recipient
		var gen int
		if err := rows.Scan(&rc.campaign, &rc.phone, &rc.status, &rc.skip, &rc.id, &gen); err != nil {
			s.t.Fatal(err)
		}
		if rc.id == "" {
			rc.id = campaign.MessageID(rc.campaign, rc.phone, gen)
		}
		out = append(out, rc)
	}
	if err := rows.Err(); err != nil {
		s.t.Fatal(err)
	}
	return out
}

// deliveryRows: messaged twice, same-id repeats, lost, and the stored
// outcome against what WuzAPI received.
func (s *suite) deliveryRows(r *report, recips []recipient) {
	byID := map[string]key{}
	statuses := map[string]int{}
	lost := 0
	var lostEx []string
	for _, rc := range recips {
		byID[rc.id] = key{rc.campaign, rc.phone}
		statuses[rc.status]++
		switch {
		case rc.status == "sent", rc.status == "delivered", rc.status == "read", rc.status == "failed", rc.status == "unknown":
		case rc.status == "skipped" && rc.skip != "":
		default:
			lost++
			if len(lostEx) < 3 {
				lostEx = append(lostEx, rc.campaign[:8]+"/"+rc.phone+" "+rc.status)
			}
		}
	}
	deliveries := map[key][]wuzapitest.Send{}
	unattributed := 0
	for _, sd := range s.fake.Sends() {
		if !sd.OK() {
			continue
		}
		k, ok := byID[sd.ID]
		if !ok {
			unattributed++
			continue
		}
		deliveries[k] = append(deliveries[k], sd)
	}
	twice, repeats := 0, 0
	for _, ds := range deliveries {
		answered, ids := false, map[string]bool{}
		double := false
		for _, d := range ds {
			if answered {
				double = true
			} else if len(ids) > 0 {
				repeats++
			}
			ids[d.ID] = true
			answered = answered || !d.NoAnswer
		}
		if double || len(ids) > 1 {
			twice++
		}
	}
	unknown, unknownOut := 0, 0
	for _, rc := range recips {
		if rc.status == "unknown" {
			unknown++
			if len(deliveries[key{rc.campaign, rc.phone}]) > 0 {
				unknownOut++
			}
		}
	}
	sentNotOut := 0
	for _, rc := range recips {
		if (rc.status == "sent" || rc.status == "delivered" || rc.status == "read") && len(deliveries[key{rc.campaign, rc.phone}]) == 0 {
			sentNotOut++
		}
	}
	var st []string
	for k, v := range statuses {
		st = append(st, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(st)
	r.add(len(recips) > 0, "recipients (all tenants)", "-", "%d: %s", len(recips), strings.Join(st, ", "))
	r.add(twice == 0, "recipients messaged twice", "0", "%d", twice)
	r.add(true, "same-Id repeats after an unanswered send (WhatsApp keeps one message per Id)", "-", "%d", repeats)
	r.add(lost == 0, "recipients lost (not sent/failed/unknown/skipped with reason)", "0", "%d %s", lost, strings.Join(lostEx, "; "))
	r.add(unattributed == 0, "messages out with an Id no recipient holds", "0", "%d", unattributed)
	r.add(sentNotOut == 0, "recipients marked sent that WuzAPI never got", "0", "%d", sentNotOut)
	r.add(true, "recipients unknown (a send in flight when its worker or Postgres died)", "-", "%d, of which WuzAPI got %d", unknown, unknownOut)
}

// p99 of the samples' durations (0 when none).
func p99(ss []sample) (time.Duration, int) {
	if len(ss) == 0 {
		return 0, 0
	}
	d := make([]time.Duration, len(ss))
	for i, sm := range ss {
		d[i] = sm.dur
	}
	slices.Sort(d)
	return d[(len(d)*99+99)/100-1], len(d)
}

// p99Slack is added to twice the baseline's p99 in the short form, which
// runs inside make test beside every other package on a shared 2-core
// machine: the p99 of a few hundred requests is their third or fourth
// slowest, which the machine's load alone moves by hundreds of
// milliseconds. It still catches a tenant holding the API for seconds.
// The long form holds the plain 2x.
func p99Slack() time.Duration {
	if longForm {
		return 0
	}
	return 400 * time.Millisecond
}

// p50 of the samples' durations.
func p50(ss []sample) time.Duration {
	if len(ss) == 0 {
		return 0
	}
	d := make([]time.Duration, len(ss))
	for i, sm := range ss {
		d[i] = sm.dur
	}
	slices.Sort(d)
	return d[len(d)/2]
}

// killShadow is how long after a SIGKILL the API's latency is the cost of
// the kill (new processes starting on the same two cores: on Lambda a new
// sandbox has CPU of its own), measured as a recovery, not as the storm's
// latency.
const killShadow = 10 * time.Second

// outsideKills drops the samples sent within killShadow after a kill.
func (s *suite) outsideKills(ss []sample) []sample {
	var out []sample
	for _, sm := range ss {
		shadowed := false
		for _, k := range s.kills {
			if !sm.at.Before(k) && sm.at.Before(k.Add(killShadow)) {
				shadowed = true
				break
			}
		}
		if !shadowed {
			out = append(out, sm)
		}
	}
	return out
}

func errorsIn(ss []sample) int {
	n := 0
	for _, sm := range ss {
		if sm.status == 0 || sm.status >= 500 {
			n++
		}
	}
	return n
}

// apiRows: the good tenants' p99 in the storm against the quiet baseline,
// their errors, and each tenant's API limit against its plan.
func (s *suite) apiRows(r *report) {
	m := s.marks
	base := s.load.between(m.baseFrom, m.baseTo)
	storm := s.load.between(m.stormFrom, m.stormTo)
	calm := s.outsideKills(storm)
	bp, bn := p99(base)
	sp, sn := p99(storm)
	cp, cn := p99(calm)
	limit := 2*bp + p99Slack()
	r.add(true, "good tenants' API p99: storm, every request", "-", "%s (%d requests) vs %s (%d): %.2fx; p50 %s vs %s",
		sp.Round(time.Millisecond), sn, bp.Round(time.Millisecond), bn, float64(sp)/float64(max(bp, 1)),
		p50(storm).Round(time.Millisecond), p50(base).Round(time.Millisecond))
	r.add(bn > 0 && cn > 0 && cp <= limit, fmt.Sprintf("good tenants' API p99: storm outside the %s after each SIGKILL vs quiet baseline", killShadow),
		fmt.Sprintf("<= 2x baseline%s", map[bool]string{true: "", false: " + " + p99Slack().String()}[longForm]),
		"%s (%d requests) vs %s (%d): %.2fx", cp.Round(time.Millisecond), cn, bp.Round(time.Millisecond), bn, float64(cp)/float64(max(bp, 1)))
	r.add(errorsIn(base)+errorsIn(storm) == 0, "good tenants' 5xx or unanswered requests, baseline + storm", "0", "%d", errorsIn(base)+errorsIn(storm))
	for i, tn := range s.good {
		for _, ph := range []struct {
			name     string
			from, to time.Time
		}{{"baseline", m.baseFrom, m.baseTo}, {"storm", m.stormFrom, m.stormTo}} {
			// The limiter binds what it counts; answers it let through
			// uncounted (failing open when its Redis was slower than its
			// timeout, as on an overloaded machine) are shown apart.
			allowed, failedOpen := 0, 0
			for _, sm := range s.load.between(ph.from, ph.to) {
				switch {
				case sm.tenant != i || sm.status/100 != 2:
				case sm.failedOpen:
					failedOpen++
				default:
					allowed++
				}
			}
			want := ph.to.Sub(ph.from).Seconds() * float64(tn.limit) / 60
			tol := max(want/100, 2)
			diff := float64(allowed) - want
			r.add(diff <= tol && diff >= -tol, fmt.Sprintf("API limit %s, %s", tn.name, ph.name), fmt.Sprintf("%.1f ± %.1f", want, tol),
				"%d allowed of %d/min over %s (%+.1f%%); %d failed open", allowed, tn.limit, ph.to.Sub(ph.from).Round(time.Second), 100*diff/want, failedOpen)
		}
	}
}

// sendWindow is the window the send limit is checked over: a minute less
// 2 s, because the fake sees a send when it arrives, up to a moment after
// the limiter granted it.
const sendWindow = time.Minute - 2*time.Second

// sendLimitRows: no instance sent more than its per-minute limit in any
// window, and how close to it the instance ran in the baseline.
func (s *suite) sendLimitRows(r *report) {
	byToken := map[string][]time.Time{}
	for _, sd := range s.fake.Sends() {
		byToken[sd.Token] = append(byToken[sd.Token], sd.At) // a grant counts whether or not the send succeeded
	}
	for _, tn := range append(append([]*tenant(nil), s.good...), s.careless) {
		at := byToken[tn.token]
		worst := 0
		for i := range at {
			j := sort.Search(len(at), func(j int) bool { return at[j].After(at[i].Add(sendWindow)) || at[j].Equal(at[i].Add(sendWindow)) })
			worst = max(worst, j-i)
		}
		inBase := 0
		for _, a := range at {
			if !a.Before(s.marks.baseFrom) && a.Before(s.marks.baseTo) {
				inBase++
			}
		}
		rate := float64(inBase) / s.marks.baseTo.Sub(s.marks.baseFrom).Minutes()
		r.add(float64(worst) <= float64(s.shape.perMinute)*1.01, "send limit "+tn.name, fmt.Sprintf("<= %d/min", s.shape.perMinute),
			"max %d in any %s; %d sends in all; %.1f/min in the baseline", worst, sendWindow, len(at), rate)
	}
}

func (s *suite) recoveryRows(r *report) {
	for _, rc := range s.recs {
		ok := rc.took >= 0 && rc.took <= rc.local && rc.took <= rc.bound
		got := "not within the bound"
		if rc.took >= 0 {
			got = rc.took.Round(100 * time.Millisecond).String()
		}
		r.add(ok, "recovery: "+rc.fault+": "+rc.what, fmt.Sprintf("<= %s here, %s on AWS", rc.local.Round(time.Second), rc.bound), "%s", got)
	}
	if s.importer != nil {
		r.add(s.importOK, "import after its worker was killed: every row once", "completed, all rows", "%s", s.importRows)
	}
	r.add(s.hangOthers > 0, "other instances' messages while one send hung", "> 0", "%d", s.hangOthers)
	redisErrs := errorsIn(s.load.between(s.marks.outFrom, s.marks.outTo))
	r.add(true, "good tenants' 5xx or unanswered during the outages (api kill, Redis, Postgres)", "-", "%d", redisErrs)
	r.add(true, "campaigns auto-paused and resumed by their tenant", "-", "%d", s.resumed)
}

func (s *suite) carelessRows(r *report) {
	b := &s.bad
	b.mu.Lock()
	defer b.mu.Unlock()
	var acts []string
	for a, m := range b.answers {
		var parts []string
		for st, n := range m {
			parts = append(parts, fmt.Sprintf("%d×%d", n, st))
		}
		sort.Strings(parts)
		acts = append(acts, a+": "+strings.Join(parts, " "))
	}
	sort.Strings(acts)
	for _, a := range acts {
		r.add(true, "careless: "+a[:strings.Index(a, ":")], "4xx or success", "%s", a[strings.Index(a, ":")+2:])
	}
	r.add(len(b.errors) == 0, "careless tenant's 5xx or unanswered requests", "0", "%d %s", len(b.errors), strings.Join(first(b.errors, 3), "; "))
	r.add(b.spintaxSlowest < 5*time.Second, "careless: slowest answer to a {x x28 template", "< 5s", "%s", b.spintaxSlowest.Round(time.Millisecond))
	r.add(strings.HasPrefix(b.narrowSt, "failed: too_many_columns"), "careless: CSV of 30,000 one-letter columns", "failed: too_many_columns", "%.70s", b.narrowSt)
	r.add(strings.HasPrefix(b.wideState, "failed: too_many_columns"), "careless: CSV of 30,000 columns c0..c29999 (190 KB header)", "failed: too_many_columns", "%.70s", b.wideState)
	r.add(b.hookOK/100 == 2, "right webhook secret after the wrong ones (other IP)", "2xx", "%d, instance allowance left %s", b.hookOK, b.hookLeft)
}

func first(ss []string, n int) []string {
	if len(ss) > n {
		return ss[:n]
	}
	return ss
}
