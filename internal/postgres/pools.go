package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
)

var _ campaign.PoolStore = (*DB)(nil)

// PoolMembers returns the instances of a pool campaign in pool order, with
// what stops each sending.
func (db *DB) PoolMembers(ctx context.Context, campaignID string) ([]campaign.PoolMember, error) {
	rows, err := db.Pool.Query(ctx, db.q("pool-members"), campaignID)
	if err != nil {
		return nil, fmt.Errorf("pool of campaign %s: %w", campaignID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (campaign.PoolMember, error) {
		var m campaign.PoolMember
		i := &m.Instance
		err := r.Scan(&i.ID, &i.TenantID, &i.Name, &i.BaseURL, &i.Token, &i.MessagesPerMinute, &i.MinDelayMs, &i.MaxDelayMs,
			&i.HourlyCap, &i.DailyCap, &i.WarmupDays, &i.MaxInFlight, &i.NewContactsPerDay, &i.NewContactsPerHour,
			&i.CheckNumbers, &i.Typing, &i.IdenticalPerHour, &i.CreatedAt,
			&m.Blocked, &m.BanCode, &m.BlockedUntil, &m.Connected, &m.LoggedIn, &m.Lane.State, &m.Lane.Until, &m.Lane.Reason)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("pool of campaign %s: %w", campaignID, err)
	}
	return out, nil
}

// AssignPool gives the pending recipients of the chunk [lo, hi) of a pool
// campaign their instance (see the assign-pool query) and returns how many
// it placed or moved.
func (db *DB) AssignPool(ctx context.Context, campaignID string, lo, hi int, senders, fresh, slots []string) (int, error) {
	tag, err := db.Pool.Exec(ctx, db.q("assign-pool"), campaignID, lo, hi, senders, fresh, slots)
	if err != nil {
		return 0, fmt.Errorf("assign the pool of campaign %s seq %d..%d: %w", campaignID, lo, hi, err)
	}
	return int(tag.RowsAffected()), nil
}

// MarkSessionDown records that a send found the instance not connected or
// not paired, as a session check would.
func (db *DB) MarkSessionDown(ctx context.Context, instanceID string, notConnected, notPaired bool, at time.Time) error {
	if _, err := db.Pool.Exec(ctx, db.q("mark-session-down"), instanceID, notConnected, notPaired, at); err != nil {
		return fmt.Errorf("record the session of instance %s down: %w", instanceID, err)
	}
	return nil
}

var _ campaign.RolloutStore = (*DB)(nil)

// RolloutSlice reads a staged rollout's first slice (seq below sliceEnd).
func (db *DB) RolloutSlice(ctx context.Context, campaignID string, sliceEnd int) (campaign.RolloutSlice, error) {
	var s campaign.RolloutSlice
	err := db.Pool.QueryRow(ctx, db.q("rollout-slice"), campaignID, sliceEnd).
		Scan(&s.Open, &s.Attempted, &s.Failed, &s.Sent, &s.OptedOut, &s.SettledAt)
	if err != nil {
		return s, fmt.Errorf("rollout slice of campaign %s: %w", campaignID, err)
	}
	return s, nil
}

// StartRolloutHold records when the campaign's rollout hold began (an
// earlier record stands) and returns it.
func (db *DB) StartRolloutHold(ctx context.Context, campaignID string, from time.Time) (time.Time, error) {
	var at time.Time
	if err := db.Pool.QueryRow(ctx, db.q("start-rollout-hold"), campaignID, from).Scan(&at); err != nil {
		return at, fmt.Errorf("start the rollout hold of campaign %s: %w", campaignID, err)
	}
	return at, nil
}

// ReleaseRollout records that the rest of the campaign may go; false when
// it already was.
func (db *DB) ReleaseRollout(ctx context.Context, campaignID string, at time.Time) (bool, error) {
	var id string
	err := db.Pool.QueryRow(ctx, db.q("release-rollout"), campaignID, at).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("release the rollout of campaign %s: %w", campaignID, err)
	}
	return true, nil
}
