package local

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// childPIDs returns the processes whose parent is pid. aws-lambda-rie starts
// the function in a process group of its own and does not stop it when it
// exits itself, so the runner stops the children first.
func childPIDs(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, s := range stats {
		data, err := os.ReadFile(s)
		if err != nil {
			continue
		}
		// The command name in parentheses may hold spaces: parse after it.
		i := strings.LastIndexByte(string(data), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(data[i+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(pid) || f[0] == "Z" {
			continue
		}
		if child, err := strconv.Atoi(filepath.Base(filepath.Dir(s))); err == nil {
			out = append(out, child)
		}
	}
	return out
}

// running reports whether pid is a live process (not a zombie).
func running(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(data), ')')
	f := strings.Fields(string(data[i+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

// sysProcAttr puts a child in its own process group and kills it when the
// runner dies without stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
