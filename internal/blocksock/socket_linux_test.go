package blocksock

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestDialWatchesItsContext: a dial under an ended context connects
// nothing.
func TestDialWatchesItsContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if c, err := DialSocket(ctx, ln.Addr().String()); !errors.Is(err, context.Canceled) {
		if c != nil {
			_ = c.Close()
		}
		t.Errorf("DialSocket after the context's end = %v, want context.Canceled", err)
	}
	if c, err := Dial(ctx, "tcp", ln.Addr().String()); !errors.Is(err, context.Canceled) {
		if c != nil {
			_ = c.Close()
		}
		t.Errorf("Dial after the context's end = %v, want context.Canceled", err)
	}
}

// TestDialSetsWhatNetDialSets: both kinds of socket are outside the
// poller, have no delay and keep-alive probes after 15 s idle, every 15 s,
// as net.Dial's sockets, and are in blocking mode; DialSocket's has no
// receive timeout (its calls sleep in read and write), Dial's blockFor
// (its reads sleep that long in recvfrom, then in ppoll).
func TestDialSetsWhatNetDialSets(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	s, err := DialSocket(context.Background(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	c, err := Dial(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	for _, k := range []struct {
		name    string
		fd      int
		rcvtimo time.Duration
	}{{"DialSocket", s.(*Socket).Fd(), 0}, {"Dial", c.(*Conn).Fd(), blockFor}} {
		name, fd := k.name, k.fd
		if nonblocking(t, fd) {
			t.Errorf("%s: O_NONBLOCK set, want blocking mode", name)
		}
		// The kernel keeps the timeout in scheduler ticks, rounded up.
		tv, err := unix.GetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO)
		if got := time.Duration(tv.Nano()); err != nil || got < k.rcvtimo || got > k.rcvtimo+10*time.Millisecond {
			t.Errorf("%s: SO_RCVTIMEO = %v (%v), want %v", name, got, err, k.rcvtimo)
		}
		if polled(t, fd) {
			t.Errorf("%s: the socket is in an epoll set", name)
		}
		for _, o := range []struct {
			name       string
			level, opt int
			want       int
		}{
			{"TCP_NODELAY", unix.IPPROTO_TCP, unix.TCP_NODELAY, 1},
			{"SO_KEEPALIVE", unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1},
			{"TCP_KEEPIDLE", unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 15},
			{"TCP_KEEPINTVL", unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, 15},
		} {
			if v, err := unix.GetsockoptInt(fd, o.level, o.opt); err != nil || v != o.want {
				t.Errorf("%s: %s = %d (%v), want %d", name, o.name, v, err, o.want)
			}
		}
	}
}

// TestDialKeepsOtherNetworks: a unix socket is net.Dialer's connection.
func TestDialKeepsOtherNetworks(t *testing.T) {
	path := t.TempDir() + "/s"
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	c, err := Dial(context.Background(), "unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, ok := c.(*net.UnixConn); !ok {
		t.Errorf("Dial over unix gave a %T, want *net.UnixConn", c)
	}
}
