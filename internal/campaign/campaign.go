// Package campaign is the domain of campaigns: states and
// their transitions, chunks, message rendering with variables and
// deterministic spintax, quiet hours, and the worker's send step with its
// retry classes. It speaks to storage, WuzAPI, the send limiter and the
// queue through the small interfaces it declares; it imports no pgx, Redis
// or AWS SDK. Clock and sleeps are injected.
package campaign

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

// Status is a campaign's state.
type Status string

// The campaign states.
const (
	Scheduled Status = "scheduled"
	Queued    Status = "queued"
	Running   Status = "running"
	Paused    Status = "paused"
	Completed Status = "completed"
	Failed    Status = "failed"
	Cancelled Status = "cancelled"
)

// Action is something that moves a campaign between states.
type Action string

// The actions.
const (
	ActRelease Action = "release" // the scheduler releases a due scheduled campaign
	ActStart   Action = "start"   // a worker takes its first chunk
	ActPause   Action = "pause"
	ActResume  Action = "resume"
	ActCancel  Action = "cancel"
	ActFinish  Action = "finish" // every recipient settled
	ActFail    Action = "fail"
	ActResend  Action = "resend" // some recipients go back to pending
)

// transitions is the state machine: from → action → to.
var transitions = map[Status]map[Action]Status{
	Scheduled: {ActRelease: Queued, ActCancel: Cancelled},
	Queued:    {ActStart: Running, ActPause: Paused, ActCancel: Cancelled, ActFinish: Completed, ActFail: Failed, ActResend: Queued},
	Running:   {ActPause: Paused, ActCancel: Cancelled, ActFinish: Completed, ActFail: Failed, ActResend: Running},
	Paused:    {ActResume: Queued, ActCancel: Cancelled, ActResend: Paused},
	Completed: {ActResend: Queued},
	Failed:    {ActResend: Queued, ActCancel: Cancelled},
	Cancelled: {},
}

// Next returns the state action leads to from s, or an INVALID_STATE error.
func Next(s Status, a Action) (Status, error) {
	to, ok := transitions[s][a]
	if !ok {
		return s, errcode.New(errcode.InvalidState, "cannot %s a campaign that is %s", a, s)
	}
	return to, nil
}

// From lists the states from which action is allowed (for the conditional
// UPDATE that applies it).
func From(a Action) []Status {
	var out []Status
	for _, s := range []Status{Scheduled, Queued, Running, Paused, Completed, Failed, Cancelled} {
		if _, ok := transitions[s][a]; ok {
			out = append(out, s)
		}
	}
	return out
}

// Terminal reports whether s is final for sending (nothing more goes out).
func (s Status) Terminal() bool { return s == Completed || s == Failed || s == Cancelled }

// RecipientStatus is a recipient's state.
type RecipientStatus string

// The recipient states.
const (
	RPending   RecipientStatus = "pending"
	RSending   RecipientStatus = "sending"
	RSent      RecipientStatus = "sent"
	RDelivered RecipientStatus = "delivered"
	RRead      RecipientStatus = "read"
	RFailed    RecipientStatus = "failed"
	RSkipped   RecipientStatus = "skipped"
	RUnknown   RecipientStatus = "unknown"
)

// ValidRecipientStatus reports whether s names a recipient state.
func ValidRecipientStatus(s string) bool {
	switch RecipientStatus(s) {
	case RPending, RSending, RSent, RDelivered, RRead, RFailed, RSkipped, RUnknown:
		return true
	}
	return false
}

// Campaign is one campaign as stored.
type Campaign struct {
	ID          string             `json:"id"`
	TenantID    string             `json:"-"`
	InstanceID  string             `json:"instanceId"`
	Name        string             `json:"name"`
	Message     string             `json:"message"`
	Status      Status             `json:"state"`
	Reason      *string            `json:"reason"`
	ScheduledAt *time.Time         `json:"scheduledAt"`
	QuietHours  *tenant.QuietHours `json:"quietHours"`
	CreatedAt   time.Time          `json:"createdAt"`
	StartedAt   *time.Time         `json:"startedAt"`
	FinishedAt  *time.Time         `json:"finishedAt"`
	Counts      Counts             `json:"counts"`
	// ReplyRate is Counts.ReplyRate: the share of sent recipients who replied.
	ReplyRate float64 `json:"replyRate"`
	// InstanceIDs is the campaign's pool (2–20 instances; InstanceID is
	// then its first), nil for a campaign on one instance.
	InstanceIDs []string `json:"instanceIds,omitempty"`
	// Rollout is the staged rollout, nil when the campaign sends at once.
	Rollout *Rollout `json:"rollout,omitempty"`
	// Instances is each instance's share of the campaign (its pool in
	// order, or its one instance); set by the single-campaign read only.
	Instances []CampaignInstance `json:"instances,omitempty"`
	// Media is the file sent with every message (Message is then its
	// caption), nil for a text campaign.
	Media     *Media `json:"media,omitempty"`
	Total     int    `json:"-"`
	Skipped   int    `json:"-"`
	ChunkSize int    `json:"-"`
	Chunks    int    `json:"-"`
}

// Media is a campaign's file as the worker sends it and the API shows it.
type Media struct {
	ID          string `json:"mediaId"`
	Kind        string `json:"kind"` // image, video, audio or document
	ContentType string `json:"contentType"`
	FileName    string `json:"fileName"`
	Size        int64  `json:"size"`
	// Status is the media's: a file replaced after its check is no longer
	// ready, and the worker then fails its recipients.
	Status    string `json:"status"`
	ObjectKey string `json:"-"`
	ETag      string `json:"-"` // the checked object's
}

// CampaignInstance is one instance's share of a campaign: the recipients
// it sent and those it holds pending (or sending).
type CampaignInstance struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Sent    int    `json:"sent"`
	Pending int    `json:"pending"`
}

// Rollout sends a first Share of the recipients, holds HoldMinutes, and
// releases the rest only when that slice's failed and opted-out shares stay
// within MaxFailedShare and MaxOptOutShare; otherwise the campaign pauses.
type Rollout struct {
	Share          float64 `json:"share"`
	HoldMinutes    int     `json:"holdMinutes"`
	MaxFailedShare float64 `json:"maxFailedShare"`
	MaxOptOutShare float64 `json:"maxOptOutShare"`
}

// The staged rollout's defaults.
const (
	DefaultRolloutShare          = 0.1
	DefaultRolloutHoldMinutes    = 60
	DefaultRolloutMaxFailedShare = 0.2
	DefaultRolloutMaxOptOutShare = 0.02
)

// Counts are a campaign's recipients by state. Sent counts every recipient
// whose send succeeded, so Delivered ⊆ Sent and Read ⊆ Delivered.
type Counts struct {
	Total     int `json:"total"`
	Pending   int `json:"pending"`
	Sending   int `json:"sending"`
	Sent      int `json:"sent"`
	Delivered int `json:"delivered"`
	Read      int `json:"read"`
	Failed    int `json:"failed"`
	Skipped   int `json:"skipped"`
	Unknown   int `json:"unknown"`
	// Replied counts the recipients who replied (an incoming message within
	// 72 hours of their send); Replied ⊆ Sent.
	Replied int `json:"replied"`
}

// ReplyRate is Replied / Sent rounded to 4 decimals, 0 when nobody was sent.
func (c Counts) ReplyRate() float64 {
	if c.Sent == 0 {
		return 0
	}
	return math.Round(float64(c.Replied)/float64(c.Sent)*10000) / 10000
}

// FromStatuses builds Counts from the number of recipients in each exact
// state; total is the campaign's contactCount.
func FromStatuses(total int, by map[RecipientStatus]int) Counts {
	return Counts{
		Total:     total,
		Pending:   by[RPending],
		Sending:   by[RSending],
		Sent:      by[RSent] + by[RDelivered] + by[RRead],
		Delivered: by[RDelivered] + by[RRead],
		Read:      by[RRead],
		Failed:    by[RFailed],
		Skipped:   by[RSkipped],
		Unknown:   by[RUnknown],
	}
}

// Progress is the status route's progress: round(100·(sent+failed+unknown)/total),
// 100 when total is 0.
func (c Counts) Progress() int {
	if c.Total == 0 {
		return 100
	}
	done := c.Sent + c.Failed + c.Unknown
	p := (200*done + c.Total) / (2 * c.Total) // round half up
	if p > 100 {
		p = 100
	}
	return p
}

// Instance is a tenant's WuzAPI instance with its send limits.
type Instance struct {
	ID                string `json:"id"`
	TenantID          string `json:"-"`
	Name              string `json:"name"`
	BaseURL           string `json:"baseUrl"`
	Token             string `json:"-"` // never returned by the API
	MessagesPerMinute int    `json:"messagesPerMinute"`
	MinDelayMs        int    `json:"minDelayMs"`
	MaxDelayMs        int    `json:"maxDelayMs"`
	HourlyCap         int    `json:"hourlyCap"`
	DailyCap          int    `json:"dailyCap"`
	WarmupDays        int    `json:"warmupDays"`
	MaxInFlight       int    `json:"maxInFlight"`
	// NewContactsPerDay and NewContactsPerHour bound first messages to
	// people who never wrote to the number (per calendar day, grown from
	// NewContactWarmupStart during warm-up, and per sliding hour).
	NewContactsPerDay  int `json:"newContactsPerDay"`
	NewContactsPerHour int `json:"newContactsPerHour"`
	// CheckNumbers asks WuzAPI whether a new contact is on WhatsApp before
	// the first send to it.
	CheckNumbers bool `json:"checkNumbers"`
	// Typing shows "typing…" before each send for a time that grows with the text.
	Typing bool `json:"typing"`
	// IdenticalPerHour caps the new contacts that get the same final text in any hour.
	IdenticalPerHour int       `json:"identicalPerHour"`
	CreatedAt        time.Time `json:"createdAt"`
}

// The safe send defaults of a new instance.
const (
	DefaultMessagesPerMinute = 2
	DefaultMinDelayMs        = 45000
	DefaultMaxDelayMs        = 90000
	DefaultHourlyCap         = 30
	DefaultDailyCap          = 200
	DefaultWarmupDays        = 10
	DefaultMaxInFlight       = 1

	DefaultNewContactsPerDay  = 20
	DefaultNewContactsPerHour = 8
	DefaultIdenticalPerHour   = 10
	DefaultCheckNumbers       = true
	DefaultTyping             = true
	// NewContactWarmupStart is a new number's new-contact budget on its
	// first day; it grows to NewContactsPerDay over the warm-up days.
	NewContactWarmupStart = 5
)

// The ranges an instance's sending-safety fields must fall in.
const (
	MinNewContactsPerDay  = 1
	MaxNewContactsPerDay  = 500
	MinNewContactsPerHour = 1
	MaxNewContactsPerHour = 200
	MinIdenticalPerHour   = 1
	MaxIdenticalPerHour   = 1000
)

// WithSafetyDefaults fills the sending-safety counts left at zero with their
// defaults (the booleans cannot tell "unset" from false: callers creating an
// instance set them from DefaultCheckNumbers and DefaultTyping).
func (i Instance) WithSafetyDefaults() Instance {
	if i.NewContactsPerDay <= 0 {
		i.NewContactsPerDay = DefaultNewContactsPerDay
	}
	if i.NewContactsPerHour <= 0 {
		i.NewContactsPerHour = DefaultNewContactsPerHour
	}
	if i.IdenticalPerHour <= 0 {
		i.IdenticalPerHour = DefaultIdenticalPerHour
	}
	return i
}

// Policy is the instance's limits as the send limiter needs them.
func (i Instance) Policy(loc *time.Location) SendPolicy {
	return SendPolicy{
		InstanceID:        i.ID,
		MessagesPerMinute: i.MessagesPerMinute,
		MinDelay:          time.Duration(i.MinDelayMs) * time.Millisecond,
		MaxDelay:          time.Duration(i.MaxDelayMs) * time.Millisecond,
		HourlyCap:         i.HourlyCap,
		DailyCap:          i.DailyCap,
		WarmupDays:        i.WarmupDays,
		MaxInFlight:       i.MaxInFlight,
		CreatedAt:         i.CreatedAt,
		Location:          loc,
		NewPerDay:         i.NewContactsPerDay,
		NewPerHour:        i.NewContactsPerHour,
		IdenticalPerHour:  i.IdenticalPerHour,
	}
}

// MessageID is the WhatsApp message id we give WuzAPI for a recipient's
// send: "3EB0" + 18 upper-case hex characters of
// sha256("<campaign>:<phone>:<generation>"). It is fixed before the call, so
// receipts can find the recipient; a resend bumps the generation. The
// postgres claim computes the same value in SQL (tested to agree).
func MessageID(campaignID, phone string, generation int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s:%s:%d", campaignID, phone, generation)))
	return "3EB0" + strings.ToUpper(hex.EncodeToString(sum[:])[:18])
}

// DefaultChunkSize is how many recipients (consecutive seq numbers) one
// queue message names.
const DefaultChunkSize = 100

// ChunkRange returns the seq range [lo, hi) of chunk n.
func ChunkRange(n, size int) (lo, hi int) { return n * size, (n + 1) * size }

// ChunkCount is the number of chunks of total recipients.
func ChunkCount(total, size int) int {
	if total <= 0 {
		return 0
	}
	return (total + size - 1) / size
}

// MaxAttempts is how many times a transiently failing send is tried.
const MaxAttempts = 3

// Backoff is the wait after the n-th failed attempt (1-based): 5 s, 10 s, 20 s, ...
func Backoff(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	return 5 * time.Second << (n - 1)
}

// QuietUntil reports whether now falls in the campaign's quiet hours (its
// own, else the tenant's) in loc, and when they end.
func QuietUntil(now time.Time, campaign, tenantDefault *tenant.QuietHours, loc *time.Location) (bool, time.Time) {
	q := campaign
	if q == nil {
		q = tenantDefault
	}
	if q == nil {
		return false, time.Time{}
	}
	return q.Until(now, loc)
}

// ChunkMessage is the body of a campaigns-queue message: one chunk of one
// campaign, never a list of phones.
type ChunkMessage struct {
	V          int    `json:"v"`
	Type       string `json:"type"`
	CampaignID string `json:"campaignId"`
	Chunk      int    `json:"chunk"`
	// Gen is the chunk generation the message belongs to; a message of an
	// older one is dropped (messages from before generations carry 0, as
	// do their campaigns).
	Gen int64 `json:"gen"`
}

// ChunkType is the envelope type of chunk messages.
const ChunkType = "campaign.chunk"

// Enqueuer hands chunk messages to the campaigns queue, delayed by delay
// (at most 15 minutes, SQS's limit).
type Enqueuer interface {
	EnqueueChunks(ctx context.Context, campaignID string, gen int64, chunks []int, delay time.Duration) error
}

// MaxQueueDelay is the longest delay SQS accepts on a message.
const MaxQueueDelay = 15 * time.Minute
