package lambdaruntime

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"

	"github.com/wuzapi-manager/wuzapi-manager/internal/blocksock"
)

// userAgent names the runtime in every request to the Runtime API.
var userAgent = "wuzapi-manager-lambdaruntime (" + runtime.Version() + ")"

// client speaks HTTP/1.1 to one API of Lambda (the Runtime API or the
// Extensions API, both at AWS_LAMBDA_RUNTIME_API) over one kept-alive TCP
// connection: requests are written by hand in one write each and responses
// read from a bufio.Reader (read: by hand when they are plain, else with
// http.ReadResponse), so a round trip costs the two system calls
// and no goroutines besides the caller's. A client is not safe for
// concurrent use.
type client struct {
	addr string
	// blocking: the connection's socket is in blocking mode, outside the
	// network poller (blocksock.DialSocket), for a loop's client.
	blocking bool
	conn     io.ReadWriteCloser
	br       *bufio.Reader
	// fresh is true while conn has served no request: a failure on it is
	// not the server having closed an idle connection, and is not retried.
	fresh bool
	head  []byte // the request being written, reused
	// event holds the last /next response's body (the invocation's
	// payload, valid until the next /next); scratch any other body.
	event, scratch []byte
}

func newClient(addr string) *client {
	return &client{addr: addr, head: make([]byte, 0, 512)}
}

// request is one request to the API.
type request struct {
	method string
	path   string
	// header lines ("Name: value\r\n" each), written as they are.
	header []byte
	body   []byte
	// contentType of body; empty: none sent.
	contentType string
	// event: the response's body is an event, kept until the next event.
	event bool
}

// do sends req and returns the response's status, headers and body. An
// event's body is valid until the next event's request, any other until
// the next request. A connection the server closed
// while it was idle (between invocations, or while the process was
// frozen) is replaced and the request sent again once on a new one.
func (c *client) do(ctx context.Context, req request) (int, headers, []byte, error) {
	status, header, body, err := c.try(ctx, req, nil)
	if err != nil && !c.fresh {
		c.close()
		status, header, body, err = c.try(ctx, req, nil)
	}
	if err != nil {
		c.close()
		return 0, headers{}, nil, fmt.Errorf("%s %s: %w", req.method, req.path, err)
	}
	return status, header, body, nil
}

// pipelineMax is the largest body doThen writes together with the request
// that follows it.
const pipelineMax = 32 << 10

// doThen sends req and then in one write (HTTP/1.1 pipelining on the
// kept-alive connection: the server reads and answers them in turn) and
// returns req's response and then's; then's is not read (ok false) when
// req's response was not the status want or closed the connection,
// or when the connection failed after req's response: the caller sends
// then again with do, which reconnects. req is sent again once on a new
// connection, as do sends it, when the connection the server had kept
// fails before req's response. A req whose body exceeds pipelineMax goes
// alone, with do.
func (c *client) doThen(ctx context.Context, req request, want int, then request) (status int, body []byte, next reply, ok bool, err error) {
	if len(req.body) > pipelineMax {
		status, _, body, err = c.do(ctx, req)
		return status, body, reply{}, false, err
	}
	status, _, body, err = c.try(ctx, req, &then)
	if err != nil && !c.fresh {
		c.close()
		status, _, body, err = c.try(ctx, req, &then)
	}
	if err != nil {
		c.close()
		return 0, nil, reply{}, false, fmt.Errorf("%s %s: %w", req.method, req.path, err)
	}
	if c.conn == nil || status != want {
		// The server closed the connection after req's response, or the
		// caller stops at this answer: then's answer is left unread.
		c.close()
		return status, body, reply{}, false, nil
	}
	next, ok = c.readThen(then)
	return status, body, next, ok, nil
}

// readThen reads the response to a request sent after another in the same
// write. When it cannot, the connection is closed and the caller sends the
// request again on a new one.
func (c *client) readThen(then request) (reply, bool) {
	var r reply
	var err error
	r.status, r.header, r.body, err = c.read(then)
	if err != nil {
		c.close()
		return reply{}, false
	}
	return r, true
}

// reply is one response of the API.
type reply struct {
	status int
	header headers
	body   []byte
}

// try sends req once (and then after it in the same write, unless nil), on
// a new connection made under ctx if there is none, and reads req's
// response.
func (c *client) try(ctx context.Context, req request, then *request) (int, headers, []byte, error) {
	if c.conn == nil {
		var conn io.ReadWriteCloser
		var err error
		if c.blocking {
			conn, err = blocksock.DialSocket(ctx, c.addr)
		} else {
			var d net.Dialer
			conn, err = d.DialContext(ctx, "tcp", c.addr)
		}
		if err != nil {
			return 0, headers{}, nil, err
		}
		c.conn, c.fresh = conn, true
		if c.br == nil {
			c.br = bufio.NewReaderSize(conn, 16<<10)
		} else {
			c.br.Reset(conn)
		}
	}
	if err := c.write(req, then); err != nil {
		return 0, headers{}, nil, err
	}
	return c.read(req)
}

// write sends req's head and body in one write, and then's after them
// unless then is nil.
func (c *client) write(req request, then *request) error {
	h := c.appendHead(c.head[:0], req)
	var err error
	if len(req.body) <= pipelineMax {
		// Small bodies (most responses) go in the same buffer: one write
		// system call without writev's bookkeeping.
		h = append(h, req.body...)
		if then != nil {
			h = c.appendHead(h, *then)
			h = append(h, then.body...)
		}
		c.head = h
		_, err = c.conn.Write(h)
	} else {
		c.head = h
		bufs := net.Buffers{h, req.body}
		_, err = bufs.WriteTo(c.conn)
	}
	if cap(c.head) > 64<<10 {
		c.head = make([]byte, 0, 512) // do not keep a large body's buffer
	}
	return err
}

// appendHead appends req's request line and headers to h.
func (c *client) appendHead(h []byte, req request) []byte {
	h = append(h, req.method...)
	h = append(h, ' ')
	h = append(h, req.path...)
	h = append(h, " HTTP/1.1\r\nHost: "...)
	h = append(h, c.addr...)
	h = append(h, "\r\nUser-Agent: "...)
	h = append(h, userAgent...)
	h = append(h, "\r\n"...)
	h = append(h, req.header...)
	if req.contentType != "" {
		h = append(h, "Content-Type: "...)
		h = append(h, req.contentType...)
		h = append(h, "\r\n"...)
	}
	if req.method != http.MethodGet {
		h = append(h, "Content-Length: "...)
		h = strconv.AppendInt(h, int64(len(req.body)), 10)
		h = append(h, "\r\n"...)
	}
	return append(h, "\r\n"...)
}

// readBody reads r up to its end into *buf (n, the body's length, -1 if
// unknown, sizes a new buffer).
func readBody(r io.Reader, n int64, buf *[]byte) ([]byte, error) {
	b := (*buf)[:0]
	if n > 0 && int64(cap(b)) < n && n <= maxPayload {
		b = make([]byte, 0, n)
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read response body: %w", err)
		}
		if len(b) > maxPayload {
			return nil, fmt.Errorf("response body over %d bytes", maxPayload)
		}
	}
	keep(buf, b)
	return b, nil
}

// keep keeps b in *buf for the next body unless it grew past 1 MiB.
func keep(buf *[]byte, b []byte) {
	if cap(b) <= 1<<20 {
		*buf = b
	} else {
		*buf = nil
	}
}

// maxPayload bounds what the client reads of one response: Lambda's own
// limit for an invocation's payload is 6 MB (256 KB for asynchronous ones).
const maxPayload = 8 << 20

func (c *client) close() {
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
}
