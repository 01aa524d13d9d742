package receipt

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// StoredEvent is a webhook event as the webhook stored it.
type StoredEvent struct {
	ID       string
	Instance Instance
	Payload  []byte
}

// EventLog is the durable record of webhook events and kept receipts.
type EventLog interface {
	// Unapplied returns up to limit stored events received before `before`
	// that are not applied yet (and not given up on).
	Unapplied(ctx context.Context, before time.Time, limit int) ([]StoredEvent, error)
	// Finish records the outcome of applying an event (nil: applied).
	Finish(ctx context.Context, id string, applyErr error) error
	// ApplyPending applies every kept receipt whose message id a recipient
	// now carries, and returns how many.
	ApplyPending(ctx context.Context) (int, error)
	// Purge forgets applied events and kept receipts older than their
	// retention, measured from now.
	Purge(ctx context.Context, now time.Time) error
}

// Sweeper is the scheduler's receipts job: it applies events the webhook
// stored but could not apply, applies kept receipts whose send has been
// recorded since (closing the race of a receipt kept while the worker was
// writing the message id), and purges old rows.
type Sweeper struct {
	Log   EventLog
	Store Store
	Now   func() time.Time
	// Grace leaves just-stored events to the webhook that is applying
	// them; one minute when 0.
	Grace time.Duration
}

// Run does one sweep. Every step runs even when one fails.
func (s Sweeper) Run(ctx context.Context) error {
	now := s.Now()
	grace := s.Grace
	if grace <= 0 {
		grace = time.Minute
	}
	var errs []error
	evs, err := s.Log.Unapplied(ctx, now.Add(-grace), 500)
	if err != nil {
		errs = append(errs, err)
	}
	for _, e := range evs {
		ev, perr := ParseJSON(e.Payload)
		var applyErr error
		if perr != nil {
			applyErr = perr // stored, yet unreadable: recorded, tried no more than the limit
		} else {
			_, applyErr = Apply(ctx, s.Store, e.Instance, ev, now)
		}
		if err := s.Log.Finish(ctx, e.ID, applyErr); err != nil {
			errs = append(errs, err)
		}
		if applyErr != nil {
			errs = append(errs, fmt.Errorf("reapply event %s: %w", e.ID, applyErr))
		}
	}
	if _, err := s.Log.ApplyPending(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := s.Log.Purge(ctx, now); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
