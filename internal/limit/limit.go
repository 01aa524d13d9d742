// Package limit holds the limits that every function instance shares through
// Redis: the API rate limiter (GCRA, per tenant by plan, per
// client IP, per webhook instance), the tenant plan cache behind it, and the
// send limiter that paces each WuzAPI instance across all campaign workers.
//
// Every decision is one Lua script, so it is atomic across the fleet and
// costs one Redis round trip. Limits:
//   - The API limiter takes its clock from Redis (TIME), so instances with
//     skewed clocks agree; it fails open when Redis cannot answer within
//     APIOptions.Timeout (logged, OnFailOpen called) and then skips Redis for
//     APIOptions.Backoff, so an outage costs one timeout per instance and
//     backoff, not one per request.
//   - The send limiter takes its clock from the caller (injected), because its
//     tests move time by hours; instances must have NTP-synchronised clocks
//     (Lambda's are). It fails closed: an error means "send nothing".
//   - Keys use hash tags ({id}) so one script's keys share a cluster slot.
package limit
