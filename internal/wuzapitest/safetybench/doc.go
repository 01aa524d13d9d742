// Package safetybench holds the sending-safety benchmark: a campaign to
// 1,000 strangers over 5 WhatsApp numbers, sent by the real campaign worker
// (Postgres, the Redis send limiter, the API for instances, campaigns and
// webhooks) against the fake WuzAPI's enforcement simulator, on a simulated
// clock so that days of sending take seconds. It runs once with the
// product's defaults and once with the settings this product first shipped with (100
// messages a minute, no new-contact budget, no number checks) and prints
// the locks, bans, sends and simulated hours of each. It has no code
// outside its tests.
package safetybench
