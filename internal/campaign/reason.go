package campaign

import (
	"context"
	"strings"
	"sync"
)

// reasonNote is what one invocation knows of its campaign's reason: the
// reason as it loaded or last wrote it, and whether it set one. A reason
// is written only when it changes, and a wait the campaign still shows
// from an earlier invocation is cleared only when this one waits for
// nothing: at safe pacing every invocation ends waiting for the same
// gap, and writes no reason at all.
type reasonNote struct {
	mu  sync.Mutex
	cur string
	set bool
}

// setReason sets the campaign's reason to reason unless it already is.
func (w *Worker) setReason(ctx context.Context, job Job, reason string) error {
	n := job.reason
	if n == nil {
		return w.Store.SetReason(ctx, job.Campaign.ID, reason)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.set = true
	if n.cur == reason {
		return nil
	}
	if err := w.Store.SetReason(ctx, job.Campaign.ID, reason); err != nil {
		return err
	}
	n.cur = reason
	return nil
}

// clearWaiting clears the wait ("waiting: …") the campaign's reason shows
// from an earlier invocation, unless this invocation set a reason itself:
// the campaign sends again, or waits for nothing.
func (w *Worker) clearWaiting(ctx context.Context, job Job) error {
	n := job.reason
	if n == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.set || !strings.HasPrefix(n.cur, "waiting:") {
		return nil
	}
	if err := w.Store.ClearWaiting(ctx, job.Campaign.ID); err != nil {
		return err
	}
	n.cur = ""
	return nil
}

// waitingSendLimit is the reason of a campaign whose instance's send
// limit (the limiter's reason) holds its next send.
func waitingSendLimit(limit string) string { return "waiting: send limit (" + limit + ")" }
