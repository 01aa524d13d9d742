// Package alert raises the operator alerts: it evaluates the
// fleet's metrics window and the dependencies every minute (called by the
// scheduler), keeps at most one alert per type, severity and subject (the
// instance or campaign it is about) per cooldown across the whole fleet, logs every alert as JSON and posts it to
// ALERT_WEBHOOK_URL as a Slack or Discord message.
//
// Limits: the cooldown lives in Redis; with Redis down it falls back to
// this process's memory, so a fleet of schedulers could repeat an alert
// once per instance (there is one scheduler per minute, so in practice it
// is the same process). A failed webhook post releases the cooldown, so
// the next minute tries again.
package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Severity is how urgent an alert is.
type Severity string

// The severities.
const (
	Warning  Severity = "warning"
	Critical Severity = "critical"
)

// Alert is one condition worth a human's attention.
type Alert struct {
	Type     string // "High Error Rate", "Redis Unavailable", ...
	Message  string
	Severity Severity
	// Subject is what the alert is about when it is about one thing (an
	// instance id, a campaign id); "" for the fleet. Alerts of different
	// subjects have their own cooldowns, so one tenant's alert never hides
	// another's.
	Subject string
}

// DefaultCooldown is five minutes between two alerts of
// one type, severity and subject.
const DefaultCooldown = 5 * time.Minute

// Notifier delivers alerts: cooldown, log, webhook.
type Notifier struct {
	// WebhookURL is ALERT_WEBHOOK_URL; empty: alerts are only logged.
	WebhookURL string
	HTTP       *http.Client // http.DefaultClient when nil; calls time out after 5 s
	Redis      redis.UniversalClient
	Logger     *slog.Logger
	// Service and Environment name the deployment in every alert.
	Service, Environment string
	Cooldown             time.Duration    // DefaultCooldown when 0
	Prefix               string           // Redis key prefix; "wm:alert:" when empty
	Now                  func() time.Time // time.Now when nil

	mu    sync.Mutex
	local map[string]time.Time // fallback cooldowns while Redis is down
}

// cooldownScript is SET key NX EX, except that the expiry it honours is the
// one written in the value by the caller's clock, so an injected clock moves
// the cooldown as it moves everything else. The key's real TTL is the same
// span, so Redis cleans up after itself.
var cooldownScript = redis.NewScript(`
local stamp = redis.call('GET', KEYS[1])
if stamp and tonumber(stamp) > tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`)

func (n *Notifier) now() time.Time {
	if n.Now != nil {
		return n.Now()
	}
	return time.Now()
}

func (n *Notifier) cooldown() time.Duration {
	if n.Cooldown > 0 {
		return n.Cooldown
	}
	return DefaultCooldown
}

func (n *Notifier) key(a Alert) string {
	p := n.Prefix
	if p == "" {
		p = "wm:alert:"
	}
	k := p + "cooldown:" + a.Type + ":" + string(a.Severity)
	if a.Subject != "" {
		k += ":" + a.Subject
	}
	return k
}

// acquire takes the fleet-wide cooldown of a's type, severity and subject; false
// means an equal alert went out less than a cooldown ago.
func (n *Notifier) acquire(ctx context.Context, a Alert) bool {
	now := n.now()
	cd := n.cooldown()
	if n.Redis != nil {
		ok, err := cooldownScript.Run(ctx, n.Redis, []string{n.key(a)},
			now.UnixMilli(), now.Add(cd).UnixMilli(), cd.Milliseconds()).Int()
		if err == nil {
			return ok == 1
		}
		n.Logger.WarnContext(ctx, "alert cooldown unavailable, using this process's", "error", err.Error())
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.local == nil {
		n.local = map[string]time.Time{}
	}
	if until, ok := n.local[n.key(a)]; ok && now.Before(until) {
		return false
	}
	n.local[n.key(a)] = now.Add(cd)
	return true
}

// release gives the cooldown back after a failed delivery.
func (n *Notifier) release(ctx context.Context, a Alert) {
	if n.Redis != nil {
		_ = n.Redis.Del(ctx, n.key(a)).Err() // at worst the alert waits out its cooldown
	}
	n.mu.Lock()
	delete(n.local, n.key(a))
	n.mu.Unlock()
}

// Send delivers a unless an alert of its type, severity and subject went
// out within the cooldown; sent tells which. Every sent alert is logged as JSON; the
// webhook error, if any, is returned (and the cooldown released).
func (n *Notifier) Send(ctx context.Context, a Alert) (sent bool, err error) {
	if !n.acquire(ctx, a) {
		return false, nil
	}
	ts := n.now().UTC()
	n.Logger.WarnContext(ctx, "Alert triggered",
		"alert_type", a.Type, "message", a.Message, "severity", string(a.Severity), "subject", a.Subject,
		"timestamp", ts.Format(time.RFC3339), "service", n.Service, "environment", n.Environment)
	if n.WebhookURL == "" {
		return true, nil
	}
	if err := n.post(ctx, a, ts); err != nil {
		n.release(ctx, a)
		return true, err
	}
	return true, nil
}

// IsSlack reports whether u is a Slack incoming webhook, which takes a
// different payload from Discord's.
func IsSlack(u string) bool {
	p, err := url.Parse(u)
	return err == nil && strings.EqualFold(p.Hostname(), "hooks.slack.com")
}

// Colours of the Discord embed.
const (
	colourCritical = 0xff0000
	colourWarning  = 0xffaa00
)

// slackEscaper applies Slack's escaping of message text.
var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Payload is the webhook body for a: Slack's text and blocks for a Slack
// incoming webhook, else Discord's content and embeds.
func (n *Notifier) Payload(a Alert, ts time.Time) map[string]any {
	head := fmt.Sprintf("%s - %s", strings.ToUpper(string(a.Severity)), a.Type)
	where := fmt.Sprintf("%s · %s · %s", n.Service, n.Environment, ts.Format(time.RFC3339))
	if IsSlack(n.WebhookURL) {
		// Slack reads <!channel>, <@U1> and <url|text> in any text, and
		// messages name things tenants chose: &, < and > are escaped as
		// Slack asks, whichever path built the message.
		msg := slackEscaper.Replace(a.Message)
		return map[string]any{
			"text": "🚨 *" + head + "*\n" + msg,
			"blocks": []any{
				map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": "🚨 " + head}},
				map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": msg}},
				map[string]any{"type": "context", "elements": []any{map[string]any{"type": "mrkdwn", "text": where}}},
			},
		}
	}
	colour := colourWarning
	if a.Severity == Critical {
		colour = colourCritical
	}
	return map[string]any{
		"content": fmt.Sprintf("🚨 **%s** - %s\n%s", strings.ToUpper(string(a.Severity)), a.Type, a.Message),
		"embeds": []any{map[string]any{
			"title": a.Type, "description": a.Message, "color": colour, "timestamp": ts.Format(time.RFC3339),
			"footer": map[string]any{"text": n.Service + " · " + n.Environment},
		}},
		// Alerts never notify anyone by name, whatever their text holds.
		"allowed_mentions": map[string]any{"parse": []any{}},
	}
}

func (n *Notifier) post(ctx context.Context, a Alert, ts time.Time) error {
	body, err := json.Marshal(n.Payload(a, ts))
	if err != nil {
		return fmt.Errorf("encode alert %s: %w", a.Type, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build alert webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	c := n.HTTP
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("post alert %s to webhook: %w", a.Type, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("post alert %s to webhook: status %d", a.Type, resp.StatusCode)
	}
	return nil
}
