package lambdaruntime

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/textproto"
)

// The response headers the runtime reads, as indexes into headers.
const (
	hRequestID = iota
	hDeadline
	hTraceID
	hFunctionARN
	hTenantID
	hClient
	hCognito
	hExtensionID
	hCount
)

// headerNames are the names of the headers the runtime reads, by index.
var headerNames = [hCount]string{
	hRequestID:   headerRequestID,
	hDeadline:    headerDeadline,
	hTraceID:     headerTraceID,
	hFunctionARN: headerFunctionARN,
	hTenantID:    headerTenantID,
	hClient:      headerClient,
	hCognito:     headerCognito,
	hExtensionID: "Lambda-Extension-Identifier",
}

// headers holds the values of a response's headers the runtime reads
// (headerNames), each its first value with surrounding blanks trimmed, as
// http.Header.Get gives it; "" when absent.
type headers [hCount]string

// head is a response head the fast reader takes: HTTP/1.1, a status that
// has a body, each line ending in CRLF, no folded line, the body's length
// given by one Content-Length or by chunked Transfer-Encoding alone.
type head struct {
	status int
	length int64 // the body's bytes; -1: chunked
	close  bool  // Connection: close
	// value holds each wanted header's value as [start, end) in the head;
	// start 0: absent.
	value [hCount][2]int
}

// parseHead parses b, a response head up to and including its blank line.
// ok is false when b is not a head the fast reader takes; the caller
// then reads the response with http.ReadResponse, which also decides
// whether it is malformed.
func parseHead(b []byte) (h head, ok bool) {
	var end int
	if h.status, end, ok = parseStatus(b); !ok {
		return h, false
	}
	var seen uint8 // of the framing headers below
	const (
		seenLength = 1 << iota
		seenChunked
		seenConnection
	)
	for i := end + 1; ; {
		end = i + bytes.IndexByte(b[i:], '\n')
		if b[end-1] != '\r' {
			return h, false
		}
		line := b[i : end-1]
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !validName(line[:colon]) || !validValue(line[colon+1:]) {
			return h, false // also a folded line: it starts with a blank
		}
		vs, ve := trimBlanks(line, colon+1, len(line))
		name, value := line[:colon], line[vs:ve]
		switch {
		case equalFold(name, "Content-Length"):
			n, ok := parseLength(value)
			if !ok || seen&seenLength != 0 {
				return h, false
			}
			seen |= seenLength
			h.length = n
		case equalFold(name, "Transfer-Encoding"):
			if !equalFold(value, "chunked") || seen&seenChunked != 0 {
				return h, false
			}
			seen |= seenChunked
		case equalFold(name, "Connection"):
			if seen&seenConnection != 0 {
				return h, false
			}
			seen |= seenConnection
			h.close = hasToken(value, "close")
		case equalFold(name, "Trailer"):
			return h, false
		default:
			for k, want := range headerNames {
				if h.value[k][0] == 0 && equalFold(name, want) {
					h.value[k] = [2]int{i + vs, i + ve}
					break
				}
			}
		}
		i = end + 1
	}
	switch seen & (seenLength | seenChunked) {
	case seenLength:
	case seenChunked:
		h.length = -1
	default:
		return h, false // no length (a body up to the close), or both
	}
	return h, true
}

// parseStatus parses the status line at the start of b, a head, and
// returns the status and the index of the line's LF; ok is false unless
// it is HTTP/1.1 with a status from 200 that has a body.
func parseStatus(b []byte) (status, end int, ok bool) {
	const proto = "HTTP/1.1 "
	if len(b) < len(proto)+3 || string(b[:len(proto)]) != proto {
		return 0, 0, false
	}
	for _, c := range b[len(proto) : len(proto)+3] {
		if c < '0' || c > '9' {
			return 0, 0, false
		}
		status = status*10 + int(c-'0')
	}
	if status < 200 || status == http.StatusNoContent || status == http.StatusNotModified {
		return 0, 0, false
	}
	i := len(proto) + 3
	end = i + bytes.IndexByte(b[i:], '\n')
	if b[end-1] != '\r' || (end-1 > i && b[i] != ' ') {
		return 0, 0, false // a reason phrase follows a space
	}
	return status, end, true
}

// trimBlanks returns [s, e) without the spaces and tabs at either end.
func trimBlanks(b []byte, s, e int) (int, int) {
	for s < e && (b[s] == ' ' || b[s] == '\t') {
		s++
	}
	for e > s && (b[e-1] == ' ' || b[e-1] == '\t') {
		e--
	}
	return s, e
}

// parseLength parses a Content-Length of up to 18 digits.
func parseLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// validName reports whether b is a token, as a header's name must be.
func validName(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 || !tokenByte[c] {
			return false
		}
	}
	return true
}

var tokenByte = func() (t [0x80]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// validValue reports whether b holds only the bytes a header's value may:
// visible ASCII, blanks and bytes from 0x80.
func validValue(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// equalFold reports whether b is s, ASCII letters compared without case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if x == y {
			continue
		}
		if l := x | 0x20; l != y|0x20 || l < 'a' || l > 'z' {
			return false
		}
	}
	return true
}

// hasToken reports whether the comma-separated list v holds token.
func hasToken(v []byte, token string) bool {
	for len(v) > 0 {
		item := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			item, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		s, e := trimBlanks(item, 0, len(item))
		if equalFold(item[s:e], token) {
			return true
		}
	}
	return false
}

// peekHead returns the response head at the start of br's buffer, reading
// until its blank line is buffered, without consuming it; ok is false when
// the head does not fit in br's buffer or the connection ends first.
func peekHead(br *bufio.Reader) (b []byte, ok bool) {
	from := 0
	for {
		b, _ = br.Peek(br.Buffered())
		if i := bytes.Index(b[from:], crlf2); i >= 0 {
			return b[:from+i+len(crlf2)], true
		}
		if len(b) >= br.Size() {
			return nil, false
		}
		from = max(0, len(b)-len(crlf2)+1)
		if _, err := br.Peek(len(b) + 1); err != nil {
			return nil, false
		}
	}
}

var crlf2 = []byte("\r\n\r\n")

// read reads the response to req from the connection: its status, the
// headers the runtime reads and its body. A head parseHead takes is read
// from the buffer, and its body into c.event or c.scratch; any other
// response goes to http.ReadResponse, on the same bytes.
func (c *client) read(req request) (int, headers, []byte, error) {
	buf := &c.scratch
	if req.event {
		buf = &c.event
	}
	b, ok := peekHead(c.br)
	var h head
	if ok {
		h, ok = parseHead(b)
	}
	if !ok {
		return c.readSlow(buf)
	}
	var hs headers
	lo, hi := len(b), 0
	for _, v := range h.value {
		if v[0] != 0 {
			lo, hi = min(lo, v[0]), max(hi, v[1])
		}
	}
	if lo < hi {
		s := string(b[lo:hi]) // one string for all the values
		for k, v := range h.value {
			if v[0] != 0 {
				hs[k] = s[v[0]-lo : v[1]-lo]
			}
		}
	}
	_, _ = c.br.Discard(len(b))
	c.fresh = false
	var body []byte
	var err error
	if h.length >= 0 {
		body, err = readLength(c.br, h.length, buf)
	} else {
		body, err = readChunked(c.br, buf)
	}
	if err != nil {
		return 0, headers{}, nil, err
	}
	if h.close {
		c.close()
	}
	return h.status, hs, body, nil
}

// readSlow reads the response with http.ReadResponse.
func (c *client) readSlow(buf *[]byte) (int, headers, []byte, error) {
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, headers{}, nil, err
	}
	c.fresh = false
	body, err := readBody(resp.Body, resp.ContentLength, buf)
	_ = resp.Body.Close()
	if err != nil {
		return 0, headers{}, nil, err
	}
	var hs headers
	for k, name := range headerNames {
		hs[k] = resp.Header.Get(name)
	}
	if resp.Close {
		c.close()
	}
	return resp.StatusCode, hs, body, nil
}

// readLength reads a body of n bytes into *buf, keeping the buffer there
// for the next body unless it is over 1 MiB.
func readLength(r io.Reader, n int64, buf *[]byte) ([]byte, error) {
	if n > maxPayload {
		return nil, fmt.Errorf("response body over %d bytes", maxPayload)
	}
	b := *buf
	if int64(cap(b)) < n {
		b = make([]byte, n)
	}
	b = b[:n]
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("read response body: %w", err)
	}
	keep(buf, b)
	return b, nil
}

// readChunked reads a chunked body and its trailer from br into *buf, as
// net/http reads one.
func readChunked(br *bufio.Reader, buf *[]byte) ([]byte, error) {
	b, err := readBody(httputil.NewChunkedReader(br), -1, buf)
	if err != nil {
		return nil, err
	}
	if p, _ := br.Peek(2); string(p) == "\r\n" {
		_, _ = br.Discard(2)
		return b, nil
	}
	if !upcomingCRLF2(br) {
		return nil, errors.New("read response body: no end to the trailer")
	}
	if _, err := textproto.NewReader(br).ReadMIMEHeader(); err != nil {
		return nil, fmt.Errorf("read response trailer: %w", err)
	}
	return b, nil
}

// upcomingCRLF2 reports whether br holds a blank line ahead, within its
// buffer.
func upcomingCRLF2(br *bufio.Reader) bool {
	for n := 4; ; n++ {
		p, err := br.Peek(n)
		if err != nil {
			return false
		}
		if bytes.Equal(p[n-4:], crlf2) {
			return true
		}
	}
}
