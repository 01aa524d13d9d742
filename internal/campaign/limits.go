package campaign

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	// NewPerDay and NewPerHour bound first messages to new contacts (the
	// day one grows from NewContactWarmupStart during warm-up);
	// IdenticalPerHour bounds new contacts getting one same text.
	NewPerDay, NewPerHour int
	IdenticalPerHour      int

	// NewContact marks the send being reserved as a first message to a new
	// contact, whose final text hashes to TextHash (TextKey): it then also
	// meets the new-contact budgets and the identical-text cap.
	NewContact bool
	TextHash   string
}

// Reservation is the limiter's answer to one send request.
type Reservation struct {
	Granted    bool
	RetryAfter time.Duration             // when not granted: earliest time a retry may succeed
	Reason     string                    // when not granted: "in_flight", "min_delay", "per_minute", "hourly_cap", "daily_cap", or a new-contact limit
	Release    func(ctx context.Context) // when granted: frees the in-flight slot once the send is done
	// Slot names the granted send's in-flight slot for the limiter's
	// ReserveReleasing; "" when the limiter cannot hand a slot over.
	Slot string
	// Gap, when granted, is the gap drawn before the instance's next send:
	// no send of the instance starts before the grant plus Gap, so a
	// caller that cannot wait that long hands its work back for at least
	// Gap instead of asking again. Zero: no gap (or the limiter does not
	// say).
	Gap time.Duration
	// Units is how many sends a grant covers: one, unless more were asked
	// for (BatchReserver) and every limit had room for them. The caller
	// starts them one after another, each before Until and only for a
	// send of the kind reserved (a known contact, or a new contact with
	// the same text), and counts in Used those it started (the first at
	// once); the others are given back when the grant is handed over.
	Units, Used int
	Until       time.Time
}

// BatchReserver is a SlotHandover that grants several sends of an instance
// in one call when its limits draw no gap between two sends: the grant's
// sends share one in-flight slot, so they go one after another.
type BatchReserver interface {
	SlotHandover
	// ReserveBatch is ReserveReleasing asking for up to k sends of p's
	// kind; done's sends not started (Units - Used) are given back in the
	// same call.
	ReserveBatch(ctx context.Context, p SendPolicy, k int, done Reservation) (Reservation, error)
	// ReleaseBatch frees done's in-flight slot and gives back its sends
	// not started, in one call; p is the policy done was granted for.
	ReleaseBatch(ctx context.Context, p SendPolicy, done Reservation)
}

// SlotHandover is a SendLimiter that frees a finished send's in-flight slot
// in the same call that asks for the instance's next send: one round trip
// a send instead of two. done's slot is freed first, whatever the answer
// (its Release must not be called as well); an error may leave it taken
// until its lease ends, as a failed Release does.
type SlotHandover interface {
	ReserveReleasing(ctx context.Context, p SendPolicy, done Reservation) (Reservation, error)
}

// SendLimiter decides, fleet-wide, when an instance may send. An error means the limiter cannot decide
// (Redis down): the caller sends nothing (fail closed) and retries the chunk later.
type SendLimiter interface {
	Reserve(ctx context.Context, p SendPolicy) (Reservation, error)
}

// Share divides the campaign worker's concurrency between tenants: while
// another tenant has chunks waiting, no tenant holds more than half of it.
type Share interface {
	// Take asks for a slot to run one chunk of tenantID. Not granted: the
	// tenant already holds its share while another waits; the chunk is
	// handed back to the queue with a delay. A granted slot is freed by
	// release. An error means the share cannot decide (Redis down).
	Take(ctx context.Context, tenantID string) (release func(context.Context), granted bool, err error)
}

// TextKey names a final text for the identical-text cap: the hex SHA-256
// of its bytes, cut to 32 characters.
func TextKey(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:16])
}

// The limiter's refusal reasons of the new-contact limits: they refuse a
// first message to a new contact only; a known contact may still be sent.
const (
	LimitNewPerHour    = "new_contacts_per_hour"
	LimitNewPerDay     = "new_contacts_per_day"
	LimitIdenticalText = "identical_per_hour"
)

// NewContactLimit reports whether a refusal reason is a new-contact limit.
func NewContactLimit(reason string) bool {
	return reason == LimitNewPerHour || reason == LimitNewPerDay || reason == LimitIdenticalText
}
