package wuzapi

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
)

// Pool makes WuzAPI calls on kept-alive connections of its own, without
// net/http's client: a request is written by hand in one write and its
// answer read in the caller's goroutine (http.ReadResponse), so a call
// costs its system calls and no transport goroutines, request objects or
// header maps. It speaks HTTP/1.1 over TCP or TLS as the guard's
// net/http client does: every address dialled is checked against the
// guard, redirects are not followed, no environment proxy is used, a
// whole call is bounded by the pool's timeout and by its context (a
// cancelled context ends the call at once), and a POST is never sent
// twice (a connection that fails is dropped, the call is not retried).
// Before an idle connection is reused it is checked for the server having
// closed it. A Pool is safe for concurrent use.
type Pool struct {
	// Trace, when set, opens a client span around each call: it returns
	// the call's context, header fields to send along (the traceparent),
	// and the span's end. telemetry.StartClientCall is one; with tracing
	// off it returns no header and a nil end.
	Trace func(ctx context.Context, method, host, path string) (context.Context, http.Header, func(status int, err error))

	timeout time.Duration
	dialer  *net.Dialer
	rootCAs *x509.CertPool // the system's when nil

	mu      sync.Mutex
	idle    map[string][]*poolConn // by scheme and address dialled
	targets map[targetKey]*target
}

// Pool returns a pool whose connections are checked against the guard at
// dial time and whose calls each end after timeout.
func (g Guard) Pool(timeout time.Duration) *Pool {
	return &Pool{timeout: timeout, dialer: g.dialer(), idle: map[string][]*poolConn{}, targets: map[targetKey]*target{}}
}

// Client returns a client of the instance at baseURL authenticating with
// the user token, whose calls go through the pool.
func (p *Pool) Client(baseURL, token string) *Client {
	return &Client{baseURL: strings.TrimRight(baseURL, "/"), token: token, pool: p}
}

// As the guard's net/http client: idle connections kept per server and for
// how long, how long a TLS handshake may take.
const (
	maxIdlePerServer = 64
	idleTimeout      = 90 * time.Second
	tlsTimeout       = 5 * time.Second
	// maxTargets bounds the cache of parsed URLs (one per instance and path).
	maxTargets = 4096
)

// userAgent is net/http's, so servers and proxies see what they saw before.
const userAgent = "Go-http-client/1.1"

type targetKey struct{ base, path string }

// target is a parsed URL called: what the request and the dial need.
type target struct {
	err     error  // the URL does not parse (a request could not be built)
	bad     error  // the URL cannot be called (no answer can come)
	url     string // as called, for errors
	tls     bool
	addr    string // host:port dialled
	name    string // the host name: TLS server name, the span's server.address
	host    string // the Host field
	uri     string // the request target
	path    string // the span's url.path
	connKey string
}

// target parses base+path once: the campaign worker calls the same few
// URLs of each instance for every send.
func (p *Pool) target(base, path string) *target {
	k := targetKey{base, path}
	p.mu.Lock()
	t := p.targets[k]
	p.mu.Unlock()
	if t != nil {
		return t
	}
	t = parseTarget(base + path)
	p.mu.Lock()
	if len(p.targets) >= maxTargets {
		clear(p.targets)
	}
	p.targets[k] = t
	p.mu.Unlock()
	return t
}

func parseTarget(raw string) *target {
	t := &target{url: raw}
	u, err := url.Parse(raw)
	if err != nil {
		t.err = err
		return t
	}
	port := u.Port()
	switch u.Scheme {
	case "http":
		port = cmpOr(port, "80")
	case "https":
		t.tls, port = true, cmpOr(port, "443")
	default:
		t.bad = fmt.Errorf("unsupported protocol scheme %q", u.Scheme)
		return t
	}
	if u.Host == "" {
		t.bad = errors.New("http: no Host in request URL")
		return t
	}
	host, err := httpguts.PunycodeHostPort(strings.TrimSuffix(u.Host, ":"))
	if err != nil {
		t.bad = err
		return t
	}
	name, err := httpguts.PunycodeHostPort(u.Hostname())
	if err != nil {
		t.bad = err
		return t
	}
	t.name, t.host, t.addr = name, host, net.JoinHostPort(name, port)
	t.uri, t.path = u.RequestURI(), u.Path
	t.connKey = u.Scheme + "://" + t.addr
	return t
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// poolConn is one kept-alive connection.
type poolConn struct {
	key    string
	conn   net.Conn // the TLS connection over TCP for https
	br     *bufio.Reader
	peek   *peeker
	buf    []byte // the request being written, then the answer's body
	text   []byte // a text send's body, written beside its head
	idleAt time.Time
}

// answer is a server's answer; body is valid until the connection it came
// on is given back (put).
type answer struct {
	status      int
	contentType string
	body        []byte
}

// maxAnswer is how much of an answer's body is read, as call reads it.
const maxAnswer = 4 << 20

// request is one call to make.
type request struct {
	method, token string
	body          []byte
	hasBody       bool
	timeout       time.Duration // the call's own bound, below the pool's (0: none)
	// text, when isText, is a text send whose body (appendSendText) is
	// written into the connection's own buffer instead of body.
	text   textSend
	isText bool
}

// textSend is the body of a text send.
type textSend struct{ phone, body, id string }

// exchange makes one request. On success the connection is returned for
// put once the answer's body has been used. A failure after the answer's
// head arrived is an error with a non-zero status (the body could not be
// read); any other error means no answer came.
func (p *Pool) exchange(ctx context.Context, t *target, req request) (pc *poolConn, ans answer, err error) {
	if t.err != nil {
		return nil, answer{}, t.err
	}
	var header http.Header
	var end func(int, error)
	if p.Trace != nil {
		ctx, header, end = p.Trace(ctx, req.method, t.name, t.path)
	}
	pc, ans, err = p.roundTrip(ctx, t, req, header)
	if end != nil {
		end(ans.status, err)
	}
	if err != nil && ans.status == 0 {
		// No answer: worded as net/http's client words it.
		err = &url.Error{Op: req.method[:1] + strings.ToLower(req.method[1:]), URL: t.url, Err: err}
	}
	return pc, ans, err
}

func (p *Pool) roundTrip(ctx context.Context, t *target, req request, header http.Header) (*poolConn, answer, error) {
	if t.bad != nil {
		return nil, answer{}, t.bad
	}
	if !httpguts.ValidHeaderFieldValue(req.token) {
		return nil, answer{}, errors.New(`net/http: invalid header field value for "Token"`)
	}
	for k, vs := range header {
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidHeaderFieldValue(v) {
				return nil, answer{}, fmt.Errorf("net/http: invalid header field %q", k)
			}
		}
	}
	limit := p.timeout
	if req.timeout > 0 && req.timeout < limit {
		limit = req.timeout
	}
	deadline := time.Now().Add(limit)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	pc, err := p.get(ctx, t, deadline)
	if err != nil {
		// A dial that outlasts the context's deadline may report the
		// socket's own deadline first: it is still the context's.
		return nil, answer{}, contextErr(ctx, err)
	}
	if err := pc.conn.SetDeadline(deadline); err != nil {
		pc.close()
		return nil, answer{}, err
	}
	// A cancelled context ends the call at once: its deadline passes. The
	// function may run after this call has closed the connection and let go
	// of pc, so it holds the connection itself.
	stop := func() bool { return true }
	if ctx.Done() != nil {
		conn := pc.conn
		stop = context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	}
	ans, reusable, err := pc.roundTrip(t, req, header)
	if !stop() {
		reusable = false
	}
	if err != nil {
		err = contextErr(ctx, err)
	}
	if err != nil || !reusable {
		pc.close()
		pc = nil
	}
	return pc, ans, err
}

// contextErr is err as net/http reports a call its context ended:
// context.Canceled, or context.DeadlineExceeded when the connection's
// deadline was the context's (it may pass before the context says so).
func contextErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	var ne net.Error
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) && errors.As(err, &ne) && ne.Timeout() {
		return context.DeadlineExceeded
	}
	return err
}

// roundTrip writes req and reads the answer on pc.
func (pc *poolConn) roundTrip(t *target, req request, header http.Header) (ans answer, reusable bool, err error) {
	if req.isText {
		ts := &req.text
		req.body = appendSendText(pc.text[:0], ts.phone, ts.body, ts.id)
		if cap(req.body) <= 64<<10 {
			pc.text = req.body
		}
	}
	b := pc.buf[:0]
	b = append(b, req.method...)
	b = append(b, ' ')
	b = append(b, t.uri...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, t.host...)
	b = append(b, "\r\nUser-Agent: "+userAgent+"\r\n"...)
	if req.method != http.MethodGet && req.method != http.MethodHead {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(req.body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "Accept: application/json\r\n"...)
	if req.hasBody {
		b = append(b, "Content-Type: application/json\r\n"...)
	}
	b = append(b, "Token: "...)
	b = append(b, req.token...)
	b = append(b, "\r\n"...)
	for k, vs := range header {
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	b = append(b, "\r\n"...)
	if len(req.body) <= 64<<10 {
		b = append(b, req.body...)
		_, err = pc.conn.Write(b)
	} else {
		bufs := net.Buffers{b, req.body}
		_, err = bufs.WriteTo(pc.conn)
	}
	pc.buf = b
	if err != nil {
		return answer{}, false, err
	}
	if ans, ok, err := pc.readUsual(req.method); ok || err != nil {
		return ans, err == nil, err
	}
	resp, err := http.ReadResponse(pc.br, nil)
	for err == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
		_ = resp.Body.Close() // an interim answer (no body): the final one follows
		resp, err = http.ReadResponse(pc.br, nil)
	}
	if err != nil {
		return answer{}, false, err
	}
	if isRedirect(resp) {
		_ = resp.Body.Close()
		return answer{}, false, errors.New("wuzapi: redirects are not followed")
	}
	ans = answer{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type")}
	ans.body, reusable, err = pc.readBody(resp)
	return ans, reusable && !resp.Close, err
}

// readUsual reads the usual answer without http.ReadResponse (its header
// map, strings and body reader): an HTTP/1.1 head of at most the reader's
// buffer, lines ending in CRLF, a final status of 200-599 that is not 204,
// 304 or a redirect, one Content-Length of at most maxAnswer, and no
// Transfer-Encoding, Connection or Trailer field. It reads nothing of any
// other answer (ok false), which http.ReadResponse then reads from the
// same bytes. What it reads http.ReadResponse reads the same
// (FuzzReadUsual). An error (with ok) is a body that could not be read.
func (pc *poolConn) readUsual(method string) (ans answer, ok bool, err error) {
	if method == http.MethodHead {
		return answer{}, false, nil
	}
	head := pc.peekHead()
	if head == nil {
		return answer{}, false, nil
	}
	status, contentType, n, ok := parseUsualHead(head)
	if !ok {
		return answer{}, false, nil
	}
	_, _ = pc.br.Discard(len(head)) // buffered: it cannot fail
	b := pc.buf[:0]
	if cap(b) < n {
		b = make([]byte, 0, n)
	}
	b = b[:n]
	if _, err := io.ReadFull(pc.br, b); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // as net/http's body reports a short one
		}
		// The head came: an answer whose body could not be read.
		return answer{status: status, contentType: contentType}, true, err
	}
	if cap(b) <= 64<<10 {
		pc.buf = b
	} else {
		pc.buf = nil // do not keep a large answer's buffer
	}
	return answer{status: status, contentType: contentType, body: b}, true, nil
}

// peekHead waits for an answer's head (up to the empty line ending it) and
// returns it without reading it; nil when it is longer than the reader's
// buffer, does not end in CRLF CRLF, or reading failed before its end
// (http.ReadResponse then reads what came and meets the connection's
// error again: the end of the stream, a reset's end, a deadline passed).
func (pc *poolConn) peekHead() []byte {
	br := pc.br
	for n := 1; ; {
		if _, err := br.Peek(n); err != nil {
			return nil
		}
		b, _ := br.Peek(br.Buffered())
		// The head ends at its first empty line, with or without CR.
		for i := 0; i < len(b); i++ {
			if b[i] != '\n' {
				continue
			}
			if i+1 < len(b) && b[i+1] == '\n' {
				return nil
			}
			if i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n' {
				if i == 0 || b[i-1] != '\r' {
					return nil
				}
				return b[:i+3]
			}
		}
		if len(b) >= br.Size() {
			return nil
		}
		n = len(b) + 1
	}
}

// parseUsualHead reads a head readUsual may read itself: its status, its
// first Content-Type (trimmed, as Header.Get gives it) and its body's
// length; ok false for any other head.
func parseUsualHead(head []byte) (status int, contentType string, n int, ok bool) {
	line, rest, _ := cutCRLF(head)
	if len(line) < len("HTTP/1.1 200") || string(line[:9]) != "HTTP/1.1 " || (len(line) > 12 && line[12] != ' ') {
		return 0, "", 0, false
	}
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return 0, "", 0, false
		}
		status = status*10 + int(c-'0')
	}
	if status < 200 || status > 599 || status == http.StatusNoContent || (status >= 300 && status < 400) || !plainLine(line) {
		return 0, "", 0, false
	}
	n, haveType := -1, false
	for {
		line, rest, _ = cutCRLF(rest)
		if len(line) == 0 {
			break
		}
		colon := 0
		for colon < len(line) && line[colon] != ':' {
			if !httpguts.IsTokenRune(rune(line[colon])) {
				return 0, "", 0, false
			}
			colon++
		}
		if colon == 0 || colon == len(line) || !plainLine(line) {
			return 0, "", 0, false
		}
		key, value := line[:colon], trimSpace(line[colon+1:])
		switch {
		case asciiEqualFold(key, "Content-Length"):
			if n >= 0 || len(value) == 0 || len(value) > 8 {
				return 0, "", 0, false
			}
			n = 0
			for _, c := range value {
				if c < '0' || c > '9' {
					return 0, "", 0, false
				}
				n = n*10 + int(c-'0')
			}
		case asciiEqualFold(key, "Content-Type"):
			if !haveType {
				contentType, haveType = internType(value), true
			}
		case asciiEqualFold(key, "Transfer-Encoding"), asciiEqualFold(key, "Connection"), asciiEqualFold(key, "Trailer"):
			return 0, "", 0, false
		}
	}
	if n < 0 || n > maxAnswer {
		return 0, "", 0, false
	}
	return status, contentType, n, true
}

// jsonType is the Content-Type WuzAPI answers with.
const jsonType = "application/json"

// internType is the Content-Type value as a string, the usual one without
// an allocation.
func internType(v []byte) string {
	if string(v) == jsonType {
		return jsonType
	}
	return string(v)
}

// cutCRLF cuts b at its first CRLF.
func cutCRLF(b []byte) (line, rest []byte, found bool) {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '\r' && b[i+1] == '\n' {
			return b[:i], b[i+2:], true
		}
	}
	return b, nil, false
}

// plainLine: no control character but tab (a lone CR or LF, a NUL, DEL).
func plainLine(b []byte) bool {
	for _, c := range b {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// asciiEqualFold reports whether b is s (ASCII) in any case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c, d := b[i], s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// isRedirect: an answer net/http's client would follow (and the guard's
// client refuses to).
func isRedirect(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return resp.Header.Get("Location") != ""
	}
	return false
}

// readBody reads up to maxAnswer bytes of resp's body into pc.buf (the
// request's bytes are no longer needed); reusable is false when the body
// was longer.
func (pc *poolConn) readBody(resp *http.Response) ([]byte, bool, error) {
	defer resp.Body.Close()
	b := pc.buf[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := resp.Body.Read(b[len(b):min(cap(b), maxAnswer+1)])
		b = b[:len(b)+n]
		if len(b) > maxAnswer {
			return b[:maxAnswer], false, nil
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, false, err
		}
	}
	if cap(b) <= 64<<10 {
		pc.buf = b
	} else {
		pc.buf = nil // do not keep a large answer's buffer
	}
	return b, true, nil
}

// get returns an idle connection to t that the server has not closed, or
// a new one.
func (p *Pool) get(ctx context.Context, t *target, deadline time.Time) (*poolConn, error) {
	now := time.Now()
	for {
		p.mu.Lock()
		idle := p.idle[t.connKey]
		var pc *poolConn
		if n := len(idle); n > 0 {
			pc = idle[n-1]
			idle[n-1] = nil
			p.idle[t.connKey] = idle[:n-1]
		}
		p.mu.Unlock()
		if pc == nil {
			break
		}
		if now.Sub(pc.idleAt) < idleTimeout && pc.br.Buffered() == 0 && pc.peek.open() {
			return pc, nil
		}
		pc.close()
	}
	return p.dial(ctx, t, deadline)
}

// dial connects to t (the guard checks the address), with TLS for https.
func (p *Pool) dial(ctx context.Context, t *target, deadline time.Time) (*poolConn, error) {
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	tcp, err := p.dialer.DialContext(dctx, "tcp", t.addr)
	if err != nil {
		return nil, err
	}
	conn := tcp
	if t.tls {
		tc := tls.Client(tcp, &tls.Config{ServerName: t.name, RootCAs: p.rootCAs})
		hctx, cancel := context.WithTimeout(dctx, tlsTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			_ = tcp.Close()
			return nil, err
		}
		conn = tc
	}
	return &poolConn{key: t.connKey, conn: conn, br: bufio.NewReaderSize(conn, 4<<10), peek: newPeeker(tcp)}, nil
}

// put gives a connection whose answer has been used back to the pool. It
// keeps its call's deadline: the next call sets its own before any read or
// write, and the check before it (peeker.open) reads no deadline.
func (p *Pool) put(pc *poolConn) {
	if pc == nil {
		return
	}
	pc.idleAt = time.Now()
	p.mu.Lock()
	idle := p.idle[pc.key]
	if len(idle) < maxIdlePerServer {
		p.idle[pc.key] = append(idle, pc)
		pc = nil
	}
	p.mu.Unlock()
	if pc != nil {
		pc.close()
	}
}

func (pc *poolConn) close() { _ = pc.conn.Close() }
