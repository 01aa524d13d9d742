package main

import (
	"fmt"
	"os"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/app"
	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/queue"
)

// campaignScheduler builds the campaign jobs.
// CAMPAIGN_STUCK_AFTER (a Go duration, default 30m = the campaigns queue's
// visibility timeout) is how long a recipient may stay in sending before
// it is marked unknown; it must exceed the worker's Lambda timeout.
func campaignScheduler(d *app.Deps) (*campaign.Scheduler, error) {
	s := &campaign.Scheduler{
		Store:      d.DB,
		Queue:      queue.Chunks{Client: d.Queue, URL: d.Config.CampaignsQueueURL},
		Logger:     d.Logger,
		Record:     func(status string, n int) { d.Metrics.CampaignMessages.WithLabelValues(status).Add(float64(n)) },
		StuckAfter: 30 * time.Minute,
	}
	if v := os.Getenv("CAMPAIGN_STUCK_AFTER"); v != "" {
		dur, err := time.ParseDuration(v)
		if err != nil || dur <= 0 {
			return nil, fmt.Errorf("CAMPAIGN_STUCK_AFTER=%q is not a positive duration", v)
		}
		s.StuckAfter = dur
	}
	return s, nil
}
