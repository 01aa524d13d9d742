package limit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
)

// ShareOptions configure a Share. Redis is required.
type ShareOptions struct {
	Redis redis.UniversalClient
	// Prefix is put before every Redis key (tests isolate themselves with it).
	Prefix string
	// Concurrency is how many chunks the campaign worker runs at once across
	// the fleet (the event source mapping's maximum concurrency).
	Concurrency int
	// Lease is how long a slot stays taken when its worker never releases
	// it (a crash, a Lambda timeout): above the worker's timeout, so a live
	// worker never loses its slot. Default 2 minutes.
	Lease time.Duration
	// Window is how long a tenant counts as waiting after a worker last
	// took up one of its chunk messages (default 45 s). It must outlast the
	// delay of a handed-back chunk, so a tenant whose chunk is handed back
	// still waits when the chunk comes back.
	Window time.Duration
	// Now is the clock; time.Now when nil. Workers' clocks must agree (NTP).
	Now    func() time.Time
	Logger *slog.Logger // discards when nil
}

// Share divides the campaign worker's concurrency between tenants: while
// another tenant waits, no tenant holds more than half of it (at least one
// chunk); a tenant alone may use all of it. It implements campaign.Share
// and is safe for concurrent use.
//
// SQS cannot say whose messages it holds, so a tenant counts as waiting for
// Window after a worker last took up one of its chunk messages, run or
// handed back: a tenant whose chunk just arrived almost always has more
// behind it. The cost of the guess is that a tenant over half may be held
// back for up to Window after the other's last chunk started.
type Share struct {
	opts ShareOptions
	log  *slog.Logger
}

var _ campaign.Share = (*Share)(nil)

// NewShare builds a Share; a concurrency below 1 counts as 1.
func NewShare(opts ShareOptions) *Share {
	opts.Concurrency = max(opts.Concurrency, 1)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Lease <= 0 {
		opts.Lease = 2 * time.Minute
	}
	if opts.Window <= 0 {
		opts.Window = 45 * time.Second
	}
	opts.Redis = honourDeadlines(opts.Redis)
	s := &Share{opts: opts, log: opts.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// shareScript decides and takes a chunk slot in one step, so concurrent
// workers can never both take a tenant's last slot of its share. Slots and
// waiting marks are counted by score (a slot whose lease ended, a worker's
// that died, and a mark past its end count for nothing), so a dead
// worker's count drains within the lease without a trim on every take: the
// sets are trimmed on one take in 16 (the token, random hex, begins with
// 0), and a set holds at most what its takes of a lease or a window added
// beside the live entries. The caller's tenant is marked waiting (until
// now + window) whatever the answer.
//
//	KEYS[1] the tenant's slots: sorted set of tokens, scored by lease expiry
//	KEYS[2] waiting: sorted set of tenants, scored by the end of the mark
//	ARGV: now, lease, window (ms), concurrency, tenant, token
//
// Reply: {granted (0/1), the tenant's slots before this one}.
var shareScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local live = '(' .. ARGV[1]
local tenant = ARGV[5]
if string.sub(ARGV[6], 1, 1) == '0' then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
end
local mine = redis.call('ZCOUNT', KEYS[1], live, '+inf')
local others = redis.call('ZCOUNT', KEYS[2], live, '+inf')
local mark = redis.call('ZSCORE', KEYS[2], tenant)
if mark and tonumber(mark) > now then others = others - 1 end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), tenant)
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[3]) + 1000)
local half = math.max(1, math.floor(tonumber(ARGV[4]) / 2))
if others > 0 and mine >= half then
  return {0, mine}
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[6])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + 1000)
return {1, mine}
`)

// Take asks for a slot to run one chunk of tenantID. Not granted: the
// tenant holds its share while another waits, and the chunk should be
// handed back. A granted slot is freed by release (or by its lease). An
// error means Redis could not decide.
func (s *Share) Take(ctx context.Context, tenantID string) (release func(context.Context), granted bool, err error) {
	if tenantID == "" {
		return nil, false, errors.New("fair share: no tenant")
	}
	keys := []string{s.slotsKey(tenantID), s.opts.Prefix + "share:{campaign-worker}:waiting"}
	member := newMember()
	reply, err := shareScript.Run(ctx, s.opts.Redis, keys,
		s.opts.Now().UnixMilli(), s.opts.Lease.Milliseconds(), s.opts.Window.Milliseconds(),
		s.opts.Concurrency, tenantID, member,
	).Int64Slice()
	if err != nil {
		return nil, false, fmt.Errorf("take a campaign worker slot for tenant %s: %w", tenantID, err)
	}
	if len(reply) != 2 || reply[0] != 1 {
		return nil, false, nil
	}
	return func(ctx context.Context) {
		if err := s.opts.Redis.ZRem(context.WithoutCancel(ctx), keys[0], member).Err(); err != nil {
			s.log.WarnContext(ctx, "campaign worker slot not released; it frees itself when its lease ends",
				"tenant_id", tenantID, "lease", s.opts.Lease.String(), "error", err.Error())
		}
	}, true, nil
}

// slotsKey is the sorted set of tenantID's slots (in the one hash slot of
// the share's keys).
func (s *Share) slotsKey(tenantID string) string {
	return s.opts.Prefix + "share:{campaign-worker}:slots:" + tenantID
}

// Holding returns how many slots tenantID holds now (expired ones not
// counted); for tests and diagnostics.
func (s *Share) Holding(ctx context.Context, tenantID string) (int, error) {
	n, err := s.opts.Redis.ZCount(ctx, s.slotsKey(tenantID), fmt.Sprint("(", s.opts.Now().UnixMilli()), "+inf").Result()
	if err != nil {
		return 0, fmt.Errorf("count campaign worker slots of tenant %s: %w", tenantID, err)
	}
	return int(n), nil
}
