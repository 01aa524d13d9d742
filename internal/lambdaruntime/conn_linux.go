package lambdaruntime

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"syscall"
)

// dialBlocking connects to addr (an IP address and port, as
// AWS_LAMBDA_RUNTIME_API gives it) on a socket in blocking mode, outside
// Go's network poller: a read that waits for the next invocation sleeps in
// the kernel and is woken by the answer itself, where the poller's read
// would fail with EAGAIN, park the goroutine, let its thread look for
// other work, wait in epoll_wait and read again (two system calls and the
// scheduler's round more each round trip). The loop's goroutine is the
// only one reading or writing the connection. An address that is not an
// IP address goes through net.Dialer.
func dialBlocking(ctx context.Context, addr string) (io.ReadWriteCloser, error) {
	// The connect below does not watch ctx: a loop whose context has
	// ended makes no new connection (a Run stopped while the API had
	// closed its connection would otherwise wait for an invocation).
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
	family := syscall.AF_INET
	var sa syscall.Sockaddr
	if ip := ap.Addr().Unmap(); ip.Is4() {
		sa = &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ip.As4()}
	} else {
		family = syscall.AF_INET6
		sa = &syscall.SockaddrInet6{Port: int(ap.Port()), Addr: ip.As16()}
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, syscall.IPPROTO_TCP)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: err}
	}
	if err := setSockopts(fd); err != nil {
		_ = syscall.Close(fd)
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: err}
	}
	for {
		err = syscall.Connect(fd, sa)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		_ = syscall.Close(fd)
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(ap), Err: err}
	}
	return &blockingConn{fd: fd}, nil
}

// keepAlive is net.Dialer's default keep-alive idle time and interval.
const keepAlive = 15

// setSockopts sets what net.Dial sets on a TCP socket: no delay (the
// requests are small and written whole) and keep-alive probes, so that a
// read waiting for the next invocation ends with an error, not never,
// when the Runtime API's end vanished without closing the connection.
func setSockopts(fd int) error {
	for _, o := range [...]struct{ level, name, value int }{
		{syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1},
		{syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1},
		{syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, keepAlive},
		{syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, keepAlive},
	} {
		if err := syscall.SetsockoptInt(fd, o.level, o.name, o.value); err != nil {
			return err
		}
	}
	return nil
}

// blockingConn is a connected TCP socket in blocking mode.
type blockingConn struct {
	fd   int
	once sync.Once
}

func (c *blockingConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := syscall.Read(c.fd, p)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case err != nil:
			return 0, &net.OpError{Op: "read", Net: "tcp", Err: err}
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (c *blockingConn) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := syscall.Write(c.fd, p[done:])
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return done, &net.OpError{Op: "write", Net: "tcp", Err: err}
		}
		done += n
	}
	return done, nil
}

func (c *blockingConn) Close() error {
	err := net.ErrClosed
	c.once.Do(func() { err = syscall.Close(c.fd) })
	return err
}
