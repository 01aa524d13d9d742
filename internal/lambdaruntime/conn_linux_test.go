package lambdaruntime

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
)

// TestLoopWaitsInABlockingRead: a loop's connection to the Runtime API is a
// socket in blocking mode, outside the network poller, and serves
// invocations as the poller's did.
func TestLoopWaitsInABlockingRead(t *testing.T) {
	f := newFakeAPI(t)
	var l *loop
	nonblocking := make(chan bool, 2)
	l = newLoop(handlerFunc(func(_ context.Context, p []byte) ([]byte, error) {
		bc, ok := l.c.conn.(*blockingConn)
		if !ok {
			t.Errorf("the loop's connection is a %T, want a blocking socket", l.c.conn)
			nonblocking <- true
			return p, nil
		}
		flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(bc.fd), syscall.F_GETFL, 0)
		if errno != 0 {
			t.Errorf("fcntl: %v", errno)
		}
		nonblocking <- flags&syscall.O_NONBLOCK != 0
		return p, nil
	}), Options{API: f.addr(), Concurrency: 1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		f.srv.CloseClientConnections()
		if err := <-done; err == nil {
			t.Error("the loop ended without saying why")
		}
	})
	for i, id := range []string{"a", "b"} {
		f.add(invocation{id: id, payload: `{"n":1}`})
		if r := f.result(t); r.id != id || r.kind != "response" || r.body != `{"n":1}` {
			t.Fatalf("invocation %d: posted %+v", i, r)
		}
		if <-nonblocking {
			t.Fatalf("invocation %d: the loop's socket is non-blocking", i)
		}
	}
}

// TestBlockingDialWatchesItsContext: a loop whose context has ended makes
// no new connection (its connect does not watch the context), so a Run
// stopped while the Runtime API closed its connection returns instead of
// asking for another invocation.
func TestBlockingDialWatchesItsContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if c, err := dialBlocking(ctx, ln.Addr().String()); !errors.Is(err, context.Canceled) {
		if c != nil {
			_ = c.Close()
		}
		t.Fatalf("dial after the context's end = %v, want context.Canceled", err)
	}
	c, err := dialBlocking(context.Background(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
}

// TestBlockingDialSetsWhatNetDialSets: the blocking socket has no delay and
// keep-alive probes after 15 s idle, every 15 s, as net.Dial's sockets.
func TestBlockingDialSetsWhatNetDialSets(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	c, err := dialBlocking(context.Background(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	fd := c.(*blockingConn).fd
	for _, o := range []struct {
		name       string
		level, opt int
		want       int
	}{
		{"TCP_NODELAY", syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1},
		{"SO_KEEPALIVE", syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1},
		{"TCP_KEEPIDLE", syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, 15},
		{"TCP_KEEPINTVL", syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, 15},
	} {
		if v, err := syscall.GetsockoptInt(fd, o.level, o.opt); err != nil || v != o.want {
			t.Errorf("%s = %d (%v), want %d", o.name, v, err, o.want)
		}
	}
}
