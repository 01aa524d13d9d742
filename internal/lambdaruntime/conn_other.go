//go:build !linux

package lambdaruntime

import (
	"context"
	"io"
	"net"
)

// dialBlocking connects to addr through net.Dialer where the socket is not
// Linux's.
func dialBlocking(ctx context.Context, addr string) (io.ReadWriteCloser, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}
