package campaign

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/alert/quote"
)

// RolloutSlice is the state of a staged rollout's first slice.
type RolloutSlice struct {
	Open      int // pending or sending
	Attempted int // sent (delivered, read), failed or unknown
	Failed    int
	Sent      int // whose send succeeded
	// OptedOut counts the sent whose phone opted out since the campaign started.
	OptedOut int
	// SettledAt is when the slice's last recipient settled (nil: none did).
	SettledAt *time.Time
}

// RolloutStore is the storage of staged rollouts. *postgres.DB implements it.
type RolloutStore interface {
	// RolloutSlice reads the first slice (seq below sliceEnd).
	RolloutSlice(ctx context.Context, campaignID string, sliceEnd int) (RolloutSlice, error)
	// StartRolloutHold records when the hold began (an earlier record
	// stands) and returns it.
	StartRolloutHold(ctx context.Context, campaignID string, from time.Time) (time.Time, error)
	// ReleaseRollout records that the rest may go; false when it already was.
	ReleaseRollout(ctx context.Context, campaignID string, at time.Time) (bool, error)
}

// SliceEnd is the seq that ends a rollout's first slice of a campaign of
// span recipients (in campaign order): the first share of them, at least one.
func SliceEnd(share float64, span int) int {
	return max(int(math.Ceil(share*float64(span))), 1)
}

// rolloutHold decides what a chunk of a campaign with a staged rollout not
// yet released may send. end > 0: only recipients with seq below end, the
// rest coming back after wait; end 0: everything (released now or before,
// or the slice is the whole campaign). paused: the slice broke a bound and
// the campaign paused; nothing is sent.
//
// The slice sends first; once none of it is pending or sending, the hold
// runs holdMinutes from when its last recipient settled (reason "waiting:
// rollout hold until <time>"); after it, a failed share (of the slice's
// attempted sends) or an opted-out share (of its successful sends) above
// its bound pauses the campaign with the reason, else the rest is
// released. A resume after that pause sends the rest: the rollout has
// decided.
func (w *Worker) rolloutHold(ctx context.Context, job Job, now time.Time) (end int, wait time.Duration, paused bool, err error) {
	c := job.Campaign
	rs, ok := w.Store.(RolloutStore)
	if c.Rollout == nil || job.RolloutReleasedAt != nil || !ok {
		return 0, 0, false, nil
	}
	span := c.Total + c.Skipped
	end = SliceEnd(c.Rollout.Share, span)
	if end >= span {
		return 0, 0, false, nil
	}
	st, err := rs.RolloutSlice(ctx, c.ID, end)
	if err != nil {
		return 0, 0, false, err
	}
	if st.Open > 0 {
		return end, MaxQueueDelay, false, nil // the slice is still being sent
	}
	from := now
	if job.RolloutHoldFrom != nil {
		from = *job.RolloutHoldFrom
	} else {
		if st.SettledAt != nil {
			from = *st.SettledAt
		}
		if from, err = rs.StartRolloutHold(ctx, c.ID, from); err != nil {
			return 0, 0, false, err
		}
	}
	if until := from.Add(time.Duration(c.Rollout.HoldMinutes) * time.Minute); now.Before(until) {
		reason := "waiting: rollout hold until " + until.UTC().Format(time.RFC3339)
		return end, until.Sub(now), false, w.setReason(ctx, job, reason)
	}
	if reason := rolloutBreach(*c.Rollout, st); reason != "" {
		if _, err := w.Store.AutoPause(ctx, c.ID, "rollout", reason); err != nil {
			return 0, 0, false, err
		}
		_, err := rs.ReleaseRollout(ctx, c.ID, now)
		w.alert(ctx, "warning", "Rollout stopped", c.ID, fmt.Sprintf("%s: %s", quote.Name(c.Name), reason))
		return end, 0, true, err
	}
	_, err = rs.ReleaseRollout(ctx, c.ID, now)
	return 0, 0, false, err
}

// rolloutBreach is the pause reason when the first slice broke a bound, ""
// when it kept both.
func rolloutBreach(r Rollout, st RolloutSlice) string {
	if st.Attempted > 0 && float64(st.Failed) > r.MaxFailedShare*float64(st.Attempted) {
		return fmt.Sprintf("auto-paused: rollout: %d of the first %d sends failed (more than %s); resume to send the rest anyway",
			st.Failed, st.Attempted, percent(r.MaxFailedShare))
	}
	if st.Sent > 0 && float64(st.OptedOut) > r.MaxOptOutShare*float64(st.Sent) {
		return fmt.Sprintf("auto-paused: rollout: %d of the first %d recipients opted out (more than %s); resume to send the rest anyway",
			st.OptedOut, st.Sent, percent(r.MaxOptOutShare))
	}
	return ""
}

func percent(share float64) string {
	return fmt.Sprintf("%g %%", math.Round(share*1000)/10)
}

// holdRollout applies the staged rollout to chunk n: the job comes back
// with SliceEnd set when the chunk may send only below it, or SliceEnd -1
// when it may send nothing now (the chunk is then handed back after the
// hold, or the campaign paused).
func (w *Worker) holdRollout(ctx context.Context, job Job, n int, now time.Time) (Job, error) {
	end, wait, paused, err := w.rolloutHold(ctx, job, now)
	if err != nil || paused {
		job.SliceEnd = -1
		return job, err
	}
	if end == 0 {
		return job, nil
	}
	size := job.Campaign.ChunkSize
	if size <= 0 {
		size = DefaultChunkSize
	}
	job.HoldWait = min(wait, MaxQueueDelay)
	if lo, _ := ChunkRange(n, size); lo >= end {
		job.SliceEnd = -1
		return job, w.enqueue(ctx, job.Campaign.ID, n, job.ChunkGen, job.HoldWait)
	}
	job.SliceEnd = end
	return job, nil
}
