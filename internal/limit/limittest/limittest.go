// Package limittest runs a private redis-server for tests that must stop
// Redis (fail-open and fail-closed paths) without disturbing the shared one
// every other test uses. Imported only by tests.
package limittest

import (
	"bufio"
	"context"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server child process.
type Server struct {
	Addr string
	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs redis-server on a free port without persistence and
// waits until it accepts commands. It is killed when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("limittest: find a free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("limittest: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("limittest: start redis-server (is it on PATH?): %v", err)
	}
	s := &Server{Addr: "127.0.0.1:" + strconv.Itoa(port), cmd: cmd, done: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			if !signalled && strings.Contains(sc.Text(), "Ready to accept connections") {
				close(ready)
				signalled = true
			}
		}
		_ = cmd.Wait()
		close(s.done)
	}()
	select {
	case <-ready:
	case <-s.done:
		t.Fatalf("limittest: redis-server on port %d exited before it was ready", port)
	case <-time.After(10 * time.Second):
		s.Kill()
		t.Fatalf("limittest: redis-server on port %d not ready after 10 s", port)
	}
	t.Cleanup(s.Kill)
	return s
}

// Client returns a client of s that gives up at once when s is gone, so
// tests of the failure paths do not wait out retries.
func (s *Server) Client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, DialTimeout: time.Second})
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("limittest: ping %s: %v", s.Addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Kill stops the server (SIGKILL) and waits until it has exited.
func (s *Server) Kill() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
	}
	<-s.done
}

// Commands counts the commands a Redis client sends, by name: add it with
// the client's AddHook. Scripts count as one evalsha (or eval) each; what
// they run inside is Redis's, not the client's.
type Commands struct {
	mu    sync.Mutex
	calls map[string]int
}

// DialHook passes dials through.
func (c *Commands) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook counts each command.
func (c *Commands) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.mu.Lock()
		if c.calls == nil {
			c.calls = map[string]int{}
		}
		c.calls[cmd.Name()]++
		c.mu.Unlock()
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook passes pipelines through uncounted.
func (c *Commands) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// Take returns the counts since the last Take and starts again from zero.
func (c *Commands) Take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.calls
	c.calls = map[string]int{}
	return m
}
