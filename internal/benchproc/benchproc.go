// Package benchproc runs a benchmark's measured work in a child process of
// the test binary, so that the child's peak resident set size is the work's
// alone (emulators and fixtures stay in the parent), and hands the child's
// figures back on one "FIGURES {json}" line of its output. Imported only by
// tests. Peak RSS is read from /proc/self/status, so it works on Linux only.
package benchproc

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

const prefix = "FIGURES "

// Run runs the test function named test (a TestXxx of the same test binary)
// in a child process, with env ("NAME=value") added to this process's
// environment, and decodes the JSON of the child's FIGURES line into
// figures. It returns the child's combined output, for failure messages. It
// fails tb when the child fails or prints no FIGURES line.
func Run(tb testing.TB, test string, env []string, figures any) []byte {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.v")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("worker process %s: %v\n%s", test, err, out)
	}
	for line := range strings.Lines(string(out)) {
		if j, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), prefix); ok {
			if err := json.Unmarshal([]byte(j), figures); err != nil {
				tb.Fatalf("worker process %s: figures %q: %v", test, j, err)
			}
			return out
		}
	}
	tb.Fatalf("worker process %s printed no FIGURES line\n%s", test, out)
	return out
}

// Report prints figures as the FIGURES line that Run reads; the child calls
// it once, at the end.
func Report(tb testing.TB, figures any) {
	tb.Helper()
	j, err := json.Marshal(figures)
	if err != nil {
		tb.Fatalf("encode figures: %v", err)
	}
	fmt.Println(prefix + string(j))
}

// VmHWM is this process's peak resident set size in KiB (the VmHWM line of
// /proc/self/status). It fails tb where that file or line is missing.
func VmHWM(tb testing.TB) int64 {
	tb.Helper()
	n, err := vmHWM()
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func vmHWM() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("peak RSS: VmHWM %q: %w", v, err)
			}
			return n, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("peak RSS: read /proc/self/status: %w", err)
	}
	return 0, errors.New("peak RSS: no VmHWM line in /proc/self/status")
}

// userHZ is the unit of the CPU times in /proc/<pid>/stat: USER_HZ, 100 on
// every Linux.
const userHZ = 100

// CPU is the user plus system CPU time that the processes pids have used,
// from /proc/<pid>/stat; processes gone since are counted as 0.
func CPU(pids ...int) time.Duration {
	var ticks int64
	for _, pid := range pids {
		data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue
		}
		// The command name in parentheses may hold spaces: parse after it.
		i := strings.LastIndexByte(string(data), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(data[i+1:]))
		if len(f) < 13 {
			continue
		}
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += utime + stime
	}
	return time.Duration(ticks) * time.Second / userHZ
}

// Find returns the processes whose command line (arguments joined by
// spaces) satisfies match.
func Find(match func(cmdline string) bool) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || len(b) == 0 {
			continue
		}
		if match(strings.TrimRight(strings.ReplaceAll(string(b), "\x00", " "), " ")) {
			out = append(out, pid)
		}
	}
	return out
}

// PostgresBackends returns the local server's backends connected to the
// database named db (their title is "postgres: <cluster>: <user> <db> ...").
func PostgresBackends(db string) []int {
	return Find(func(cmd string) bool {
		return strings.HasPrefix(cmd, "postgres: ") && strings.Contains(cmd, " "+db+" ")
	})
}

// Exe returns the processes whose executable is path.
func Exe(path string) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink("/proc/" + e.Name() + "/exe"); err == nil && exe == path {
			out = append(out, pid)
		}
	}
	return out
}

// Sample is the CPU time each process had used at one moment.
type Sample map[int]time.Duration

// Snapshot samples the CPU time of pids.
func Snapshot(pids []int) Sample {
	s := Sample{}
	for _, pid := range pids {
		s[pid] = CPU(pid)
	}
	return s
}

// Since is the CPU the processes of s used after earlier: a process absent
// from earlier started since and counts whole; one absent from s (exited)
// is lost, so sample the same set at both ends.
func (s Sample) Since(earlier Sample) time.Duration {
	var d time.Duration
	for pid, cpu := range s {
		d += cpu - earlier[pid]
	}
	return d
}
