package limit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	randv2 "math/rand/v2"
	"strconv"
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
//	KEYS[10] same: the text set of the caller's finished grant
//	ARGV: now, lease, maxInFlight, perMinute, hourlyCap, dailyCap, gap,
//	      member (unique), start and end (ms) of the current calendar day in
//	      the tenant's zone, in-flight poll, new contact (0/1), new per hour,
//	      new per day, identical per hour, trimEvery, done (the member of
//	      the caller's finished grant of this instance, "" for none: its
//	      lease is removed, and its sends done from..done to-1 given back,
//	      before anything is counted, whatever the answer), sends asked
//	      for (k), done from, done to, done granted at, done new (0/1)
//
// With no gap drawn (gap 0) up to k sends are granted at once: as many as
// every window has room for, each counted as a send at now (members
// unit(member, i)), sharing one lease: they go one after another.
//
// Reply: {1, sends granted}, or {0, wait ms, reason}: the wait is the
// longest of every limit's own wait, so a retry after it passes them all
// unless others sent meanwhile; the reason is the limit with that longest
// wait.
var reserveScript = redis.NewScript(dayScript + unitScript + `
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
giveBack(KEYS, ARGV[17], tonumber(ARGV[19]), tonumber(ARGV[20]), tonumber(ARGV[21]), ARGV[22] == '1', tonumber(ARGV[9]))
local inflight = redis.call('ZCOUNT', KEYS[1], since(now), '+inf')
if inflight >= tonumber(ARGV[3]) then
  local first = redis.call('ZRANGEBYSCORE', KEYS[1], since(now), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  need(math.min(tonumber(first[2]) - now, tonumber(ARGV[11])), 'in_flight')
end
local nextAt = tonumber(redis.call('GET', KEYS[3]) or '0')
if nextAt > now then need(nextAt - now, 'min_delay') end
local inHour = count(KEYS[2], 3600000)
local inMinute = window(KEYS[2], tonumber(ARGV[4]), 60000, 'per_minute', inHour)
over(KEYS[2], inHour, tonumber(ARGV[5]), 3600000, 'hourly_cap')
local dayEnd = tonumber(ARGV[10])
local today, newToday, trimmed = countingDay(KEYS[4], KEYS[8], KEYS[9], tonumber(ARGV[9]))
if today >= tonumber(ARGV[6]) then need(dayEnd - now, 'daily_cap') end
local isNew = ARGV[12] == '1'
local in24, newHour, sameHour = 0, 0, 0
if isNew then
  -- The day's budget holds in the calendar day and in any 24 hours: a
  -- calendar day alone would let a day's budget go out just before
  -- midnight and the next day's just after it, twice the budget in 24
  -- hours, which is what WhatsApp counts. Every new-contact send is in
  -- all three sets, one text's in its own as well.
  in24 = count(KEYS[6], 86400000)
  newHour = window(KEYS[5], tonumber(ARGV[13]), 3600000, 'new_contacts_per_hour', in24)
  sameHour = window(KEYS[7], tonumber(ARGV[15]), 3600000, 'identical_per_hour', newHour)
  over(KEYS[6], in24, tonumber(ARGV[14]), 86400000, 'new_contacts_per_day')
  if newToday >= tonumber(ARGV[14]) then need(dayEnd - now, 'new_contacts_per_day') end
end
if wait > 0 then return {0, wait, reason} end
local member = ARGV[8]
local gap = tonumber(ARGV[7])
-- Up to ARGV[18] sends at once when no gap is drawn: as many as every
-- window has room for, counted from the same (upper-bound) counts that
-- just allowed one.
local g = 1
if gap == 0 then
  g = tonumber(ARGV[18])
  local function room(n, cap) g = math.max(math.min(g, cap - n), 1) end
  room(inMinute, tonumber(ARGV[4]))
  room(inHour, tonumber(ARGV[5]))
  room(today, tonumber(ARGV[6]))
  if isNew then
    room(newHour, tonumber(ARGV[13]))
    room(sameHour, tonumber(ARGV[15]))
    room(in24, tonumber(ARGV[14]))
    room(newToday, tonumber(ARGV[14]))
  end
end
local scored = {}
for i = 0, g - 1 do
  scored[#scored + 1] = now
  scored[#scored + 1] = unit(member, i)
end
redis.call('ZADD', KEYS[1], now + lease, member)
redis.call('ZADD', KEYS[2], unpack(scored))
redis.call('SET', KEYS[3], string.format('%d', now + gap), 'PX', gap + 1000)
local newInc = 0
if isNew then newInc = g end
local trimEvery = tonumber(ARGV[16])
local trim = now - trimmed >= trimEvery or trimmed > now
local fields = {'last', string.format('%d', now), 'n', today + g, 'new', newToday + newInc}
if trim then
  table.insert(fields, 'trim')
  table.insert(fields, string.format('%d', now))
end
redis.call('HSET', KEYS[4], unpack(fields))
if isNew then
  redis.call('ZADD', KEYS[5], unpack(scored))
  redis.call('ZADD', KEYS[7], unpack(scored))
  redis.call('PEXPIRE', KEYS[7], 3600000 + 60000)
  redis.call('ZADD', KEYS[6], unpack(scored))
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
return {1, g}
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

// unitScript names a grant's sends and gives back those a caller never
// started.
//
// unit(member, i) is the member of the grant's send i in the counting sets:
// the grant's own member for its first send (a grant of one is what it
// always was), member:i for the others.
//
// giveBack(KEYS, member, from, to, at, isNew, dayStart) frees the lease of
// the caller's finished grant (member, "" for none) and takes the grant's
// sends from..to-1, never started, out of every count they were put in:
// the hour's sends, the new-contact sets (isNew; the grant's text set is
// KEYS[10]) and the day's counts, when the grant (at, ms) falls in the
// counting day that starts at dayStart (an earlier day's are no longer
// counted). A send not started was never sent: taking it out only undoes
// a count that made every other grant since then stricter.
const unitScript = `
local function unit(member, i)
  if i == 0 then return member end
  return member .. ':' .. i
end
local function giveBack(keys, member, from, to, at, isNew, dayStart)
  if member == '' then return end
  redis.call('ZREM', keys[1], member)
  if to <= from then return end
  local ms = {}
  for i = from, to - 1 do ms[#ms + 1] = unit(member, i) end
  redis.call('ZREM', keys[2], unpack(ms))
  if isNew then
    redis.call('ZREM', keys[5], unpack(ms))
    redis.call('ZREM', keys[6], unpack(ms))
    redis.call('ZREM', keys[10], unpack(ms))
  end
  local d = redis.call('HMGET', keys[4], 'last', 'n', 'new')
  if at < dayStart or not d[1] or tonumber(d[1]) < dayStart then return end
  local fields = {'n', math.max(tonumber(d[2] or '0') - (to - from), 0)}
  if isNew then
    fields[3] = 'new'
    fields[4] = math.max(tonumber(d[3] or '0') - (to - from), 0)
  end
  redis.call('HSET', keys[4], unpack(fields))
end
`

// releaseScript frees a grant's lease and gives back its sends never
// started (unitScript's giveBack); KEYS as reserveScript's, ARGV: member,
// from, to, at, new (0/1), dayStart.
var releaseScript = redis.NewScript(unitScript + `
giveBack(KEYS, ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5] == '1', tonumber(ARGV[6]))
return 1
`)

// Reserve asks to start one send of p's instance now. Granted: the send may
// start, and Release must be called when it ends, or the reservation
// handed to the instance's next ReserveReleasing (a crashed worker's slot
// frees itself after LeaseTTL); Gap is the gap drawn before the instance's
// next send. Not granted: RetryAfter and Reason say when
// and why. An error means Redis could not decide: send nothing.
func (s *Sender) Reserve(ctx context.Context, p campaign.SendPolicy) (campaign.Reservation, error) {
	return s.reserve(ctx, p, 1, grantDone{})
}

var _ campaign.BatchReserver = (*Sender)(nil)

// ReserveReleasing frees done's in-flight slot and asks for p's next send in
// one script call: the lease is removed before the limits are counted, so
// with maxInFlight 1 a worker's finished send never holds up its own next
// one. A slot of another instance (or none) is released on its own first.
func (s *Sender) ReserveReleasing(ctx context.Context, p campaign.SendPolicy, done campaign.Reservation) (campaign.Reservation, error) {
	return s.ReserveBatch(ctx, p, 1, done)
}

// unitsFor is how long after its grant a send of a grant of several may
// start: a grant's sends are counted at the grant, so each starts within
// this of its count, as a single grant's send starts within its typing
// time.
const unitsFor = time.Second

// ReserveBatch frees done's slot and gives back its sends not started, and
// asks for up to k sends of p's kind, in one script call: with no gap
// drawn between two sends the script grants as many as every window of p
// has room for (Units), counted at once and sharing one in-flight slot;
// with a gap, one. A slot of another instance is released (its sends
// given back) on its own first.
func (s *Sender) ReserveBatch(ctx context.Context, p campaign.SendPolicy, k int, done campaign.Reservation) (campaign.Reservation, error) {
	d := parseGrant(done)
	if d.inst != p.InstanceID {
		if d.member != "" {
			s.ReleaseBatch(ctx, campaign.SendPolicy{InstanceID: d.inst, Location: p.Location}, done)
		} else if done.Release != nil {
			done.Release(ctx)
		}
		d = grantDone{}
	}
	return s.reserve(ctx, p, max(k, 1), d)
}

// ReleaseBatch frees done's in-flight slot and gives back its sends not
// started; a failure is logged (the slot frees itself when its lease ends,
// the sends leave the windows as sent ones do).
func (s *Sender) ReleaseBatch(ctx context.Context, p campaign.SendPolicy, done campaign.Reservation) {
	d := parseGrant(done)
	if d.member == "" || d.to <= d.from {
		if done.Release != nil {
			done.Release(ctx)
		}
		return
	}
	p = withDefaults(p)
	p.InstanceID = d.inst
	now := s.opts.Now()
	dayStart, _ := calendarDay(now, p.Location)
	keys := s.keys(p, now, d.textHash)
	if err := releaseScript.Run(ctx, s.opts.Redis, keys, d.member, d.from, d.to, d.at, d.isNew, dayStart.UnixMilli()).Err(); err != nil {
		s.log.WarnContext(ctx, "send slot not released; it frees itself when its lease ends",
			"instance_id", d.inst, "lease", s.opts.LeaseTTL.String(), "error", err.Error())
	}
}

// grantDone is a finished grant as the script frees it: its instance and
// member ("" for none), its sends from..to-1 not started, when it was
// granted (ms), and whether they were first messages (isNew 1) of the text
// textHash.
type grantDone struct {
	inst, member, textHash string
	from, to               int
	at                     int64
	isNew                  int
}

// grantSlot names a grant in its Reservation's Slot: "<instance> <member>
// <granted at, ms> <new: 0/1> <text hash>".
func grantSlot(inst, member string, at int64, isNew int, textHash string) string {
	return inst + " " + member + " " + strconv.FormatInt(at, 10) + " " + strconv.Itoa(isNew) + " " + textHash
}

// parseGrant reads done's grant from its Slot and its sends not started
// from Units and Used (the first is started with the grant).
func parseGrant(done campaign.Reservation) grantDone {
	f := strings.SplitN(done.Slot, " ", 5)
	if len(f) < 2 {
		return grantDone{}
	}
	d := grantDone{inst: f[0], member: f[1]}
	if len(f) == 5 {
		d.at, _ = strconv.ParseInt(f[2], 10, 64)
		d.isNew, _ = strconv.Atoi(f[3])
		d.textHash = f[4]
	}
	if done.Units > max(done.Used, 1) {
		d.from, d.to = max(done.Used, 1), done.Units
	}
	return d
}

// keys are the reserve script's keys of p's instance at now, for a send of
// text p.TextHash; the tenth is doneText's set (a finished grant's).
func (s *Sender) keys(p campaign.SendPolicy, now time.Time, doneText string) []string {
	base := s.opts.Prefix + "send:{" + p.InstanceID + "}:"
	keys := make([]string, 0, 10)
	keys = append(keys, base+"leases", base+"sent", base+"next", base+"today",
		base+"newsent", base+"new24", base+"same:"+p.TextHash)
	keys = append(keys, legacyDayKeys(base, now, p.Location)...)
	return append(keys, base+"same:"+doneText)
}

// reserve runs the reserve script for up to k sends; done is the caller's
// finished grant to free first (its member "" for none).
func (s *Sender) reserve(ctx context.Context, p campaign.SendPolicy, k int, done grantDone) (campaign.Reservation, error) {
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
	keys := s.keys(p, now, done.textHash)
	isNew := 0
	if p.NewContact {
		isNew = 1
	}
	reply, err := reserveScript.Run(ctx, s.opts.Redis, keys,
		now.UnixMilli(), s.opts.LeaseTTL.Milliseconds(), p.MaxInFlight, p.MessagesPerMinute,
		p.HourlyCap, DailyCap(p, now), gap.Milliseconds(), member,
		dayStart.UnixMilli(), dayEnd.UnixMilli(),
		s.opts.InFlightPoll.Milliseconds(),
		isNew, p.NewPerHour, NewContactBudget(p, now), p.IdenticalPerHour, trimEvery.Milliseconds(), done.member,
		k, done.from, done.to, done.at, done.isNew,
	).Slice()
	if err != nil {
		return campaign.Reservation{}, fmt.Errorf("reserve a send of instance %s: %w", p.InstanceID, err)
	}
	if len(reply) == 0 {
		return campaign.Reservation{}, fmt.Errorf("reserve a send of instance %s: empty reply", p.InstanceID)
	}
	if g, _ := reply[0].(int64); g == 1 {
		units := int64(1)
		if len(reply) > 1 {
			units, _ = reply[1].(int64)
		}
		return campaign.Reservation{Granted: true, Gap: gap, Units: int(max(units, 1)), Used: 1, Until: now.Add(unitsFor),
			Slot: grantSlot(p.InstanceID, member, now.UnixMilli(), isNew, p.TextHash), Release: func(ctx context.Context) {
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
