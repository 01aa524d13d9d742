package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Delivery is one event for one endpoint, as a consumer claims it.
type Delivery struct {
	ID         string
	EventID    string // the webhook-id of every attempt
	EndpointID string
	URL        string
	Secret     string
	Payload    []byte // the body of every attempt
	Attempts   int    // attempts made before this one
}

// Outcome is the result of one attempt.
type Outcome struct {
	At        time.Time
	Delivered bool
	Status    int    // the HTTP status, 0 when there was no answer
	Error     string // why it failed, for the tenant's delivery log
	// Next is when to try again; zero when the delivery is now failed.
	Next time.Time
}

// DueEndpoint is an endpoint with a pending delivery due by then.
type DueEndpoint struct {
	ID  string
	Due time.Time
}

// Store is the outbox as the deliverer uses it.
type Store interface {
	// Claim leases the endpoint's pending delivery due by now that waited
	// longest, until now+lease; false when none is due.
	Claim(ctx context.Context, endpointID string, now time.Time, lease time.Duration) (Delivery, bool, error)
	// Record stores an attempt's outcome and ends the lease.
	Record(ctx context.Context, d Delivery, o Outcome) error
	// NextDue returns when the endpoint's next pending delivery is due;
	// false when it has none.
	NextDue(ctx context.Context, endpointID string) (time.Time, bool, error)
	// DueEndpoints returns up to limit endpoints with a pending delivery
	// due by `by`, earliest first.
	DueEndpoints(ctx context.Context, by time.Time, limit int) ([]DueEndpoint, error)
	// Purge forgets events older than before whose deliveries are all
	// delivered or failed, and returns how many.
	Purge(ctx context.Context, before time.Time) (int64, error)
}

// Nudger asks for a delivery run of an endpoint after delay (a queue
// message; at most 15 minutes).
type Nudger interface {
	Nudge(ctx context.Context, endpointID string, delay time.Duration) error
}

// Deliverer posts deliveries.
type Deliverer struct {
	Store Store
	// HTTP posts; its timeout is the 10 s an endpoint has to answer.
	HTTP   *http.Client
	Nudger Nudger
	Now    func() time.Time
	Logger *slog.Logger
	// PerRun bounds the deliveries of one run; 50 when 0.
	PerRun int
}

// Timeout is how long an endpoint has to answer with a 2xx.
const Timeout = 10 * time.Second

const (
	lease      = time.Minute // longer than one attempt
	maxNudge   = 15 * time.Minute
	retention  = 30 * 24 * time.Hour
	relayAhead = time.Minute // the scheduler ticks every minute
	maxErrText = 300
)

// Run delivers the endpoint's due deliveries, oldest first, until none is
// due, one fails, the run's share is used or ctx nears its deadline; then
// it asks for the next run when the next delivery falls due (a failure
// waits at least its own retry time, so a failing endpoint is tried once
// per retry step, not in a loop).
func (d *Deliverer) Run(ctx context.Context, endpointID string) error {
	limit := d.PerRun
	if limit <= 0 {
		limit = 50
	}
	var wait time.Duration
	for range limit {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < 2*Timeout {
			break
		}
		del, ok, err := d.Store.Claim(ctx, endpointID, d.Now(), lease)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		o := d.attempt(ctx, del)
		if err := d.Store.Record(ctx, del, o); err != nil {
			return err
		}
		if !o.Delivered {
			if !o.Next.IsZero() {
				wait = o.Next.Sub(o.At)
			}
			break
		}
	}
	return d.nudgeNext(ctx, endpointID, wait)
}

// nudgeNext asks for the run that serves the endpoint's next due delivery,
// not before min; later than 15 minutes it is the scheduler's relay's.
func (d *Deliverer) nudgeNext(ctx context.Context, endpointID string, min time.Duration) error {
	due, ok, err := d.Store.NextDue(ctx, endpointID)
	if err != nil || !ok {
		return err
	}
	delay := max(due.Sub(d.Now()), min, 0)
	if delay > maxNudge {
		return nil
	}
	return d.Nudger.Nudge(ctx, endpointID, delay)
}

// attempt posts one delivery and says what came of it.
func (d *Deliverer) attempt(ctx context.Context, del Delivery) Outcome {
	now := d.Now()
	o := Outcome{At: now}
	status, err := d.post(ctx, del, now)
	o.Status = status
	switch {
	case err == nil && status >= 200 && status < 300:
		o.Delivered = true
		return o
	case err != nil:
		o.Error = truncate(err.Error())
	default:
		o.Error = "answered HTTP " + strconv.Itoa(status)
	}
	o.Next, _ = NextAttempt(del.Attempts+1, now)
	return o
}

func (d *Deliverer) post(ctx context.Context, del Delivery, now time.Time) (int, error) {
	sig, err := Sign(del.Secret, del.EventID, now, del.Payload)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, del.URL, bytes.NewReader(del.Payload))
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "wuzapi-manager-webhooks/1")
	req.Header.Set("webhook-id", del.EventID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := d.HTTP.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return 0, fmt.Errorf("no answer within %s", Timeout)
		}
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

func truncate(s string) string {
	if len(s) <= maxErrText {
		return s
	}
	return s[:maxErrText]
}

// Relay is the scheduler's job: it asks for a run of every endpoint with a
// delivery due before the next tick (a run that was lost, a retry more than
// 15 minutes after its failure, an event nobody nudged), and purges old
// events.
func (d *Deliverer) Relay(ctx context.Context) error {
	now := d.Now()
	due, err := d.Store.DueEndpoints(ctx, now.Add(relayAhead), 1000)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range due {
		if err := d.Nudger.Nudge(ctx, e.ID, max(e.Due.Sub(now), 0)); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := d.Store.Purge(ctx, now.Add(-retention)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// MessageType is the queue message type that asks for a delivery run.
const MessageType = "webhook.deliver"

// Message asks for a delivery run of one endpoint.
type Message struct {
	V          int    `json:"v"`
	Type       string `json:"type"`
	EndpointID string `json:"endpointId"`
}

// NewMessage is the message for endpoint id.
func NewMessage(endpointID string) Message {
	return Message{V: 1, Type: MessageType, EndpointID: endpointID}
}
