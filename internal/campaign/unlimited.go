package campaign

import "context"

// Unlimited is a SendLimiter that grants every send at once: for tests and
// benchmarks with limits disabled. Never use it in production: it ignores
// every send limit.
type Unlimited struct{}

// Reserve always grants.
func (Unlimited) Reserve(context.Context, SendPolicy) (Reservation, error) {
	return Reservation{Granted: true, Release: func(context.Context) {}}, nil
}
