package blocksock

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// detached is a TCP connection's socket taken off the network poller.
type detached struct {
	fd           int
	laddr, raddr net.Addr
}

// detach connects with net.Dialer and returns a duplicate of the TCP
// connection's socket in blocking mode, the connection itself closed (so
// off the poller; the duplicate keeps the socket open). A connection that
// is not TCP is returned as it is.
func detach(ctx context.Context, network, address string) (detached, net.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, address)
	if err != nil {
		return detached{}, nil, err
	}
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return detached{}, nc, nil
	}
	defer func() { _ = tc.Close() }()
	s := detached{fd: -1, laddr: tc.LocalAddr(), raddr: tc.RemoteAddr()}
	fail := func(err error) (detached, net.Conn, error) {
		if s.fd >= 0 {
			_ = unix.Close(s.fd)
		}
		return detached{}, nil, &net.OpError{Op: "dial", Net: network, Addr: s.raddr, Err: err}
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return fail(err)
	}
	var derr error
	err = rc.Control(func(fd uintptr) {
		var dup int
		if dup, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0); derr == nil {
			s.fd = dup
		}
	})
	if err != nil {
		return fail(err)
	}
	if derr != nil {
		return fail(derr)
	}
	if err := unix.SetNonblock(s.fd, false); err != nil {
		return fail(err)
	}
	return s, nil, nil
}

// DialSocket connects to address (host:port) over TCP and returns the
// socket in blocking mode: each Read and Write is one system call that
// sleeps in the kernel until it can go on. It has no deadlines; it is for
// one goroutine at a time, and Close must not run while a Read or Write
// does (nothing would interrupt them).
func DialSocket(ctx context.Context, address string) (io.ReadWriteCloser, error) {
	s, nc, err := detach(ctx, "tcp", address)
	if err != nil {
		return nil, err
	}
	if nc != nil {
		return nc, nil
	}
	return &Socket{fd: s.fd}, nil
}

// Socket is a connected TCP socket in blocking mode (DialSocket).
type Socket struct {
	fd   int
	once sync.Once
}

// Fd is the socket's file descriptor, valid until Close.
func (s *Socket) Fd() int { return s.fd }

func (s *Socket) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := syscall.Read(s.fd, p)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return 0, &net.OpError{Op: "read", Net: "tcp", Err: err}
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (s *Socket) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := syscall.Write(s.fd, p[done:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return done, &net.OpError{Op: "write", Net: "tcp", Err: err}
		}
		done += n
	}
	return done, nil
}

// Close closes the socket; a second Close returns net.ErrClosed.
func (s *Socket) Close() error {
	err := net.ErrClosed
	s.once.Do(func() { err = unix.Close(s.fd) })
	return err
}
