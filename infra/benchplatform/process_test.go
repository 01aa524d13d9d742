//go:build linux

package benchplatform

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// threadStat is what the kernel counted for one thread of a process.
type threadStat struct {
	cpu        time.Duration // user and system
	vol, invol int64         // voluntary and involuntary context switches
}

// threadSample holds every thread of some processes: pid → tid → counts.
type threadSample map[int]map[int]threadStat

// sampleThreads reads /proc/<pid>/task/<tid>/{stat,status} of every thread
// of pids; a thread that ended between the reads is left out.
func sampleThreads(pids []int) threadSample {
	s := threadSample{}
	for _, pid := range pids {
		dir := "/proc/" + strconv.Itoa(pid) + "/task/"
		entries, _ := os.ReadDir(dir)
		threads := map[int]threadStat{}
		for _, e := range entries {
			tid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if t, ok := readThread(dir + e.Name()); ok {
				threads[tid] = t
			}
		}
		s[pid] = threads
	}
	return s
}

func readThread(dir string) (threadStat, bool) {
	var t threadStat
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return t, false
	}
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return t, false
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return t, false
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	t.cpu = time.Duration(utime+stime) * 10 * time.Millisecond // USER_HZ 100
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return t, false
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "voluntary_ctxt_switches:"); ok {
			t.vol, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
		if v, ok := strings.CutPrefix(line, "nonvoluntary_ctxt_switches:"); ok {
			t.invol, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return t, true
}

// printThreads prints what the processes' threads did between before and
// after, per unit: context switches (each is a thread going to sleep or
// being put off the CPU), and the CPU and switches of each thread by its
// rank in creation order, summed over the processes. A Go process's first
// thread runs main until the scheduler moves it, its second is the
// runtime's sysmon (started before main.init), the rest serve goroutines.
func printThreads(phase, fn string, before, after threadSample, units float64) {
	var vol, invol int64
	var threads int
	var byRank []threadStat
	for pid, ts := range after {
		tids := make([]int, 0, len(ts))
		for tid := range ts {
			tids = append(tids, tid)
		}
		slices.Sort(tids)
		threads += len(tids)
		for rank, tid := range tids {
			t, b := ts[tid], before[pid][tid]
			d := threadStat{cpu: t.cpu - b.cpu, vol: t.vol - b.vol, invol: t.invol - b.invol}
			vol += d.vol
			invol += d.invol
			if rank >= len(byRank) {
				byRank = append(byRank, threadStat{})
			}
			byRank[rank].cpu += d.cpu
			byRank[rank].vol += d.vol
			byRank[rank].invol += d.invol
		}
	}
	fmt.Printf("PLATFORM %s threads: %s %d processes, %d threads; a unit: %.2f voluntary, %.2f involuntary context switches\n",
		phase, fn, len(after), threads, float64(vol)/units, float64(invol)/units)
	var parts []string
	for rank, t := range byRank {
		parts = append(parts, fmt.Sprintf("%d: %.1f µs, %.2f+%.2f", rank+1,
			float64(t.cpu.Microseconds())/units, float64(t.vol)/units, float64(t.invol)/units))
	}
	fmt.Printf("PLATFORM %s threads by rank (CPU, voluntary+involuntary switches a unit; 2 is sysmon): %s\n", phase, strings.Join(parts, "; "))
}

// invocation is one REPORT line: when the platform logged it, from which
// instance of the function, and the duration it states.
type invocation struct {
	at       time.Time
	instance int
	ms       float64
}

// printTail prints where the invocations slower than slowMs fall: the
// upper percentiles, the idle time before each on its instance (from the
// previous REPORT's arrival to this one's start, which includes the
// emulator's and the gateway's turn), and how many distinct 10 ms windows
// of the phase hold them (few windows: the machine stalled everything at
// once; many: the function's own).
func printTail(phase string, invs []invocation, slowMs float64) {
	if len(invs) == 0 {
		return
	}
	durs := make([]float64, len(invs))
	for i, v := range invs {
		durs[i] = v.ms
	}
	last := map[int]time.Time{}
	var idleAll, idleSlow []float64
	windows := map[int64]bool{}
	var slowFirst int // slow invocations that are their instance's first
	for _, v := range invs {
		prev, ok := last[v.instance]
		last[v.instance] = v.at
		slow := v.ms > slowMs
		if slow {
			windows[v.at.UnixMilli()/10] = true
		}
		if !ok {
			if slow {
				slowFirst++
			}
			continue
		}
		idle := float64(v.at.Sub(prev).Microseconds())/1000 - v.ms
		idleAll = append(idleAll, idle)
		if slow {
			idleSlow = append(idleSlow, idle)
		}
	}
	nSlow := 0
	for _, d := range durs {
		if d > slowMs {
			nSlow++
		}
	}
	fmt.Printf("PLATFORM %s tail: p90 %.2f, p95 %.2f, p99 %.2f, p99.9 %.2f, max %.2f ms; %d over %.0f ms (%d first on their instance) in %d distinct 10 ms windows\n",
		phase, pct(durs, 90), pct(durs, 95), pct(durs, 99), pct(durs, 99.9), pct(durs, 100), nSlow, slowMs, slowFirst, len(windows))
	fmt.Printf("PLATFORM %s tail: idle before an invocation on its instance p50 %.2f, p90 %.2f, p99 %.2f ms; before one over %.0f ms p50 %.2f, p90 %.2f ms\n",
		phase, pct(idleAll, 50), pct(idleAll, 90), pct(idleAll, 99), slowMs, pct(idleSlow, 50), pct(idleSlow, 90))
}
