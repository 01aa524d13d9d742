package telemetry

import (
	"os"
	"strconv"
	"syscall"
)

// MemoryRatio returns the process's peak resident memory as a fraction of
// the Lambda memory size (AWS_LAMBDA_FUNCTION_MEMORY_SIZE, MiB) — the same
// figure as Lambda's "Max Memory Used" — or ok=false when the size is not
// set (outside Lambda) or the peak cannot be read.
func MemoryRatio() (ratio float64, ok bool) {
	mb, err := strconv.Atoi(os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"))
	if err != nil || mb <= 0 {
		return 0, false
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil || ru.Maxrss <= 0 {
		return 0, false
	}
	return float64(ru.Maxrss) * 1024 / (float64(mb) * (1 << 20)), true // Maxrss is KiB on Linux
}
