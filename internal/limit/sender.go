package limit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	randv2 "math/rand/v2"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
)

// The safe defaults (from the evidence of which send rates get numbers banned),
// applied to a SendPolicy count that is zero or less.
const (
	DefaultMessagesPerMinute = 2
	DefaultHourlyCap         = 30
	DefaultDailyCap          = 200
	DefaultMaxInFlight       = 1
	// WarmupStart is a new number's daily cap on its first day.
	WarmupStart = 15
)

// Refusal reasons of campaign.Reservation.
const (
	ReasonInFlight  = "in_flight"
	ReasonMinDelay  = "min_delay"
	ReasonPerMinute = "per_minute"
	ReasonHourlyCap = "hourly_cap"
	ReasonDailyCap  = "daily_cap"
	// The new-contact limits: they refuse a first message to a new
	// contact only; a known contact may still be sent.
	ReasonNewPerHour    = campaign.LimitNewPerHour
	ReasonNewPerDay     = campaign.LimitNewPerDay
	ReasonIdenticalText = campaign.LimitIdenticalText
)

// SenderOptions configure a Sender. Redis is required.
type SenderOptions struct {
	Redis redis.UniversalClient
	// Prefix is put before every Redis key (tests isolate themselves with it).
	Prefix string
	// Now is the clock; time.Now when nil. Every worker's clock must agree
	// (NTP) for the windows to hold across the fleet.
	Now func() time.Time
	// Rand draws the gap between two sends: a uniform number in [0, 1);
	// math/rand/v2 when nil.
	Rand func() float64
	// LeaseTTL is how long an in-flight slot stays taken when its worker
	// never releases it (a crash, a Lambda timeout); default 2 minutes,
	// longer than a send may take.
	LeaseTTL time.Duration
	// InFlightPoll is the retry hint when every in-flight slot is taken: a
	// slot frees the moment its send ends, which no one can predict
	// (default 1 s).
	InFlightPoll time.Duration
	Logger       *slog.Logger // discards when nil
}

// Sender is the fleet-wide send limiter: per WuzAPI instance,
// at most MaxInFlight sends at once, a gap drawn from [MinDelay, MaxDelay]
// between the starts of two sends, MessagesPerMinute over any sliding 60 s,
// HourlyCap over any sliding hour and the (warm-up) daily cap per calendar
// day in the tenant's time zone. A grant counts as a send whether or not the
// send then succeeds: a failed send may still have reached WhatsApp.
// It implements campaign.SendLimiter and is safe for concurrent use.
type Sender struct {
	opts SenderOptions
	log  *slog.Logger
}

var _ campaign.SendLimiter = (*Sender)(nil)

// NewSender builds a Sender.
func NewSender(opts SenderOptions) *Sender {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = randv2.Float64
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 2 * time.Minute
	}
	if opts.InFlightPoll <= 0 {
		opts.InFlightPoll = time.Second
	}
	opts.Redis = honourDeadlines(opts.Redis)
	s := &Sender{opts: opts, log: opts.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// reserveScript checks every limit of one instance and, when all allow,
// takes the send in the same step, so concurrent workers can never both take
// the last unit of any limit. Times are milliseconds of the caller's clock.
// A first message to a new contact (ARGV[12] = 1) also meets the
// new-contact budgets and the identical-text cap, and takes a unit of each.
//
// Every window is counted by score (ZCOUNT over the window), so entries
// that fell out of it count for nothing whether or not they were removed
// yet, and a window is not counted at all when a wider one over the same
// sends is already under its cap (the minute within the hour, the
// new-contact hour within the 24 hours, one text's within all texts'): the sets are trimmed, and their expiries renewed, at most once per
// trimEvery per instance (the time of the last trim is in the today hash),
// not on every send. A set then holds at most its window plus trimEvery of
// entries, and each key outlives its newest entry's window (the expiry
// set at a trim covers the sends of the next trimEvery). The text's own set
// (KEYS[7]) gets its expiry with every send: each text has its own key.
//
//	KEYS[1] leases: sorted set of in-flight sends, scored by lease expiry
//	KEYS[2] sent: sorted set of the last hour's sends, scored by start
//	KEYS[3] next: the earliest start of the next send (the drawn gap)
//	KEYS[4] today: hash of the day's counts: last (ms of the last counted
//	        send), n (sends), new (new-contact sends), trim (ms of the last
//	        trim); see dayScript
//	KEYS[5] newsent: sorted set of the last hour's new-contact sends
//	KEYS[6] new24: sorted set of the last 24 hours' new-contact sends
//	KEYS[7] same: sorted set of the last hour's new-contact sends of one text
//	KEYS[8], KEYS[9] the dated day counters of earlier versions, read once
//	ARGV: now, lease, maxInFlight, perMinute, hourlyCap, dailyCap, gap,
//	      member (unique), start and end (ms) of the current calendar day in
//	      the tenant's zone, in-flight poll, new contact (0/1), new per hour,
//	      new per day, identical per hour, trimEvery, done (the member of
//	      the caller's finished send of this instance, "" for none: its
//	      lease is removed before anything is counted, whatever the answer)
//
// Reply: {1} granted, or {0, wait ms, reason}: the wait is the longest of
// every limit's own wait, so a retry after it passes them all unless others
// sent meanwhile; the reason is the limit with that longest wait.
var reserveScript = redis.NewScript(dayScript + `
local now = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
local wait, reason = 0, ''
local function need(w, r)
  if w > wait then wait, reason = w, r end
end
local function since(ms) return '(' .. string.format('%d', ms) end
-- count is how many of key's entries are scored after now - span; over
-- waits, when that count n is at cap or over, until the entry that must
-- leave the window has left it.
local function count(key, span) return redis.call('ZCOUNT', key, since(now - span), '+inf') end
local function over(key, n, cap, span, r)
  if n >= cap then
    local e = redis.call('ZRANGEBYSCORE', key, since(now - span), '+inf', 'WITHSCORES', 'LIMIT', n - cap, 1)
    need(tonumber(e[2]) + span - now, r)
  end
end
-- window is count and over; it returns the count. bound, when given, is
-- a count this window cannot exceed (a wider window's of the same sends,
-- or of a superset of them): under the cap it decides without counting.
local function window(key, cap, span, r, bound)
  if bound and bound < cap then return bound end
  local n = count(key, span)
  over(key, n, cap, span, r)
  return n
end
if ARGV[17] ~= '' then redis.call('ZREM', KEYS[1], ARGV[17]) end
local inflight = redis.call('ZCOUNT', KEYS[1], since(now), '+inf')
if inflight >= tonumber(ARGV[3]) then
  local first = redis.call('ZRANGEBYSCORE', KEYS[1], since(now), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  need(math.min(tonumber(first[2]) - now, tonumber(ARGV[11])), 'in_flight')
end
local nextAt = tonumber(redis.call('GET', KEYS[3]) or '0')
if nextAt > now then need(nextAt - now, 'min_delay') end
local inHour = count(KEYS[2], 3600000)
window(KEYS[2], tonumber(ARGV[4]), 60000, 'per_minute', inHour)
over(KEYS[2], inHour, tonumber(ARGV[5]), 3600000, 'hourly_cap')
local dayEnd = tonumber(ARGV[10])
local today, newToday, trimmed = countingDay(KEYS[4], KEYS[8], KEYS[9], tonumber(ARGV[9]))
if today >= tonumber(ARGV[6]) then need(dayEnd - now, 'daily_cap') end
local isNew = ARGV[12] == '1'
if isNew then
  -- The day's budget holds in the calendar day and in any 24 hours: a
  -- calendar day alone would let a day's budget go out just before
  -- midnight and the next day's just after it, twice the budget in 24
  -- hours, which is what WhatsApp counts. Every new-contact send is in
  -- all three sets, one text's in its own as well.
  local in24 = count(KEYS[6], 86400000)
  local newHour = window(KEYS[5], tonumber(ARGV[13]), 3600000, 'new_contacts_per_hour', in24)
  window(KEYS[7], tonumber(ARGV[15]), 3600000, 'identical_per_hour', newHour)
  over(KEYS[6], in24, tonumber(ARGV[14]), 86400000, 'new_contacts_per_day')
  if newToday >= tonumber(ARGV[14]) then need(dayEnd - now, 'new_contacts_per_day') end
end
if wait > 0 then return {0, wait, reason} end
local member = ARGV[8]
redis.call('ZADD', KEYS[1], now + lease, member)
redis.call('ZADD', KEYS[2], now, member)
local gap = tonumber(ARGV[7])
redis.call('SET', KEYS[3], string.format('%d', now + gap), 'PX', gap + 1000)
local newInc = 0
if isNew then newInc = 1 end
local trimEvery = tonumber(ARGV[16])
local trim = now - trimmed >= trimEvery or trimmed > now
local fields = {'last', string.format('%d', now), 'n', today + 1, 'new', newToday + newInc}
if trim then
  table.insert(fields, 'trim')
  table.insert(fields, string.format('%d', now))
end
redis.call('HSET', KEYS[4], unpack(fields))
if isNew then
  redis.call('ZADD', KEYS[5], now, member)
  redis.call('ZADD', KEYS[7], now, member)
  redis.call('PEXPIRE', KEYS[7], 3600000 + 60000)
  redis.call('ZADD', KEYS[6], now, member)
end
if trim then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 3600000)
  redis.call('PEXPIRE', KEYS[1], lease + trimEvery + 1000)
  redis.call('PEXPIRE', KEYS[2], 3600000 + trimEvery + 60000)
  redis.call('PEXPIRE', KEYS[4], 2 * 86400000)
  for _, k in ipairs({{KEYS[5], 3600000}, {KEYS[6], 86400000}}) do
    redis.call('ZREMRANGEBYSCORE', k[1], '-inf', now - k[2])
    redis.call('PEXPIRE', k[1], k[2] + trimEvery + 60000)
  end
  if isNew then redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', now - 3600000) end
end
return {1}
`)

// trimEvery is how often the reserve script trims an instance's sets and
// renews their expiries (at most once per interval per instance).
const trimEvery = time.Minute

// dayScript is the Lua function that decides the daily caps' counts. They
// live in one hash with the time of the last counted send, not under a key
// named for the local date: a tenant that changes its time zone would
// otherwise find a new date, hence a fresh daily cap, on the same day. The
// counts start at zero only when the last counted send came before the
// current local day began; otherwise they carry on until that day ends, so
// changing the zone can delay a fresh cap but never grants one early. With
// the zone unchanged it is the calendar day, as before.
//
// countingDay(key, legacyDay, legacyNew, dayStart) returns the day's sends
// and new-contact sends, and the time of the instance's last trim (0:
// none yet); it writes nothing. The date-named counters of earlier
// versions are read while the hash does not exist yet.
const dayScript = `
local function countingDay(key, legacyDay, legacyNew, dayStart)
  local d = redis.call('HMGET', key, 'last', 'n', 'new', 'trim')
  local trimmed = tonumber(d[4] or '0')
  if not d[1] then
    return tonumber(redis.call('GET', legacyDay) or '0'), tonumber(redis.call('GET', legacyNew) or '0'), trimmed
  end
  if tonumber(d[1]) < dayStart then return 0, 0, trimmed end
  return tonumber(d[2] or '0'), tonumber(d[3] or '0'), trimmed
end
`

// Reserve asks to start one send of p's instance now. Granted: the send may
// start, and Release must be called when it ends, or the reservation
// handed to the instance's next ReserveReleasing (a crashed worker's slot
// frees itself after LeaseTTL); Gap is the gap drawn before the instance's
// next send. Not granted: RetryAfter and Reason say when
// and why. An error means Redis could not decide: send nothing.
func (s *Sender) Reserve(ctx context.Context, p campaign.SendPolicy) (campaign.Reservation, error) {
	return s.reserve(ctx, p, "")
}

var _ campaign.SlotHandover = (*Sender)(nil)

// ReserveReleasing frees done's in-flight slot and asks for p's next send in
// one script call: the lease is removed before the limits are counted, so
// with maxInFlight 1 a worker's finished send never holds up its own next
// one. A slot of another instance (or none) is released on its own first.
func (s *Sender) ReserveReleasing(ctx context.Context, p campaign.SendPolicy, done campaign.Reservation) (campaign.Reservation, error) {
	inst, member, ok := strings.Cut(done.Slot, " ")
	if !ok || inst != p.InstanceID {
		if done.Release != nil {
			done.Release(ctx)
		}
		member = ""
	}
	return s.reserve(ctx, p, member)
}

// reserve runs the reserve script; done is the member of the caller's
// finished send to free first ("" for none).
func (s *Sender) reserve(ctx context.Context, p campaign.SendPolicy, done string) (campaign.Reservation, error) {
	if p.InstanceID == "" {
		return campaign.Reservation{}, errors.New("reserve a send: the policy names no instance")
	}
	p = withDefaults(p)
	now := s.opts.Now()
	dayStart, dayEnd := calendarDay(now, p.Location)
	gap := p.MinDelay
	if p.MaxDelay > p.MinDelay {
		gap += time.Duration(s.opts.Rand() * float64(p.MaxDelay-p.MinDelay))
	}
	member := newMember()
	base := s.opts.Prefix + "send:{" + p.InstanceID + "}:"
	keys := []string{base + "leases", base + "sent", base + "next", base + "today",
		base + "newsent", base + "new24", base + "same:" + p.TextHash}
	keys = append(keys, legacyDayKeys(base, now, p.Location)...)
	isNew := 0
	if p.NewContact {
		isNew = 1
	}
	reply, err := reserveScript.Run(ctx, s.opts.Redis, keys,
		now.UnixMilli(), s.opts.LeaseTTL.Milliseconds(), p.MaxInFlight, p.MessagesPerMinute,
		p.HourlyCap, DailyCap(p, now), gap.Milliseconds(), member,
		dayStart.UnixMilli(), dayEnd.UnixMilli(),
		s.opts.InFlightPoll.Milliseconds(),
		isNew, p.NewPerHour, NewContactBudget(p, now), p.IdenticalPerHour, trimEvery.Milliseconds(), done,
	).Slice()
	if err != nil {
		return campaign.Reservation{}, fmt.Errorf("reserve a send of instance %s: %w", p.InstanceID, err)
	}
	if len(reply) == 0 {
		return campaign.Reservation{}, fmt.Errorf("reserve a send of instance %s: empty reply", p.InstanceID)
	}
	if g, _ := reply[0].(int64); g == 1 {
		return campaign.Reservation{Granted: true, Gap: gap, Slot: p.InstanceID + " " + member, Release: func(ctx context.Context) {
			if err := s.opts.Redis.ZRem(ctx, keys[0], member).Err(); err != nil {
				s.log.WarnContext(ctx, "send slot not released; it frees itself when its lease ends",
					"instance_id", p.InstanceID, "lease", s.opts.LeaseTTL.String(), "error", err.Error())
			}
		}}, nil
	}
	if len(reply) != 3 {
		return campaign.Reservation{}, fmt.Errorf("reserve a send of instance %s: unexpected reply %v", p.InstanceID, reply)
	}
	wait, _ := reply[1].(int64)
	reason, _ := reply[2].(string)
	return campaign.Reservation{RetryAfter: time.Duration(wait) * time.Millisecond, Reason: reason}, nil
}

// withDefaults fills the counts a policy left at zero with the
// safe defaults; a zero gap stays zero (no gap), as the instance asked.
func withDefaults(p campaign.SendPolicy) campaign.SendPolicy {
	if p.MessagesPerMinute <= 0 {
		p.MessagesPerMinute = DefaultMessagesPerMinute
	}
	if p.HourlyCap <= 0 {
		p.HourlyCap = DefaultHourlyCap
	}
	if p.DailyCap <= 0 {
		p.DailyCap = DefaultDailyCap
	}
	if p.MaxInFlight <= 0 {
		p.MaxInFlight = DefaultMaxInFlight
	}
	if p.NewPerDay <= 0 {
		p.NewPerDay = campaign.DefaultNewContactsPerDay
	}
	if p.NewPerHour <= 0 {
		p.NewPerHour = campaign.DefaultNewContactsPerHour
	}
	if p.IdenticalPerHour <= 0 {
		p.IdenticalPerHour = campaign.DefaultIdenticalPerHour
	}
	if p.MaxDelay < p.MinDelay {
		p.MaxDelay = p.MinDelay
	}
	if p.Location == nil {
		p.Location = time.UTC
	}
	return p
}

// DailyCap is the instance's daily cap at now: during warm-up it grows
// linearly from WarmupStart on the day of CreatedAt (day 0) to DailyCap on
// day WarmupDays, a day being 24 hours since creation; WarmupDays 0 is a
// warmed number.
func DailyCap(p campaign.SendPolicy, now time.Time) int {
	p = withDefaults(p)
	if p.WarmupDays <= 0 || p.CreatedAt.IsZero() {
		return p.DailyCap
	}
	day := int(now.Sub(p.CreatedAt) / (24 * time.Hour))
	start := min(WarmupStart, p.DailyCap)
	switch {
	case day < 0:
		return start
	case day >= p.WarmupDays:
		return p.DailyCap
	}
	return start + (p.DailyCap-start)*day/p.WarmupDays
}

// NewContactBudget is the instance's new-contact budget for the calendar
// day at now: during warm-up it grows like DailyCap, from
// campaign.NewContactWarmupStart on day 0 to NewPerDay on day WarmupDays.
func NewContactBudget(p campaign.SendPolicy, now time.Time) int {
	p = withDefaults(p)
	if p.WarmupDays <= 0 || p.CreatedAt.IsZero() {
		return p.NewPerDay
	}
	day := int(now.Sub(p.CreatedAt) / (24 * time.Hour))
	start := min(campaign.NewContactWarmupStart, p.NewPerDay)
	switch {
	case day < 0:
		return start
	case day >= p.WarmupDays:
		return p.NewPerDay
	}
	return start + (p.NewPerDay-start)*day/p.WarmupDays
}

// newMember names one send uniquely in the sorted sets.
func newMember() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// CheckInterval is the least time between two WuzAPI number checks of one
// instance: mass "is on WhatsApp" checks get numbers locked.
const CheckInterval = 10 * time.Second

// TakeCheckSlot asks to make one number check (/user/check) of the
// instance now, fleet-wide at most one per CheckInterval. Refused, wait
// says when the next may go. An error means Redis could not decide: check
// nothing.
func (s *Sender) TakeCheckSlot(ctx context.Context, instanceID string) (ok bool, wait time.Duration, err error) {
	key := s.opts.Prefix + "check:{" + instanceID + "}"
	ok, err = s.opts.Redis.SetNX(ctx, key, "1", CheckInterval).Result()
	if err != nil {
		return false, 0, fmt.Errorf("take a number check of instance %s: %w", instanceID, err)
	}
	if ok {
		return true, 0, nil
	}
	wait, err = s.opts.Redis.PTTL(ctx, key).Result()
	if err != nil {
		return false, 0, fmt.Errorf("take a number check of instance %s: %w", instanceID, err)
	}
	if wait <= 0 {
		wait = time.Second
	}
	return false, wait, nil
}

var _ campaign.BudgetReader = (*Sender)(nil)

// Today reads what p's instance sent on the current calendar day (the
// tenant's time zone, on the Sender's clock) and its first messages of the
// last 24 hours from the keys Reserve counts in, with the day's caps. It
// takes nothing.
func (s *Sender) Today(ctx context.Context, p campaign.SendPolicy) (campaign.Today, error) {
	if p.InstanceID == "" {
		return campaign.Today{}, errors.New("read today's sends: the policy names no instance")
	}
	p = withDefaults(p)
	now := s.opts.Now()
	dayStart, _ := calendarDay(now, p.Location)
	base := s.opts.Prefix + "send:{" + p.InstanceID + "}:"
	keys := append([]string{base + "today"}, legacyDayKeys(base, now, p.Location)...)
	keys = append(keys, base+"new24")
	vals, err := todayScript.Run(ctx, s.opts.Redis, keys, dayStart.UnixMilli(), now.UnixMilli()).Int64Slice()
	if err != nil || len(vals) != 3 {
		return campaign.Today{}, fmt.Errorf("read today's sends of instance %s: %v", p.InstanceID, err)
	}
	return campaign.Today{Sent: int(vals[0]), NewContacts: int(vals[1]), NewContactsLast24h: int(vals[2]),
		NewContactsBudget: NewContactBudget(p, now), DailyCap: DailyCap(p, now)}, nil
}

// todayScript reads the counting day's sends and the last 24 hours'
// first messages as Reserve counts them.
var todayScript = redis.NewScript(dayScript + `
local n, new = countingDay(KEYS[1], KEYS[2], KEYS[3], tonumber(ARGV[1]))
local last24 = redis.call('ZCOUNT', KEYS[4], '(' .. string.format('%d', tonumber(ARGV[2]) - 86400000), '+inf')
return {n, new, last24}
`)

// calendarDay returns the start and end of now's calendar day in loc.
func calendarDay(now time.Time, loc *time.Location) (start, end time.Time) {
	l := now.In(loc)
	start = time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	return start, time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, loc)
}

// legacyDayKeys are the day counters earlier versions kept under the
// local date; they are read until the instance's first send in this
// version writes the counting-day hash.
func legacyDayKeys(base string, now time.Time, loc *time.Location) []string {
	day := now.In(loc).Format(time.DateOnly)
	return []string{base + "day:" + day, base + "newday:" + day}
}
