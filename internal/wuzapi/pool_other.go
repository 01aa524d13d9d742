//go:build !unix

package wuzapi

import "net"

// peeker would check an idle connection's socket. Without a way to peek
// at the socket here, an idle connection is not reused: a request written
// on one the server has closed could not be retried safely.
type peeker struct{}

func newPeeker(net.Conn) *peeker { return nil }

func (*peeker) open() bool { return false }
