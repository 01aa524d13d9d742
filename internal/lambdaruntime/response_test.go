package lambdaruntime

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"testing"
)

// nopConn stands for a connection in tests that read from a buffer.
type nopConn struct{ io.Reader }

func (nopConn) Write(p []byte) (int, error) { return len(p), nil }
func (nopConn) Close() error                { return nil }

// bufClient is a client whose connection's bytes are data.
func bufClient(data []byte) *client {
	r := bytes.NewReader(data)
	return &client{conn: nopConn{r}, br: bufio.NewReaderSize(r, 16<<10)}
}

const nextAnswer = "HTTP/1.1 200 OK\r\n" +
	"Content-Type: application/json\r\n" +
	"Lambda-Runtime-Aws-Request-Id: req-1\r\n" +
	"Lambda-Runtime-Deadline-Ms: 1765152000000\r\n" +
	"Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:000000000000:function:api\r\n" +
	"Lambda-Runtime-Trace-Id: Root=1-abc-def;Sampled=0\r\n" +
	"Date: Tue, 08 Dec 2026 00:00:00 GMT\r\n" +
	"Content-Length: 11\r\n\r\n" +
	`{"event":1}`

var readSeeds = []string{
	nextAnswer,
	"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n" + nextAnswer,
	"HTTP/1.1 200 OK\r\nlambda-runtime-aws-request-id:  req-2 \t\r\nTRANSFER-ENCODING: Chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nrest",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\nrest",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
	"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive, Close\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel",
	"HTTP/1.1 200 OK\r\n\r\nup to the close",
	"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nokrest",
	"HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
	"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 204 No Content\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTrailer: X\r\n\r\nok",
	"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX: a\x01b\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX: \xe9t\xe9\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: 2",
	"",
}

// FuzzReadResponse: the client's reader gives what http.ReadResponse
// gives (status, the headers the runtime reads, body, Connection: close,
// and the bytes left for the next response), or both fail.
//
//	go test -run '^$' -fuzz FuzzReadResponse -fuzztime 30s ./internal/lambdaruntime/
func FuzzReadResponse(f *testing.F) {
	for _, s := range readSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := bufClient(data)
		status, hs, body, err := c.read(request{})

		br := bufio.NewReaderSize(bytes.NewReader(data), 16<<10)
		resp, werr := http.ReadResponse(br, nil)
		var wbody []byte
		if werr == nil {
			wbody, werr = io.ReadAll(resp.Body)
			_ = resp.Body.Close()
		}
		if (err != nil) != (werr != nil) {
			t.Fatalf("%q: error %v, http.ReadResponse's %v", data, err, werr)
		}
		if err != nil {
			return
		}
		if status != resp.StatusCode || !bytes.Equal(body, wbody) {
			t.Fatalf("%q: %d %q, want %d %q", data, status, body, resp.StatusCode, wbody)
		}
		for k, name := range headerNames {
			if hs[k] != resp.Header.Get(name) {
				t.Errorf("%q: %s %q, want %q", data, name, hs[k], resp.Header.Get(name))
			}
		}
		if closed := c.conn == nil; closed != resp.Close {
			t.Errorf("%q: closed %v, want %v", data, closed, resp.Close)
		}
		rest, _ := io.ReadAll(c.br)
		wrest, _ := io.ReadAll(br)
		if !bytes.Equal(rest, wrest) {
			t.Errorf("%q: left %q, want %q", data, rest, wrest)
		}
	})
}

// TestReadTakesPlainAnswersByHand: the Runtime API's answers with a
// Content-Length or chunked, in any case of header name, are parsed by
// hand; the others go to http.ReadResponse.
func TestReadTakesPlainAnswersByHand(t *testing.T) {
	for _, tc := range []struct {
		name, head string
		byHand     bool
	}{
		{"next", nextAnswer[:len(nextAnswer)-11], true},
		{"accepted", "HTTP/1.1 202 Accepted\r\nContent-Length: 16\r\n\r\n", true},
		{"lower case", "HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n", true},
		{"chunked", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n", true},
		{"no length", "HTTP/1.1 200 OK\r\n\r\n", false},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false},
		{"folded", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 1\r\n\r\n", false},
		{"1xx", "HTTP/1.1 100 Continue\r\nContent-Length: 1\r\n\r\n", false},
		{"no content", "HTTP/1.1 204 No Content\r\nContent-Length: 1\r\n\r\n", false},
		{"gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false},
		{"bare LF", "HTTP/1.1 200 OK\r\nContent-Length: 1\n\r\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := parseHead([]byte(tc.head)); ok != tc.byHand {
				t.Errorf("parseHead(%q) ok = %v, want %v", tc.head, ok, tc.byHand)
			}
		})
	}
}

// TestReadAllocatesOneStringForTheHeaders: reading a /next answer costs
// one allocation (the string that holds the header values) once the
// event's buffer is there.
func TestReadAllocatesOneStringForTheHeaders(t *testing.T) {
	data := []byte(nextAnswer)
	r := bytes.NewReader(data)
	c := &client{conn: nopConn{r}, br: bufio.NewReaderSize(r, 16<<10), event: make([]byte, 0, 64)}
	var hs headers
	allocs := testing.AllocsPerRun(100, func() {
		r.Reset(data)
		c.br.Reset(r)
		var err error
		if _, hs, _, err = c.read(request{event: true}); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 1 {
		t.Errorf("allocations per read = %v, want 1", allocs)
	}
	if hs[hRequestID] != "req-1" || hs[hDeadline] != "1765152000000" || hs[hTraceID] != "Root=1-abc-def;Sampled=0" {
		t.Errorf("headers = %q", hs)
	}
}

// TestReadChunkedThenNext: a chunked answer with a trailer, then another
// answer in the same buffer: both are read whole, the second's bytes
// untouched by the first's.
func TestReadChunkedThenNext(t *testing.T) {
	c := bufClient([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nLambda-Runtime-Aws-Request-Id: a\r\n\r\n" +
		"5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n" + nextAnswer))
	for i, want := range []struct{ id, body string }{{"a", "hello"}, {"req-1", `{"event":1}`}} {
		status, hs, body, err := c.read(request{event: true})
		if err != nil || status != 200 || hs[hRequestID] != want.id || string(body) != want.body {
			t.Fatalf("answer %d: %d %q %q %v, want 200 %q %q", i, status, hs[hRequestID], body, err, want.id, want.body)
		}
	}
}
