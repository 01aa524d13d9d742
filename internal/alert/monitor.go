package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/internal/alert/quote"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/telemetry"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapi"
)

// Window is how far back the alerts look.
const Window = 5 * time.Minute

// Store is what the monitor reads and writes in Postgres.
type Store interface {
	Ping(ctx context.Context) error
	SessionInstances(ctx context.Context, after string, limit int) ([]postgres.SessionInstance, error)
	ReadyInstances(ctx context.Context) (int, error)
	RecordSessionStatus(ctx context.Context, id string, connected, loggedIn bool, at time.Time) error
	StalledInstances(ctx context.Context) ([]postgres.StalledInstance, error)
	ClaimBlockAlerts(ctx context.Context, now time.Time, limit int) ([]postgres.InstanceBlockAlert, error)
	ReleaseBlockAlert(ctx context.Context, b postgres.InstanceBlockAlert) error
}

// QueueAttributes reads SQS queue depths (an *sqs.Client).
type QueueAttributes interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, opts ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// Queue is one work queue and its dead-letter queue.
type Queue struct {
	Name     string // queue_name label: campaigns, imports, reports
	URL, DLQ string // either may be empty: not configured
}

// Monitor is the scheduler's once-a-minute watch.
type Monitor struct {
	DB      Store
	Redis   redis.UniversalClient
	SQS     QueueAttributes
	Queues  []Queue
	Fleet   *telemetry.Fleet
	Metrics *telemetry.Metrics // this instance's mirror of the gauges it sets
	// HTTP calls WuzAPI's /session/status through the shared wuzapi
	// client; give it the guarded client wrapped in telemetry.HTTPClient, so
	// the checks respect ALLOW_PRIVATE_WUZAPI and join the scheduler's trace.
	HTTP       *http.Client
	Notifier   *Notifier
	Thresholds Thresholds // DefaultThresholds when zero
	Logger     *slog.Logger
	Now        func() time.Time // time.Now when nil
	// Concurrency bounds parallel session checks (8 when 0).
	Concurrency int
	// SessionBatch is how many instances one tick checks (64 when 0): with
	// 5 s per check and Concurrency in parallel, a tick's checks end within
	// SessionBatch/Concurrency × 5 s however many instances there are. The
	// next tick goes on after the last one checked (CursorKey in Redis), so
	// every instance is checked in turn.
	SessionBatch int
	// CursorKey is the Redis key of the round-robin cursor
	// ("wm:sessions:cursor" when empty).
	CursorKey string
}

func (m *Monitor) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// SessionStatus is an instance's WuzAPI session state.
type SessionStatus struct {
	Connected, LoggedIn bool
}

// Ready reports whether the instance can send.
func (s SessionStatus) Ready() bool { return s.Connected && s.LoggedIn }

// sessionTimeout bounds one /session/status call.
const sessionTimeout = 5 * time.Second

// CheckSessions asks the next SessionBatch instances' WuzAPI, in turn
// across ticks, for its session state (GET /session/status, through
// internal/wuzapi), records it on the instance and sets
// active_sessions_total to the number of instances connected and logged in
// at their last check. An instance that does not answer, refuses its token
// or has no session is recorded as neither. Checks not started when ctx
// ends wait for the next tick.
func (m *Monitor) CheckSessions(ctx context.Context) error {
	instances, err := m.sessionBatch(ctx)
	if err != nil {
		return err
	}
	statuses := make([]SessionStatus, len(instances))
	checked := make([]bool, len(instances))
	workers := m.Concurrency
	if workers <= 0 {
		workers = 8
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(instances)) {
		wg.Go(func() {
			for i := range next {
				st, err := m.sessionStatus(ctx, instances[i])
				if err != nil {
					m.Logger.WarnContext(ctx, "session check failed",
						"instance_id", instances[i].ID, "tenant_id", instances[i].TenantID, "error", err.Error())
				}
				statuses[i], checked[i] = st, ctx.Err() == nil || err == nil
			}
		})
	}
	last := ""
	for i := range instances {
		if ctx.Err() != nil {
			break
		}
		next <- i
		last = instances[i].ID
	}
	close(next)
	wg.Wait()
	return m.recordSessions(context.WithoutCancel(ctx), instances, statuses, checked, last)
}

// sessionBatch is the tick's instances: the SessionBatch after the cursor,
// wrapping around to the first ones.
func (m *Monitor) sessionBatch(ctx context.Context) ([]postgres.SessionInstance, error) {
	n := m.SessionBatch
	if n <= 0 {
		n = 64
	}
	cursor, err := m.Redis.Get(ctx, m.cursorKey()).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		m.Logger.WarnContext(ctx, "session check cursor unreadable; starting from the first instance", "error", err.Error())
	}
	batch, err := m.DB.SessionInstances(ctx, cursor, n)
	if err != nil || len(batch) == n || cursor == "" {
		return batch, err
	}
	more, err := m.DB.SessionInstances(ctx, "", n-len(batch))
	for _, in := range more {
		if in.ID > cursor || (len(batch) > 0 && in.ID == batch[0].ID) {
			break
		}
		batch = append(batch, in)
	}
	return batch, err
}

func (m *Monitor) cursorKey() string {
	if m.CursorKey != "" {
		return m.CursorKey
	}
	return "wm:sessions:cursor"
}

// recordSessions stores the states checked, moves the cursor past last and
// sets the active sessions gauge.
func (m *Monitor) recordSessions(ctx context.Context, instances []postgres.SessionInstance, statuses []SessionStatus, checked []bool, last string) error {
	at := m.now()
	var errs []error
	for i, inst := range instances {
		if checked[i] {
			errs = append(errs, m.DB.RecordSessionStatus(ctx, inst.ID, statuses[i].Connected, statuses[i].LoggedIn, at))
		}
	}
	if last != "" {
		errs = append(errs, m.Redis.Set(ctx, m.cursorKey(), last, 24*time.Hour).Err())
	}
	active, err := m.DB.ReadyInstances(ctx)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	if m.Metrics != nil {
		m.Metrics.ActiveSessions.Set(float64(active))
	}
	if m.Fleet != nil {
		errs = append(errs, m.Fleet.SetGauges(ctx, telemetry.Gauge{Name: "active_sessions_total", Value: float64(active)}))
	}
	return errors.Join(errs...)
}

func (m *Monitor) sessionStatus(ctx context.Context, inst postgres.SessionInstance) (SessionStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, sessionTimeout)
	defer cancel()
	st, err := wuzapi.New(inst.BaseURL, inst.Token, m.HTTP).Status(ctx)
	if err != nil {
		// Unreachable, token refused, not the WuzAPI envelope: it cannot send.
		return SessionStatus{}, err
	}
	return SessionStatus{Connected: st.Connected, LoggedIn: st.LoggedIn}, nil
}

// Evaluate checks every alert rule once and sends what is wrong:
// Postgres and Redis reachability, queue and dead-letter depths (which also
// set queue_jobs_total), the error rate, p95 latency and memory of the last
// Window, and instances that cannot send while campaigns wait on them. A
// check that cannot run because its dependency is down is covered by that
// dependency's alert; the error returned is only a failed delivery.
func (m *Monitor) Evaluate(ctx context.Context) error {
	now := m.now()
	th := m.Thresholds
	if th == (Thresholds{}) {
		th = DefaultThresholds
	}
	var alerts []Alert
	pingCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	dbErr := m.DB.Ping(pingCtx)
	redisErr := m.Redis.Ping(pingCtx).Err()
	cancel()
	if dbErr != nil {
		alerts = append(alerts, Alert{Type: TypePostgres, Severity: Critical, Message: "Postgres is not responding: " + dbErr.Error()})
	}
	if redisErr != nil {
		alerts = append(alerts, Alert{Type: TypeRedis, Severity: Critical, Message: "Redis is not responding: " + redisErr.Error()})
	}
	alerts = append(alerts, m.queueAlerts(ctx, redisErr == nil)...)
	if redisErr == nil && m.Fleet != nil {
		w, err := m.Fleet.Window(ctx, now, Window)
		if err != nil {
			m.Logger.WarnContext(ctx, "metrics window unavailable", "error", err.Error())
		} else {
			alerts = append(alerts, WindowAlerts(w, th, int(Window/time.Minute))...)
		}
	}
	if dbErr == nil {
		stalled, err := m.DB.StalledInstances(ctx)
		if err != nil {
			m.Logger.WarnContext(ctx, "stalled instances unavailable", "error", err.Error())
		} else if len(stalled) > 0 {
			parts := make([]string, 0, len(stalled))
			for _, s := range stalled {
				parts = append(parts, fmt.Sprintf("%s (%s, tenant %s, %d campaign(s) waiting)", quote.Name(s.Name), s.ID, s.TenantID, s.Campaigns))
			}
			alerts = append(alerts, Alert{Type: TypeWuzAPI, Severity: Critical, Message: "WuzAPI instances not connected while campaigns wait: " + strings.Join(parts, "; ")})
		}
	}
	var errs []error
	for _, a := range alerts {
		if _, err := m.Notifier.Send(ctx, a); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// queueAttributes are the depths read for queue_jobs_total.
var queueAttributes = []types.QueueAttributeName{
	types.QueueAttributeNameApproximateNumberOfMessages,
	types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
	types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
}

// queueAlerts reads every queue's depth into queue_jobs_total{queue_name,
// status} (visible, in_flight, delayed; dead = its DLQ's visible messages)
// and alerts on a dead-letter queue that holds messages or a queue that
// does not answer.
func (m *Monitor) queueAlerts(ctx context.Context, storeUp bool) []Alert {
	if m.SQS == nil {
		return nil
	}
	var gauges []telemetry.Gauge
	var dead, failed []string
	for _, q := range m.Queues {
		if q.URL != "" {
			attrs, err := m.depth(ctx, q.URL)
			if err != nil {
				failed = append(failed, fmt.Sprintf("%s: %v", q.Name, err))
			} else {
				for status, attr := range map[string]types.QueueAttributeName{
					"visible":   types.QueueAttributeNameApproximateNumberOfMessages,
					"in_flight": types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
					"delayed":   types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
				} {
					gauges = append(gauges, telemetry.Gauge{Name: "queue_jobs_total", Labels: []string{q.Name, status}, Value: attrs[attr]})
				}
			}
		}
		if q.DLQ != "" {
			attrs, err := m.depth(ctx, q.DLQ)
			if err != nil {
				failed = append(failed, fmt.Sprintf("%s dead-letter queue: %v", q.Name, err))
				continue
			}
			n := attrs[types.QueueAttributeNameApproximateNumberOfMessages] + attrs[types.QueueAttributeNameApproximateNumberOfMessagesNotVisible]
			gauges = append(gauges, telemetry.Gauge{Name: "queue_jobs_total", Labels: []string{q.Name, "dead"}, Value: n})
			if n > 0 {
				dead = append(dead, fmt.Sprintf("%s: %.0f message(s)", q.Name, n))
			}
		}
	}
	if m.Metrics != nil {
		for _, g := range gauges {
			m.Metrics.QueueJobs.WithLabelValues(g.Labels...).Set(g.Value)
		}
	}
	if storeUp && m.Fleet != nil {
		if err := m.Fleet.SetGauges(ctx, gauges...); err != nil {
			m.Logger.WarnContext(ctx, "queue gauges not stored", "error", err.Error())
		}
	}
	var out []Alert
	if len(dead) > 0 {
		sort.Strings(dead)
		out = append(out, Alert{Type: TypeDLQ, Severity: Critical, Message: "Messages in dead-letter queues: " + strings.Join(dead, ", ")})
	}
	if len(failed) > 0 {
		out = append(out, Alert{Type: TypeSQS, Severity: Critical, Message: "Queues are not answering: " + strings.Join(failed, "; ")})
	}
	return out
}

func (m *Monitor) depth(ctx context.Context, url string) (map[types.QueueAttributeName]float64, error) {
	out, err := m.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: queueAttributes})
	if err != nil {
		return nil, fmt.Errorf("read queue attributes: %w", err)
	}
	res := map[types.QueueAttributeName]float64{}
	for _, a := range queueAttributes {
		v, _ := strconv.ParseFloat(out.Attributes[string(a)], 64)
		res[a] = v
	}
	return res, nil
}
