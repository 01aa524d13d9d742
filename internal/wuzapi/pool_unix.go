//go:build unix

package wuzapi

import (
	"errors"
	"net"
	"syscall"
)

// peeker checks an idle connection's socket, made once a connection so
// that a check allocates nothing.
type peeker struct {
	raw   syscall.RawConn
	alive bool
	peek  func(fd uintptr)
}

// newPeeker returns the checker of c's socket; nil when c has none.
func newPeeker(c net.Conn) *peeker {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	p := &peeker{raw: raw}
	p.peek = func(fd uintptr) {
		var b [1]byte
		_, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		p.alive = errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EWOULDBLOCK)
	}
	return p
}

// open reports whether an idle connection can carry a request: the server
// has not closed it and sent nothing since its last answer. It peeks at
// the socket without blocking (one recvfrom); anything readable (the
// end of the stream, a reset, stray bytes, a TLS alert) means it cannot.
// The peek goes through Control, not Read: an idle connection keeps its
// last call's deadline (the next call sets its own), which may have
// passed.
func (p *peeker) open() bool {
	if p == nil {
		return false
	}
	p.alive = false
	err := p.raw.Control(p.peek)
	return err == nil && p.alive
}
