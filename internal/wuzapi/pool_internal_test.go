package wuzapi

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// FuzzReadUsual: an answer readUsual reads, http.ReadResponse reads as the
// same final answer (status, Content-Type, body or the body's error, the
// connection kept) and leaves the same bytes after it; one it refuses it
// leaves unread.
func FuzzReadUsual(f *testing.F) {
	const body = `{"code":200,"data":{"Details":"Sent","Id":"3EB0AABBCCDDEEFF001122","Timestamp":1716400000},"success":true}` + "\n"
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Mon, 07 Dec 2026 15:00:00 GMT\r\nContent-Length: 107\r\n\r\n" + body,
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 500 Internal Server Error\r\ncontent-type:  text/plain \r\ncontent-length:5\r\n\r\nno se",
		"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Type: text/html\r\nX-Content-Type-Options: nosniff\r\nContent-Length: 19\r\n\r\n404 page not found\n",
		"HTTP/1.1 200\r\nContent-Length: 0005\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 5\n\nhello",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\n\r\nhello",
		"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\n Content-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", 5000) + "\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nX: \x00\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nX: caf\xc3\xa9\r\nContent-Type: caf\xc3\xa9\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r",
		"HTTP/1.1 2000 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 999 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTrailer: X\r\nContent-Length: 5\r\n\r\nhello",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		pc := &poolConn{br: bufio.NewReaderSize(bytes.NewReader(raw), 4<<10)}
		ans, ok, err := pc.readUsual(http.MethodPost)
		rest, _ := io.ReadAll(pc.br)
		if !ok {
			if err != nil || !bytes.Equal(rest, raw) {
				t.Fatalf("refused %q but read %d bytes (error %v)", raw, len(raw)-len(rest), err)
			}
			return
		}
		br := bufio.NewReader(bytes.NewReader(raw))
		resp, rerr := http.ReadResponse(br, nil)
		if rerr != nil {
			t.Fatalf("read %q, which http.ReadResponse refuses: %v", raw, rerr)
		}
		got, berr := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		switch {
		case resp.StatusCode != ans.status || resp.Header.Get("Content-Type") != ans.contentType:
			t.Fatalf("%q: readUsual %d %q, ReadResponse %d %q", raw, ans.status, ans.contentType, resp.StatusCode, resp.Header.Get("Content-Type"))
		case resp.StatusCode < 200 || resp.Close || isRedirect(resp):
			t.Fatalf("%q: read an answer ReadResponse reads as interim, closing or a redirect", raw)
		case !errors.Is(err, berr) && !errors.Is(berr, err):
			t.Fatalf("%q: body error %v, ReadResponse's %v", raw, err, berr)
		case err == nil && !bytes.Equal(got, ans.body):
			t.Fatalf("%q: body %q, ReadResponse's %q", raw, ans.body, got)
		}
		if left, _ := io.ReadAll(br); !bytes.Equal(left, rest) {
			t.Fatalf("%q: left %q, ReadResponse left %q", raw, rest, left)
		}
	})
}

// TestReadUsualReadsWuzAPIAnswers: the answers WuzAPI's net/http server
// gives (a send's, an error's, a plain-text 404) are read without
// http.ReadResponse.
func TestReadUsualReadsWuzAPIAnswers(t *testing.T) {
	t.Parallel()
	for name, raw := range map[string]string{
		"send": "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Mon, 07 Dec 2026 15:00:00 GMT\r\nContent-Length: 2\r\n\r\n{}",
		"500":  "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nDate: Mon, 07 Dec 2026 15:00:00 GMT\r\nContent-Length: 2\r\n\r\n{}",
		"404":  "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nDate: Mon, 07 Dec 2026 15:00:00 GMT\r\nContent-Length: 19\r\n\r\n404 page not found\n",
	} {
		pc := &poolConn{br: bufio.NewReaderSize(strings.NewReader(raw), 4<<10)}
		if _, ok, err := pc.readUsual(http.MethodPost); !ok || err != nil {
			t.Errorf("%s: readUsual %v %v, want it read", name, ok, err)
		}
	}
}
