package campaign

import (
	"encoding/json"
	"fmt"
	"syscall"
	"testing"
	"time"
)

// cpuNow is the user+system CPU time this process used so far.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func items100k() []json.RawMessage {
	items := make([]json.RawMessage, MaxInlineContacts)
	for i := range items {
		items[i] = json.RawMessage(fmt.Sprintf(`"551198%07d"`, i))
	}
	return items
}

// BenchmarkNormalizeContacts100k measures reading and normalising the
// largest inline contact list one goroutine at a time; cpu-s/op is the
// figure that does not depend on how busy the machine is.
func BenchmarkNormalizeContacts100k(b *testing.B) {
	items := items100k()
	c0 := cpuNow()
	for b.Loop() {
		recs, _ := normalizeContacts(items, "BR")
		if len(recs) != len(items) {
			b.Fatal(len(recs))
		}
	}
	b.ReportMetric((cpuNow()-c0).Seconds()/float64(b.N), "cpu-s/op")
}
