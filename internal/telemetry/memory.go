package telemetry

import "syscall"

// MemoryRatio returns a function that reports the process's peak resident
// memory as a fraction of sizeMB, the Lambda memory size in MiB — the same
// figure as Lambda's "Max Memory Used" — or ok=false when the size is 0
// (outside Lambda) or the peak cannot be read.
func MemoryRatio(sizeMB int) func() (ratio float64, ok bool) {
	return func() (float64, bool) { return memoryRatio(sizeMB) }
}

func memoryRatio(mb int) (ratio float64, ok bool) {
	if mb <= 0 {
		return 0, false
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil || ru.Maxrss <= 0 {
		return 0, false
	}
	return float64(ru.Maxrss) * 1024 / (float64(mb) * (1 << 20)), true // Maxrss is KiB on Linux
}
