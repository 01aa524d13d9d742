package alert

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/wuzapi-manager/wuzapi-manager/internal/alert/quote"
	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
)

// TypeInstanceBlocked is the critical alert of a number WhatsApp banned or
// logged out. The campaign worker raises it too when a campaign is resumed
// on a blocked instance; both name the instance as the subject, so the two
// share one cooldown.
const TypeInstanceBlocked = "Instance blocked"

// blockBatch bounds the blocks one run alerts; the rest wait a minute.
const blockBatch = 100

// AlertBlocks raises one critical alert per block of an instance (a
// TemporaryBan or LoggedOut that WuzAPI's webhook delivered): once per
// instance and block, whichever scheduler runs, with what happened and what
// to do. Each alert's subject is its instance, so blocks of several
// instances (several tenants) within one cooldown each alert. A block whose
// alert could not be delivered is tried again next run.
func (m *Monitor) AlertBlocks(ctx context.Context) error {
	blocks, err := m.DB.ClaimBlockAlerts(ctx, m.now(), blockBatch)
	if err != nil {
		return err
	}
	var errs []error
	for _, b := range blocks {
		a := Alert{Type: TypeInstanceBlocked, Severity: Critical, Subject: b.ID, Message: BlockMessage(b.ID, b.TenantID,
			campaign.BlockedReason(quote.Name(b.Name), b.Blocked, b.BanCode, b.BlockedUntil))}
		if _, err := m.Notifier.Send(ctx, a); err != nil {
			errs = append(errs, err)
			if rerr := m.DB.ReleaseBlockAlert(context.WithoutCancel(ctx), b); rerr != nil {
				errs = append(errs, rerr)
			}
		}
	}
	return errors.Join(errs...)
}

// BlockMessage is the text of an instance's block alert: the campaign
// reason (built with the instance's quoted name) without its
// "auto-paused: " head, which says what happened and what to do, then the
// instance and its tenant.
func BlockMessage(id, tenantID, reason string) string {
	return fmt.Sprintf("%s (instance %s, tenant %s)", strings.TrimPrefix(reason, "auto-paused: "), id, tenantID)
}
