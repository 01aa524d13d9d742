package samtpl_test

import (
	"strconv"
	"testing"
)

// FleetMaxConnections is the most client connections to the database (or
// to the pooler in front of it) that the whole fleet may open at once, as
// docs/postgres-at-scale.md states: the sum over functions of their
// reserved concurrency times their pool size. A Postgres without a pooler
// must allow this many plus the operators' own; with a pooler it is the
// pooler's max_client_conn at least.
const FleetMaxConnections = 364

// TestTemplateBoundsConnections checks that every function's concurrency
// is capped (ReservedConcurrentExecutions, which its event source mappings
// stay within) and its pool sized (DATABASE_MAX_CONNS, a literal), and
// that together they open at most FleetMaxConnections.
func TestTemplateBoundsConnections(t *testing.T) {
	tpl := loadProjectTemplate(t)
	total := 0
	for _, f := range tpl.Functions {
		if f.ReservedConcurrency < 1 {
			t.Errorf("%s: no ReservedConcurrentExecutions: its instances, each with a pool, are unbounded", f.LogicalID)
			continue
		}
		for _, ev := range f.SQSEvents {
			if ev.MaximumConcurrency < 2 || ev.MaximumConcurrency > f.ReservedConcurrency {
				t.Errorf("%s: SQS event %s MaximumConcurrency %d: want 2 to the function's reserved %d (above it the mapping is throttled)",
					f.LogicalID, ev.Name, ev.MaximumConcurrency, f.ReservedConcurrency)
			}
		}
		v, ok := f.Environment["DATABASE_MAX_CONNS"]
		lit, isLit := v.Literal()
		conns, err := strconv.Atoi(lit)
		if !ok || !isLit || err != nil || conns < 1 {
			t.Errorf("%s: DATABASE_MAX_CONNS = %v: want a literal positive integer", f.LogicalID, v)
			continue
		}
		t.Logf("%s: %d instances x %d connections = %d", f.LogicalID, f.ReservedConcurrency, conns, f.ReservedConcurrency*conns)
		total += f.ReservedConcurrency * conns
	}
	if total != FleetMaxConnections {
		t.Errorf("the fleet opens at most %d connections, the stated bound is %d: update FleetMaxConnections and docs/postgres-at-scale.md", total, FleetMaxConnections)
	}
}
