//go:build !linux

package throwaway

import "syscall"

// withDeathSignal returns a unchanged: only Linux signals a child when its
// parent dies, so elsewhere a test's servers outlive a killed test.
func withDeathSignal(a *syscall.SysProcAttr, _ syscall.Signal) *syscall.SysProcAttr { return a }
