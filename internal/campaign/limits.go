package campaign

import (
	"context"
	"time"
)

// SendPolicy is an instance's send limits, as the limiter needs them.
type SendPolicy struct {
	InstanceID          string
	MessagesPerMinute   int
	MinDelay, MaxDelay  time.Duration // gap between two sends, drawn uniformly
	HourlyCap, DailyCap int
	WarmupDays          int // 0 = warmed number
	MaxInFlight         int
	CreatedAt           time.Time      // instance creation: warm-up day 0
	Location            *time.Location // tenant time zone: the daily cap's calendar day
}

// Reservation is the limiter's answer to one send request.
type Reservation struct {
	Granted    bool
	RetryAfter time.Duration             // when not granted: earliest time a retry may succeed
	Reason     string                    // when not granted: "in_flight", "min_delay", "per_minute", "hourly_cap", "daily_cap"
	Release    func(ctx context.Context) // when granted: frees the in-flight slot once the send is done
}

// SendLimiter decides, fleet-wide, when an instance may send. An error means the limiter cannot decide
// (Redis down): the caller sends nothing (fail closed) and retries the chunk later.
type SendLimiter interface {
	Reserve(ctx context.Context, p SendPolicy) (Reservation, error)
}
