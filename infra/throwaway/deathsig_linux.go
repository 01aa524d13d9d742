package throwaway

import "syscall"

// withDeathSignal has the kernel send sig to the child when the test's
// process dies without stopping it.
func withDeathSignal(a *syscall.SysProcAttr, sig syscall.Signal) *syscall.SysProcAttr {
	a.Pdeathsig = sig
	return a
}
