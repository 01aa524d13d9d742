package lambdaruntime

import (
	"context"
	"syscall"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/internal/blocksock"
)

// TestLoopWaitsInABlockingRead: a loop's connection to the Runtime API is a
// socket in blocking mode, outside the network poller, and serves
// invocations as the poller's did.
func TestLoopWaitsInABlockingRead(t *testing.T) {
	f := newFakeAPI(t)
	var l *loop
	nonblocking := make(chan bool, 2)
	l = newLoop(handlerFunc(func(_ context.Context, p []byte) ([]byte, error) {
		bc, ok := l.c.conn.(*blocksock.Socket)
		if !ok {
			t.Errorf("the loop's connection is a %T, want a blocking socket", l.c.conn)
			nonblocking <- true
			return p, nil
		}
		flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(bc.Fd()), syscall.F_GETFL, 0)
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
