package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"
)

// ParseRate parses an EventBridge rate expression: rate(1 minute),
// rate(5 minutes), rate(2 hours), rate(1 day). cron(...) and at(...) are
// not supported by the local scheduler.
func ParseRate(expr string) (time.Duration, error) {
	inner, ok := strings.CutPrefix(expr, "rate(")
	if !ok || !strings.HasSuffix(inner, ")") {
		return 0, fmt.Errorf("schedule %q: only rate(N unit) expressions run locally", expr)
	}
	fields := strings.Fields(strings.TrimSuffix(inner, ")"))
	if len(fields) != 2 {
		return 0, fmt.Errorf("schedule %q: want rate(N unit)", expr)
	}
	n, err := strconv.Atoi(fields[0])
	if err != nil || n < 1 {
		return 0, fmt.Errorf("schedule %q: %q is not a positive whole number", expr, fields[0])
	}
	units := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}
	unit := fields[1]
	// EventBridge wants the singular for 1 and the plural otherwise.
	if n == 1 && strings.HasSuffix(unit, "s") {
		return 0, fmt.Errorf("schedule %q: use the singular unit for 1", expr)
	}
	if n != 1 {
		var plural bool
		unit, plural = strings.CutSuffix(unit, "s")
		if !plural {
			return 0, fmt.Errorf("schedule %q: use the plural unit for %d", expr, n)
		}
	}
	d, ok := units[unit]
	if !ok {
		return 0, fmt.Errorf("schedule %q: unit %q is not minute, hour or day", expr, fields[1])
	}
	return time.Duration(n) * d, nil
}

// ticker invokes a function with an EventBridge scheduled event at a fixed
// rate. Like EventBridge it does not wait for one invocation to end before
// the next tick; the function's instances bound how many run at once.
type ticker struct {
	function string
	rule     string // ARN of the rule named in the event's resources
	region   string
	account  string
	every    time.Duration
	invoke   invoker
	log      *slog.Logger
}

// run ticks until ctx ends; invocations in flight are tracked by wg.
func (t *ticker) run(ctx context.Context, wg *sync.WaitGroup) {
	tk := time.NewTicker(t.every)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tk.C:
			payload, err := json.Marshal(ScheduledEvent(t.rule, t.account, t.region, now))
			if err != nil {
				t.log.Error("encode scheduled event", "err", err)
				continue
			}
			wg.Go(func() {
				if _, err := t.invoke(ctx, payload); err != nil && !errors.Is(err, ErrClosed) && ctx.Err() == nil {
					t.log.Warn("scheduled invocation failed", "function", t.function, "err", err)
				}
			})
		}
	}
}

// ScheduledEvent is the event EventBridge sends a scheduled rule's target.
func ScheduledEvent(ruleARN, account, region string, at time.Time) events.CloudWatchEvent {
	return events.CloudWatchEvent{
		Version:    "0",
		ID:         uuid.NewString(),
		DetailType: "Scheduled Event",
		Source:     "aws.events",
		AccountID:  account,
		Time:       at.UTC().Truncate(time.Second),
		Region:     region,
		Resources:  []string{ruleARN},
		Detail:     json.RawMessage("{}"),
	}
}
