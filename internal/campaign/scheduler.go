package campaign

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Due is a campaign whose chunks must be (re)enqueued.
type Due struct {
	ID          string
	ScheduledAt *time.Time
}

// ChunkStore lists and stamps what is enqueued.
type ChunkStore interface {
	PendingChunks(ctx context.Context, campaignID string, chunkSize int) ([]int, error)
	// NextChunkGen starts a new chunk generation of the campaign.
	NextChunkGen(ctx context.Context, campaignID string) (int64, error)
	MarkEnqueued(ctx context.Context, campaignID string, at time.Time) error
}

// Requeue is a campaign's chunks that got recipients back.
type Requeue struct {
	CampaignID string
	Chunks     []int
}

// SchedulerStore is the scheduler jobs' view of storage.
type SchedulerStore interface {
	ChunkStore
	ReleaseDue(ctx context.Context, by time.Time, limit int) ([]Due, error)
	StalledCampaigns(ctx context.Context, neverEnqueuedBefore, idleBefore time.Time, limit int) ([]Due, error)
	// MarkStuckUnknown settles recipients still sending: unknown (how
	// many) when claimed before before and their send may have started;
	// a bulk claim's whose send never started back to pending when it was
	// made before batchesBefore; requeue is the chunks (of chunkSize when
	// the campaign has no size of its own) of running campaigns that got
	// some back, by campaign.
	MarkStuckUnknown(ctx context.Context, before, batchesBefore time.Time, chunkSize int) (unknown int, requeue []Requeue, err error)
	// ChunkGen is the chunk generation of a queued or running campaign;
	// false when the campaign is neither (or gone).
	ChunkGen(ctx context.Context, campaignID string) (int64, bool, error)
	FinishSettled(ctx context.Context, now time.Time) (int, error)
}

// Kick enqueues every chunk of the campaign that holds pending recipients,
// delayed until scheduledAt when that is ahead of now (within SQS's 15
// minutes), and stamps the campaign enqueued. Each kick starts a new chunk
// generation: the messages of earlier kicks (and their hand-backs) are
// dropped when they arrive, so a chunk has one live message however often
// it is paused and resumed. Claims make a chunk idempotent besides.
//
// The new generation is taken before the pending chunks are listed: a
// recipient that became pending before the generation changed is then
// in the list, which is what lets the stuck sweep enqueue its chunks in
// the generation it read after its put-back (SettleStuck) without a
// kick that started a newer one losing them.
func Kick(ctx context.Context, s ChunkStore, q Enqueuer, campaignID string, chunkSize int, scheduledAt *time.Time, now time.Time) error {
	gen, err := s.NextChunkGen(ctx, campaignID)
	if err != nil {
		return fmt.Errorf("new chunk generation of campaign %s: %w", campaignID, err)
	}
	chunks, err := s.PendingChunks(ctx, campaignID, chunkSize)
	if err != nil {
		return err
	}
	var delay time.Duration
	if scheduledAt != nil && scheduledAt.After(now) {
		delay = min(scheduledAt.Sub(now), MaxQueueDelay)
	}
	if len(chunks) > 0 {
		if err := q.EnqueueChunks(ctx, campaignID, gen, chunks, delay); err != nil {
			return fmt.Errorf("enqueue %d chunks of campaign %s: %w", len(chunks), campaignID, err)
		}
	}
	return s.MarkEnqueued(ctx, campaignID, now)
}

// Scheduler holds the campaign jobs the scheduler function runs every
// minute. Each takes the time as a parameter, so tests drive them with any
// clock.
type Scheduler struct {
	Store  SchedulerStore
	Queue  Enqueuer
	Logger *slog.Logger
	// Record counts message outcomes ("unknown") for campaign_messages_total.
	Record func(status string, n int)
	// StuckAfter: a recipient in sending for longer is unknown. Must exceed
	// the worker's longest send (its queue's visibility timeout). Default 15 min.
	StuckAfter time.Duration
	// StallAfter: a queued/running campaign untouched for longer is
	// requeued. Must exceed the longest queue delay (15 min). Default 20 min.
	StallAfter time.Duration
	// Horizon: scheduled campaigns due within it are released now, with a
	// queue delay for the rest, so they start on time (default 14 min).
	Horizon time.Duration
}

func (s *Scheduler) durations() (stuck, stall, horizon time.Duration) {
	stuck, stall, horizon = s.StuckAfter, s.StallAfter, s.Horizon
	if stuck <= 0 {
		stuck = 15 * time.Minute
	}
	if stall <= 0 {
		stall = 20 * time.Minute
	}
	if horizon <= 0 {
		horizon = 14 * time.Minute
	}
	return
}

// batch bounds the campaigns one job handles per tick.
const batch = 500

// ReleaseDue releases scheduled campaigns that are due by now+Horizon.
func (s *Scheduler) ReleaseDue(ctx context.Context, now time.Time) error {
	_, _, horizon := s.durations()
	due, err := s.Store.ReleaseDue(ctx, now.Add(horizon), batch)
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range due {
		// If this fails the campaign is queued but not enqueued: the
		// stalled job picks it up next minute.
		if err := Kick(ctx, s.Store, s.Queue, d.ID, DefaultChunkSize, d.ScheduledAt, now); err != nil {
			errs = append(errs, err)
		}
	}
	if len(due) > 0 {
		s.Logger.InfoContext(ctx, "released scheduled campaigns", "count", len(due))
	}
	return errors.Join(errs...)
}

// RequeueStalled enqueues again the campaigns whose chunks never reached
// the queue (enqueue after commit failed) or that stopped moving (a chunk
// went to the DLQ, a worker lost its message).
func (s *Scheduler) RequeueStalled(ctx context.Context, now time.Time) error {
	_, stall, _ := s.durations()
	stalled, err := s.Store.StalledCampaigns(ctx, now.Add(-time.Minute), now.Add(-stall), batch)
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range stalled {
		if err := Kick(ctx, s.Store, s.Queue, d.ID, DefaultChunkSize, d.ScheduledAt, now); err != nil {
			errs = append(errs, err)
		}
	}
	if len(stalled) > 0 {
		s.Logger.WarnContext(ctx, "requeued stalled campaigns", "count", len(stalled))
	}
	return errors.Join(errs...)
}

// claimStuckAfter is how old a bulk claim is when the recipients its
// loop never started are put back (the loop, alive, starts none later
// than claimHold after its claim; one that does not find its progress
// row any more starts none at all).
const claimStuckAfter = time.Minute

// SettleStuck settles recipients left in sending by a crashed worker:
// unknown when their send may have started, else (a bulk claim's queued
// recipients whose send never started) pending again, their chunks
// enqueued again (requeueChunks): only those chunks, and in the
// campaign's current chunk generation, so the campaign's live send loops
// go on.
func (s *Scheduler) SettleStuck(ctx context.Context, now time.Time) error {
	stuck, _, _ := s.durations()
	n, requeue, err := s.Store.MarkStuckUnknown(ctx, now.Add(-stuck), now.Add(-min(stuck, claimStuckAfter)), DefaultChunkSize)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range requeue {
		if err := requeueChunks(ctx, s.Store, s.Queue, r, now); err != nil {
			errs = append(errs, err)
		}
	}
	if len(requeue) > 0 {
		s.Logger.WarnContext(ctx, "campaigns with unsent claimed recipients requeued", "count", len(requeue))
	}
	if n > 0 {
		if s.Record != nil {
			s.Record("unknown", n)
		}
		s.Logger.WarnContext(ctx, "recipients stuck in sending marked unknown", "count", n)
	}
	return errors.Join(errs...)
}

// requeueChunks enqueues the chunks that got recipients back from the
// stuck sweep, in the campaign's chunk generation as it is now (read
// after the put-back committed), and stamps the campaign enqueued (the
// put-back cleared the stamp, so a failure here is the stalled-campaigns
// job's to kick after its short grace). The generation is not bumped: a
// send loop of the campaign that is still running goes on (a new
// generation would stop every one of them at its next claim and queue
// every chunk again). Why nothing is lost or sent twice:
//   - a message of a chunk that already has a live loop or a queued
//     message sends no one twice: claims take each recipient once (FOR
//     UPDATE SKIP LOCKED). It may hand its chunk back while the chunk has
//     pending recipients, so such a chunk runs two message chains of one
//     generation, under the same limits, until it drains or the next kick;
//   - a pause or a cancel drops the message when it arrives (chunk-job
//     starts only a queued or running campaign), and a campaign found
//     neither is not enqueued: its resume kicks every pending chunk;
//   - a kick that starts a newer generation after the read here lists
//     its pending chunks after starting it (Kick), so after the put-back:
//     the recipients put back are in its list.
func requeueChunks(ctx context.Context, s SchedulerStore, q Enqueuer, r Requeue, now time.Time) error {
	gen, running, err := s.ChunkGen(ctx, r.CampaignID)
	if err != nil || !running {
		return err
	}
	if err := q.EnqueueChunks(ctx, r.CampaignID, gen, r.Chunks, 0); err != nil {
		return fmt.Errorf("enqueue %d chunks of campaign %s: %w", len(r.Chunks), r.CampaignID, err)
	}
	return s.MarkEnqueued(ctx, r.CampaignID, now)
}

// FinishSettled completes campaigns whose recipients are all settled.
func (s *Scheduler) FinishSettled(ctx context.Context, now time.Time) error {
	_, err := s.Store.FinishSettled(ctx, now)
	return err
}
