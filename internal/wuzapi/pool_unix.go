//go:build unix

package wuzapi

import (
	"errors"
	"net"
	"syscall"
)

// open reports whether an idle connection can carry a request: the server
// has not closed it and sent nothing since its last answer. It peeks at
// the socket without blocking (one recvfrom); anything readable (the
// end of the stream, a reset, stray bytes, a TLS alert) means it cannot.
func open(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := false
	err = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		alive = errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EWOULDBLOCK)
		return true
	})
	return err == nil && alive
}
