//go:build linux

package benchplatform

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// topStatements is how many statements a phase's attribution names.
const topStatements = 14

// attribution names what a phase cost Postgres and Redis: the statements
// from pg_stat_statements (reset when the phase starts) and the commands
// from Redis's INFO commandstats (read at both ends).
type attribution struct {
	redis0 map[string]cmdStat
}

type cmdStat struct{ calls, usec int64 }

// beginAttribution resets pg_stat_statements and reads Redis's command
// counts. The benchmark's own connection is not tracked (track = none).
func (e *env) beginAttribution(b *testing.B) *attribution {
	b.Helper()
	if _, err := e.db.Exec(context.Background(), "SELECT pg_stat_statements_reset()"); err != nil {
		b.Fatal(err)
	}
	return &attribution{redis0: e.commandStats(b)}
}

var cmdstatRe = regexp.MustCompile(`(?m)^cmdstat_([a-z|_-]+):calls=(\d+),usec=(\d+)`)

func (e *env) commandStats(b *testing.B) map[string]cmdStat {
	b.Helper()
	info, err := e.redis.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	out := map[string]cmdStat{}
	for _, m := range cmdstatRe.FindAllStringSubmatch(info, -1) {
		calls, _ := strconv.ParseInt(m[2], 10, 64)
		usec, _ := strconv.ParseInt(m[3], 10, 64)
		out[m[1]] = cmdStat{calls, usec}
	}
	return out
}

type statement struct {
	calls, rows, blocks int64
	ms                  float64
	query               string
}

var spaces = regexp.MustCompile(`\s+`)

// print writes the phase's statements and Redis commands per unit (a send
// or a request): totals, then the top statements by time and every
// command.
func (a *attribution) print(b *testing.B, e *env, phase string, n float64) {
	b.Helper()
	rows, err := e.db.Query(context.Background(), `SELECT calls, rows, shared_blks_hit + shared_blks_read, total_exec_time, query
		FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		ORDER BY total_exec_time DESC`)
	if err != nil {
		b.Fatal(err)
	}
	var sts []statement
	var calls, blocks int64
	var ms float64
	for rows.Next() {
		var s statement
		if err := rows.Scan(&s.calls, &s.rows, &s.blocks, &s.ms, &s.query); err != nil {
			b.Fatal(err)
		}
		calls, blocks, ms = calls+s.calls, blocks+s.blocks, ms+s.ms
		sts = append(sts, s)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("PLATFORM %s statements: %.2f a unit (%d kinds), %.0f buffer hits a unit, %.3f ms execution a unit\n",
		phase, float64(calls)/n, len(sts), float64(blocks)/n, ms/n)
	for _, s := range sts[:min(len(sts), topStatements)] {
		q := strings.TrimSpace(spaces.ReplaceAllString(s.query, " "))
		if len(q) > 110 {
			q = q[:110] + "…"
		}
		fmt.Printf("PLATFORM %s   %6.3f calls %7.3f ms %7.1f rows/call %7.1f buffers/call | %s\n",
			phase, float64(s.calls)/n, s.ms/n, float64(s.rows)/float64(max(s.calls, 1)), float64(s.blocks)/float64(max(s.calls, 1)), q)
	}
	a.printRedis(b, e, phase, n)
}

// printRedis writes the Redis commands of the phase per unit: EVALSHA
// (one round trip) apart from the commands its scripts ran inside.
func (a *attribution) printRedis(b *testing.B, e *env, phase string, n float64) {
	b.Helper()
	now := e.commandStats(b)
	type row struct {
		name string
		d    cmdStat
	}
	var rs []row
	var total cmdStat
	for name, c := range now {
		d := cmdStat{c.calls - a.redis0[name].calls, c.usec - a.redis0[name].usec}
		if d.calls == 0 || name == "info" {
			continue
		}
		rs = append(rs, row{name, d})
		total.calls += d.calls
		total.usec += d.usec
	}
	slices.SortFunc(rs, func(x, y row) int { return int(y.d.calls - x.d.calls) })
	var parts []string
	for _, r := range rs {
		parts = append(parts, fmt.Sprintf("%s %.2f (%.1f µs)", r.name, float64(r.d.calls)/n, float64(r.d.usec)/n))
	}
	fmt.Printf("PLATFORM %s redis: %.2f commands a unit, %.1f µs in commands a unit: %s\n",
		phase, float64(total.calls)/n, float64(total.usec)/n, strings.Join(parts, ", "))
}
