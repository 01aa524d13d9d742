package wuzapi_test

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapitest"
)

// outcome is what a call gave, comparable between the two clients.
type outcome struct {
	Val                 any
	Class               wuzapi.Class
	Kind                wuzapi.Kind
	Status              int
	Text                string
	Blocked, NoResponse bool
}

func outcomeOf(val any, err error) outcome {
	o := outcome{Val: val}
	if err == nil {
		return o
	}
	o.Val = nil
	var e *wuzapi.Error
	if !errors.As(err, &e) {
		o.Text = "not an *Error: " + err.Error()
		return o
	}
	o.Class, o.Kind, o.Status, o.Text = e.Class, e.Kind, e.Status, e.Text
	var blocked *wuzapi.BlockedAddressError
	o.Blocked = errors.As(err, &blocked)
	if strings.HasPrefix(e.Text, "no answer: ") {
		// The transport's own words differ ("i/o timeout", "context
		// deadline exceeded"); that no answer came does not.
		o.Text, o.NoResponse = "", true
	}
	return o
}

// TestPoolAnswersAsNetHTTP makes every call of the client through the
// guard's net/http client and through the pool against the same servers:
// the same requests reach the fake, and the answers and errors are the
// same (class, kind, status and text).
func TestPoolAnswersAsNetHTTP(t *testing.T) {
	t.Parallel()
	fake := wuzapitest.New(t)
	fake.AddUser("tok", wuzapitest.Ready)
	fake.AddUser("nosession", wuzapitest.State{})
	fake.AddUser("unpaired", wuzapitest.State{Session: true, Connected: true})
	fake.AddUser("down", wuzapitest.State{Session: true, LoggedIn: true})
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html>gateway</html>"))
	}))
	t.Cleanup(html.Close)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest", http.StatusFound)
	}))
	t.Cleanup(redirect.Close)
	chunked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"code":200,"data":{"Details":"Sent",`)
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, `"Id":"3EB0C","Timestamp":"2022-04-20T12:49:08-03:00"},"success":true}`)
	}))
	t.Cleanup(chunked.Close)

	send := func(phone, body, id string) func(*wuzapi.Client) (any, error) {
		return func(c *wuzapi.Client) (any, error) {
			s, err := c.SendText(context.Background(), phone, body, id)
			return s.ID, err
		}
	}
	tests := []struct {
		name, url, token string
		script           *wuzapitest.Reply
		call             func(*wuzapi.Client) (any, error)
	}{
		{"sent", fake.URL, "tok", nil, send("5511999998888", "Olá <b>&</b> \"x\"\n\t\u2028\xff", "3EB0AABBCCDDEEFF001122")},
		{"no session", fake.URL, "nosession", nil, send("5511999998888", "hi", "3EB0A")},
		{"never paired", fake.URL, "unpaired", nil, send("5511999998888", "hi", "3EB0A")},
		{"socket down", fake.URL, "down", nil, send("5511999998888", "hi", "3EB0A")},
		{"wrong token", fake.URL, "nope", nil, send("5511999998888", "hi", "3EB0A")},
		{"missing body", fake.URL, "tok", nil, send("5511999998888", "", "3EB0A")},
		{"reach-out lock", fake.URL, "tok", &wuzapitest.Reply{Status: 500, Error: "error sending message: server returned error 463"}, send("5511999998888", "hi", "3EB0A")},
		{"bad gateway", fake.URL, "tok", &wuzapitest.Reply{Status: 502, Error: "bad gateway"}, send("5511999998888", "hi", "3EB0A")},
		{"too many requests", fake.URL, "tok", &wuzapitest.Reply{Status: 429, Error: "slow down"}, send("5511999998888", "hi", "3EB0A")},
		{"bad phone", fake.URL, "tok", &wuzapitest.Reply{Status: 400, Error: "could not parse Phone"}, send("5511999998888", "hi", "3EB0A")},
		{"plain-text 404", fake.URL + "/nowhere", "tok", nil, send("5511999998888", "hi", "3EB0A")},
		{"HTML page", html.URL, "tok", nil, send("5511999998888", "hi", "3EB0A")},
		{"redirect", redirect.URL, "tok", nil, send("5511999998888", "hi", "3EB0A")},
		{"chunked answer", chunked.URL, "tok", nil, send("5511999998888", "hi", "3EB0A")},
		{"token with a line break", fake.URL, "tok\r\nX-Evil: 1", nil, send("5511999998888", "hi", "3EB0A")},
		{"bad scheme", "ftp://127.0.0.1:1", "tok", nil, send("5511999998888", "hi", "3EB0A")},
		{"bad URL", "http://[::1", "tok", nil, send("5511999998888", "hi", "3EB0A")},
		{"status", fake.URL, "tok", nil, func(c *wuzapi.Client) (any, error) { return c.Status(context.Background()) }},
		{"status without session", fake.URL, "nosession", nil, func(c *wuzapi.Client) (any, error) { return c.Status(context.Background()) }},
		{"qr when paired", fake.URL, "tok", nil, func(c *wuzapi.Client) (any, error) { return c.QR(context.Background()) }},
		{"connect", fake.URL, "tok", nil, func(c *wuzapi.Client) (any, error) { return nil, c.Connect(context.Background(), nil) }},
		{"check users", fake.URL, "tok", nil, func(c *wuzapi.Client) (any, error) {
			return c.CheckUsers(context.Background(), []string{"+5511999998888", "5511999997777"})
		}},
		{"presence", fake.URL, "tok", nil, func(c *wuzapi.Client) (any, error) {
			return nil, c.ChatPresence(context.Background(), "5511999998888", wuzapi.Composing)
		}},
		{"webhook", fake.URL, "tok", nil, func(c *wuzapi.Client) (any, error) {
			return nil, c.SetWebhook(context.Background(), "http://api.test/v1/webhooks/wuzapi/x?secret=s", nil)
		}},
	}
	hc := wuzapi.Guard{AllowPrivate: true}.HTTPClient(5 * time.Second)
	pool := wuzapi.Guard{AllowPrivate: true}.Pool(5 * time.Second)
	for _, tt := range tests {
		var got [2]outcome
		var sends [2][]wuzapitest.Send
		for i, c := range []*wuzapi.Client{wuzapi.New(tt.url, tt.token, hc), pool.Client(tt.url, tt.token)} {
			if tt.script != nil {
				fake.Script("5511999998888", *tt.script)
			}
			before := len(fake.Sends())
			got[i] = outcomeOf(tt.call(c))
			sends[i] = fake.Sends()[before:]
			for j := range sends[i] {
				sends[i][j].At = time.Time{}
			}
		}
		if !reflect.DeepEqual(got[0], got[1]) {
			t.Errorf("%s: net/http %+v, pool %+v", tt.name, got[0], got[1])
		}
		if !reflect.DeepEqual(sends[0], sends[1]) {
			t.Errorf("%s: the fake saw %+v from net/http, %+v from the pool", tt.name, sends[0], sends[1])
		}
	}
}

// TestPoolKeepsConnections: sends one after another share one connection.
func TestPoolKeepsConnections(t *testing.T) {
	t.Parallel()
	srv, conns := sendServer(t, false)
	c := wuzapi.Guard{AllowPrivate: true}.Pool(5*time.Second).Client(srv.URL+"/api", "tok")
	for range 20 {
		if _, err := c.SendText(context.Background(), "5511999998888", "hi", ""); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("20 sends opened %d connections, want 1", n)
	}
}

// TestPoolReusesAConnectionPastItsDeadline: an idle connection keeps its
// last call's deadline; one whose deadline has passed is still checked and
// reused, the next call bounded by its own.
func TestPoolReusesAConnectionPastItsDeadline(t *testing.T) {
	t.Parallel()
	srv, conns := sendServer(t, false)
	p := wuzapi.Guard{AllowPrivate: true}.Pool(5 * time.Second)
	c := p.Client(srv.URL+"/api", "tok")
	for i := range 3 {
		if _, err := c.SendTextWithin(context.Background(), time.Second, "5511999998888", "hi", ""); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		wuzapi.ExpireIdle(p)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("3 sends, each after its connection's deadline passed, opened %d connections, want 1", n)
	}
}

// sendServer answers sends to token "tok" at /api/chat/send/text, over
// TLS when tls, counting the connections it accepts.
func sendServer(t *testing.T, tls bool) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Token") != "tok" || r.URL.Path != "/api/chat/send/text" {
			http.Error(w, "unexpected", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"code":200,"data":{"Details":"Sent","Id":"3EB0T","Timestamp":1716400000},"success":true}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, &conns
}

// TestPoolServerClosedIdle: a connection the server closed while it was
// idle is not written to; each send reaches the server once.
func TestPoolServerClosedIdle(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	var requests atomic.Int32
	closed := make(chan struct{})
	go func() {
		const body = `{"code":200,"data":{"Details":"Sent","Id":"3EB0A","Timestamp":1716400000},"success":true}`
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			// One answer, then the connection is closed without saying so.
			buf := make([]byte, 4096)
			if n, _ := conn.Read(buf); n > 0 {
				requests.Add(1)
				_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "+
					strconv.Itoa(len(body))+"\r\n\r\n"+body)
			}
			_ = conn.Close()
			closed <- struct{}{}
		}
	}()
	c := wuzapi.Guard{AllowPrivate: true}.Pool(5*time.Second).Client("http://"+ln.Addr().String(), "tok")
	for i := range 3 {
		if _, err := c.SendText(context.Background(), "5511999998888", "hi", "3EB0A"); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		<-closed
	}
	if n := requests.Load(); n != 3 {
		t.Fatalf("the server got %d requests for 3 sends", n)
	}
}

// TestPoolTimeouts: the pool's timeout and the context's both end a call
// that gets no answer, as Transient timeouts; the connection is not used
// again.
func TestPoolTimeouts(t *testing.T) {
	t.Parallel()
	fake := wuzapitest.New(t)
	fake.AddUser("tok", wuzapitest.Ready)
	fake.Script("5511999998888", wuzapitest.Reply{Delay: 5 * time.Second})
	fake.Script("5511999998888", wuzapitest.Reply{Delay: 5 * time.Second})
	c := wuzapi.Guard{AllowPrivate: true}.Pool(50*time.Millisecond).Client(fake.URL, "tok")
	_, err := c.SendText(context.Background(), "5511999998888", "hi", "")
	if wuzapi.ClassOf(err) != wuzapi.Transient || wuzapi.KindOf(err) != wuzapi.KindTimeout {
		t.Fatalf("pool timeout: %v (%v, %v), want a transient timeout", err, wuzapi.ClassOf(err), wuzapi.KindOf(err))
	}
	c = wuzapi.Guard{AllowPrivate: true}.Pool(time.Minute).Client(fake.URL, "tok")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = c.SendText(ctx, "5511999998888", "hi", "")
	if wuzapi.ClassOf(err) != wuzapi.Transient || wuzapi.KindOf(err) != wuzapi.KindTimeout || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("context deadline: %v (%v, %v), want a transient timeout", err, wuzapi.ClassOf(err), wuzapi.KindOf(err))
	}
	ctx, cancel = context.WithCancel(context.Background())
	fake.Script("5511999998888", wuzapitest.Reply{Delay: 5 * time.Second})
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err = c.SendText(ctx, "5511999998888", "hi", "")
	if !errors.Is(err, context.Canceled) || wuzapi.ClassOf(err) != wuzapi.Transient {
		t.Fatalf("cancelled context: %v, want context.Canceled, transient", err)
	}
	if _, err := c.SendText(context.Background(), "5511999998888", "hi", ""); err != nil {
		t.Fatalf("send after the timeouts: %v", err)
	}
}

// TestPoolContextDeadlineAtTheConnections: a context whose deadline is the
// connection's ends the call on whichever comes first; the context's own
// cancel may run after the call has let go of its connection, and must not
// touch it then.
func TestPoolContextDeadlineAtTheConnections(t *testing.T) {
	t.Parallel()
	fake := wuzapitest.New(t)
	fake.AddUser("tok", wuzapitest.Ready)
	c := wuzapi.Guard{AllowPrivate: true}.Pool(time.Minute).Client(fake.URL, "tok")
	const calls = 100
	for range calls {
		fake.Script("5511999998888", wuzapitest.Reply{Delay: time.Second})
	}
	for i := range calls {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Millisecond)
		_, err := c.SendText(ctx, "5511999998888", "hi", "")
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || wuzapi.KindOf(err) != wuzapi.KindTimeout {
			t.Fatalf("call %d: %v (%v), want the context's deadline, a timeout", i, err, wuzapi.KindOf(err))
		}
	}
}

// TestPoolGuardAtDial: the pool dials only what the guard allows.
func TestPoolGuardAtDial(t *testing.T) {
	t.Parallel()
	fake := wuzapitest.New(t)
	fake.AddUser("tok", wuzapitest.Ready)
	_, err := wuzapi.Guard{}.Pool(5*time.Second).Client(fake.URL, "tok").SendText(context.Background(), "5511999998888", "hi", "")
	var blocked *wuzapi.BlockedAddressError
	if !errors.As(err, &blocked) || wuzapi.ClassOf(err) != wuzapi.NotReady || wuzapi.KindOf(err) != wuzapi.KindBlockedAddress {
		t.Fatalf("dial to loopback = %v", err)
	}
	if len(fake.Sends()) != 0 {
		t.Fatal("a blocked dial reached the server")
	}
}

// TestPoolTLS: https instances are called over TLS, the server's
// certificate checked; one connection carries every send.
func TestPoolTLS(t *testing.T) {
	t.Parallel()
	srv, conns := sendServer(t, true)
	pool := wuzapi.Guard{AllowPrivate: true}.Pool(5 * time.Second)
	_, err := pool.Client(srv.URL+"/api", "tok").SendText(context.Background(), "5511999998888", "hi", "")
	if wuzapi.KindOf(err) != wuzapi.KindTLS || wuzapi.ClassOf(err) != wuzapi.Transient {
		t.Fatalf("untrusted certificate: %v, want a transient TLS failure", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	wuzapi.SetRootCAs(pool, roots)
	for range 3 {
		sent, err := pool.Client(srv.URL+"/api/", "tok").SendText(context.Background(), "5511999998888", "hi", "")
		if err != nil || sent.ID != "3EB0T" {
			t.Fatalf("send over TLS = %+v, %v", sent, err)
		}
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2 (the refused one and one for the three sends)", n)
	}
}
