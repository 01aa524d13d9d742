//go:build !unix

package wuzapi

import "net"

// open reports whether an idle connection can carry a request. Without a
// way to peek at the socket here, an idle connection is not reused: a
// request written on one the server has closed could not be retried
// safely.
func open(net.Conn) bool { return false }
