package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"
)

// readyTimeout bounds how long a new RIE instance may take to listen.
const readyTimeout = 10 * time.Second

// function is a template function ready to run.
type function struct {
	logicalID string
	name      string // physical name
	bootstrap string
	timeout   time.Duration
	env       []string
	rie       string
	grace     time.Duration
	log       *slog.Logger
}

// instance is one aws-lambda-rie process running one copy of a function: a
// Lambda execution environment. It handles one invocation at a time.
type instance struct {
	fn     *function
	n      int
	url    string // invocation URL
	cmd    *exec.Cmd
	exited chan struct{}
	quiet  atomic.Bool
	// killed: its function process was killed (Platform.KillFunction);
	// the next invocation replaces the instance first.
	killed atomic.Bool
}

// startInstance starts RIE on two free loopback ports (the emulator's and
// the Runtime API's; the default 9001 would collide between instances) and
// waits until it listens. A port taken between picking and binding makes
// RIE exit; that is retried.
func startInstance(ctx context.Context, fn *function, n int) (*instance, error) {
	var lastErr error
	for range 3 {
		inst, err := tryStartInstance(ctx, fn, n)
		if err == nil {
			return inst, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("start %s instance %d: %w", fn.logicalID, n, lastErr)
}

func tryStartInstance(ctx context.Context, fn *function, n int) (*instance, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	addr := ports[0]
	inst := &instance{fn: fn, n: n, url: "http://" + addr + "/2015-03-31/functions/function/invocations", exited: make(chan struct{})}
	cmd := exec.Command(fn.rie,
		"--log-level", "error",
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", ports[1],
		fn.bootstrap)
	cmd.Env = fn.env
	cmd.Dir = filepath.Dir(fn.bootstrap)
	cmd.SysProcAttr = sysProcAttr()
	cmd.Stdout = &lineLogger{log: fn.log, quiet: &inst.quiet, instance: n}
	cmd.Stderr = &lineLogger{log: fn.log, quiet: &inst.quiet, instance: n}
	cmd.WaitDelay = fn.grace
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", fn.rie, err)
	}
	inst.cmd = cmd
	go func() {
		err := cmd.Wait()
		if !inst.quiet.Load() {
			fn.log.Warn("function instance exited", "instance", n, "err", err)
		}
		close(inst.exited)
	}()
	if err := waitListening(ctx, addr, inst.exited); err != nil {
		inst.stop()
		return nil, err
	}
	return inst, nil
}

// waitListening polls addr until it accepts a connection.
func waitListening(ctx context.Context, addr string, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return c.Close()
		}
		select {
		case <-exited:
			return errors.New("aws-lambda-rie exited before listening")
		case <-ctx.Done():
			return fmt.Errorf("aws-lambda-rie did not listen on %s: %w", addr, ctx.Err())
		case <-tick.C:
		}
	}
}

// freePorts returns n distinct free loopback addresses.
func freePorts(n int) ([]string, error) {
	out := make([]string, 0, n)
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().String())
	}
	return out, nil
}

// alive reports whether the RIE process still runs.
func (i *instance) alive() bool {
	select {
	case <-i.exited:
		return false
	default:
		return true
	}
}

// pids returns the RIE process and the function processes it started.
func (i *instance) pids() []int {
	pid := i.cmd.Process.Pid
	return append([]int{pid}, childPIDs(pid)...)
}

// stop stops the function processes, then RIE: SIGTERM to each process
// group, SIGKILL after the grace period. The function goes first because RIE
// does not stop it when RIE itself is told to exit.
func (i *instance) stop() {
	i.quiet.Store(true)
	if !i.alive() {
		return
	}
	begin := time.Now()
	defer func() { i.fn.log.Debug("function instance stopped", "instance", i.n, "took", time.Since(begin)) }()
	rie := i.cmd.Process.Pid
	children := childPIDs(rie)
	for _, c := range children {
		_ = syscall.Kill(-c, syscall.SIGTERM)
	}
	deadline := time.Now().Add(i.fn.grace)
	if !waitGone(children, deadline) {
		for _, c := range children {
			_ = syscall.Kill(-c, syscall.SIGKILL)
		}
		waitGone(children, time.Now().Add(time.Second))
	}
	_ = syscall.Kill(-rie, syscall.SIGTERM)
	select {
	case <-i.exited:
		return
	case <-time.After(time.Until(deadline) + 100*time.Millisecond):
	}
	_ = syscall.Kill(-rie, syscall.SIGKILL)
	<-i.exited
}

// waitGone polls until no pid runs or the deadline passes.
func waitGone(pids []int, deadline time.Time) bool {
	for {
		gone := true
		for _, p := range pids {
			if running(p) {
				gone = false
				break
			}
		}
		if gone {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}
