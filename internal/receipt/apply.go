package receipt

import (
	"context"
	"fmt"
	"time"
)

// Instance is the instance a webhook event came from.
type Instance struct {
	ID       string
	TenantID string
}

// Store is what applying an event changes. Every method must be idempotent:
// an event may be applied more than once (WuzAPI retries, the scheduler
// re-applies events whose first application failed).
type Store interface {
	// ApplyReceipt records the receipt on the recipients of the instance's
	// campaigns carrying these message ids, keeps it for the others, and
	// returns how many recipients matched.
	ApplyReceipt(ctx context.Context, instanceID string, messageIDs []string, state State, at time.Time) (int, error)
	// OptOutContact marks the tenant's contact with this phone opted out
	// (creating it when unknown), keeping an earlier opt-out time.
	OptOutContact(ctx context.Context, tenantID, phone string, at time.Time) error
	// BlockInstance records why the instance must not send, until when
	// (zero: until it connects again).
	BlockInstance(ctx context.Context, instanceID, reason string, at, until time.Time) error
	// UnblockInstance clears a block once the instance is connected again.
	UnblockInstance(ctx context.Context, instanceID string) error
	// RememberContact records that phone wrote to the instance (a known
	// contact from then on).
	RememberContact(ctx context.Context, instanceID, phone string, at time.Time) error
	// SetBanCode records the TemporaryBan code of the instance's block.
	SetBanCode(ctx context.Context, instanceID string, code int) error
	// RecordReply credits an incoming message to the latest campaign of the
	// instance that messaged phone (either Brazilian form) in the 72 hours
	// before at, and returns that campaign's id ("" when none did, or when
	// the message id was recorded before).
	RecordReply(ctx context.Context, inst Instance, phone, text, messageID string, at time.Time) (string, error)
}

// Result says what applying an event did, for logs and the webhook answer.
type Result struct {
	Kind    Kind
	Matched int // receipts: recipients found now (the rest are kept)
	// CampaignID: the campaign an incoming message was credited to as a
	// reply ("" when it is no reply).
	CampaignID string
}

// Apply makes ev take effect. now stamps events that carry no time of their
// own. Ignored events change nothing.
func Apply(ctx context.Context, s Store, inst Instance, ev Event, now time.Time) (Result, error) {
	at := ev.At
	if at.IsZero() {
		at = now
	}
	res := Result{Kind: ev.Kind}
	switch ev.Kind {
	case Receipt:
		n, err := s.ApplyReceipt(ctx, inst.ID, ev.MessageIDs, ev.State, at)
		if err != nil {
			return res, fmt.Errorf("apply %s receipt of %d messages: %w", ev.State, len(ev.MessageIDs), err)
		}
		res.Matched = n
	case OptOut:
		if err := s.OptOutContact(ctx, inst.TenantID, ev.Phone, at); err != nil {
			return res, fmt.Errorf("opt out contact: %w", err)
		}
		if err := s.RememberContact(ctx, inst.ID, ev.Phone, at); err != nil {
			return res, fmt.Errorf("remember contact: %w", err)
		}
	case Incoming:
		if err := s.RememberContact(ctx, inst.ID, ev.Phone, at); err != nil {
			return res, fmt.Errorf("remember contact: %w", err)
		}
		id, err := s.RecordReply(ctx, inst, ev.Phone, ev.Text, ev.MessageID, at)
		if err != nil {
			return res, fmt.Errorf("record reply: %w", err)
		}
		res.CampaignID = id
	case Blocked:
		var until time.Time
		if ev.BanFor > 0 {
			until = now.Add(ev.BanFor)
		}
		if err := s.BlockInstance(ctx, inst.ID, ev.Reason, now, until); err != nil {
			return res, fmt.Errorf("block instance %s (%s): %w", inst.ID, ev.Reason, err)
		}
		if ev.BanCode != 0 {
			if err := s.SetBanCode(ctx, inst.ID, ev.BanCode); err != nil {
				return res, fmt.Errorf("record ban code of instance %s: %w", inst.ID, err)
			}
		}
	case Unblocked:
		if err := s.UnblockInstance(ctx, inst.ID); err != nil {
			return res, fmt.Errorf("unblock instance %s: %w", inst.ID, err)
		}
	}
	return res, nil
}

// String names a kind for logs and answers.
func (k Kind) String() string {
	switch k {
	case Receipt:
		return "receipt"
	case OptOut:
		return "opt_out"
	case Blocked:
		return "blocked"
	case Unblocked:
		return "unblocked"
	case Incoming:
		return "incoming"
	}
	return "ignored"
}
