//go:build !linux

package blocksock

import (
	"context"
	"io"
	"net"
)

// Dial connects through net.Dialer where sockets are not Linux's.
func Dial(ctx context.Context, network, address string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}

// DialSocket connects through net.Dialer where sockets are not Linux's.
func DialSocket(ctx context.Context, address string) (io.ReadWriteCloser, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", address)
}
