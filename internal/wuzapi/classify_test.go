package wuzapi_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapitest"
)

// TestClassifyRealTexts feeds the answers real WuzAPI servers gave (the
// 2025 build capitalises, v1.0.5 does not) through the client.
func TestClassifyRealTexts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		text   string
		kind   wuzapi.Kind
		class  wuzapi.Class
	}{
		{"reach-out lock", 500, "error sending message: server returned error 463", wuzapi.KindReachOutLock, wuzapi.Transient},
		{"reach-out lock, old server", 500, "Error sending message: server returned error 463", wuzapi.KindReachOutLock, wuzapi.Transient},
		{"reach-out lock, upper case", 500, "ERROR SENDING MESSAGE: SERVER RETURNED ERROR 463", wuzapi.KindReachOutLock, wuzapi.Transient},
		{"reach-out lock, code last", 500, "error sending message: 463", wuzapi.KindReachOutLock, wuzapi.Transient},
		{"463 inside a phone is no lock", 500, "error sending message: failed to get device list of 5511463000000@s.whatsapp.net", wuzapi.KindServerError, wuzapi.Transient},
		{"463 in a 400 is no lock", 400, "could not parse Phone 463", wuzapi.KindRejected, wuzapi.Permanent},
		{"other server error code", 500, "error sending message: server returned error 479", wuzapi.KindServerError, wuzapi.Transient},
		{"no session", 500, "no session", wuzapi.KindNoSession, wuzapi.NotReady},
		{"no session, old server", 500, "No session", wuzapi.KindNoSession, wuzapi.NotReady},
		{"socket down", 500, "error sending message: websocket not connected", wuzapi.KindNotConnected, wuzapi.NotReady},
		{"check with socket down", 500, "failed to check if users are on WhatsApp: failed to send usync query: websocket not connected", wuzapi.KindNotConnected, wuzapi.NotReady},
		{"qr not connected", 500, "not connected", wuzapi.KindNotConnected, wuzapi.NotReady},
		{"never paired", 500, "error sending message: the store doesn't contain a device JID", wuzapi.KindNotPaired, wuzapi.NotReady},
		{"logout when not logged in", 500, "not logged in", wuzapi.KindNotPaired, wuzapi.NotReady},
		{"presence failed", 500, "failure sending chat presence to Whatsapp servers", wuzapi.KindServerError, wuzapi.Transient},
		{"connect failed", 500, "failed to Connect", wuzapi.KindServerError, wuzapi.Transient},
		{"already connected", 500, "Already Connected", wuzapi.KindServerError, wuzapi.Transient},
		{"unknown text is transient", 500, "something WhatsApp never said before", wuzapi.KindServerError, wuzapi.Transient},
		{"bad token", 401, "unauthorized", wuzapi.KindBadToken, wuzapi.NotReady},
		{"bad token, old server", 401, "Unauthorized", wuzapi.KindBadToken, wuzapi.NotReady},
		{"missing phone", 400, "missing Phone in Payload", wuzapi.KindRejected, wuzapi.Permanent},
		{"missing body, old server", 400, "Missing Body in Payload", wuzapi.KindRejected, wuzapi.Permanent},
		{"bad phone", 400, "could not parse Phone", wuzapi.KindRejected, wuzapi.Permanent},
		{"duplicate user", 409, "user with this token already exists", wuzapi.KindRejected, wuzapi.Permanent},
		{"slow down", 429, "too many requests", wuzapi.KindRateLimited, wuzapi.Transient},
		{"gateway", 502, "bad gateway", wuzapi.KindServerError, wuzapi.Transient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := wuzapitest.New(t)
			fake.AddUser("tok", wuzapitest.Ready)
			fake.Script("5511999998888", wuzapitest.Reply{Status: tt.status, Error: tt.text})
			_, err := wuzapi.New(fake.URL, "tok", nil).SendText(context.Background(), "5511999998888", "hi", "")
			var e *wuzapi.Error
			if !errors.As(err, &e) || e.Kind != tt.kind || e.Class != tt.class || e.Status != tt.status || e.Path != "/chat/send/text" {
				t.Fatalf("%d %q: error %#v; want kind %s class %v", tt.status, tt.text, err, tt.kind, tt.class)
			}
			if got := wuzapi.IsReachOutLock(err); got != (tt.kind == wuzapi.KindReachOutLock) {
				t.Fatalf("%d %q: IsReachOutLock = %v", tt.status, tt.text, got)
			}
			if wuzapi.KindOf(err) != tt.kind || wuzapi.ClassOf(err) != tt.class {
				t.Fatalf("%d %q: KindOf %s ClassOf %v", tt.status, tt.text, wuzapi.KindOf(err), wuzapi.ClassOf(err))
			}
		})
	}
}

func TestClassifySessionStates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		state wuzapitest.State
		kind  wuzapi.Kind
	}{
		{"never connected", wuzapitest.State{}, wuzapi.KindNoSession},
		{"never paired", wuzapitest.State{Session: true, Connected: true}, wuzapi.KindNotPaired},
		{"socket down", wuzapitest.State{Session: true, LoggedIn: true}, wuzapi.KindNotConnected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := wuzapitest.New(t, wuzapitest.Legacy())
			fake.AddUser("tok", tt.state)
			_, err := wuzapi.New(fake.URL, "tok", nil).SendText(context.Background(), "5511999998888", "hi", "")
			if wuzapi.KindOf(err) != tt.kind || wuzapi.ClassOf(err) != wuzapi.NotReady {
				t.Fatalf("send in state %+v: %v (kind %s)", tt.state, err, wuzapi.KindOf(err))
			}
		})
	}
}

func TestBanReason(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code int
		want string
	}{
		{101, "sent to too many people who don't have this number saved"},
		{102, "blocked by too many people"},
		{103, "created too many groups with people who don't have this number saved"},
		{104, "sent the same message to too many people"},
		{106, "sent too many messages to a broadcast list"},
		{105, "temporarily banned (code 105)"},
		{0, "temporarily banned (code 0)"},
	}
	for _, tt := range tests {
		if got := wuzapi.BanReason(tt.code); got != tt.want {
			t.Errorf("BanReason(%d) = %q, want %q", tt.code, got, tt.want)
		}
	}
}

// page serves one fixed answer.
func page(t *testing.T, status int, contentType, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

const nginx404 = "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/1.24.0</center>\r\n</body>\r\n</html>\r\n"

func TestReason(t *testing.T) {
	t.Parallel()
	refused := httptest.NewServer(http.NotFoundHandler())
	refusedURL := refused.URL
	refused.Close()
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(tlsSrv.Close)
	slow := wuzapitest.New(t)
	slow.AddUser("tok", wuzapitest.Ready)
	slow.SetLatency(time.Minute)
	noDNS := &http.Client{Transport: &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) {
		return nil, &net.DNSError{Err: "no such host", Name: "wuzapi.example.invalid", IsNotFound: true}
	}}}
	tests := []struct {
		name string
		base string
		hc   *http.Client
		kind wuzapi.Kind
		want string
	}{
		{"HTML 404", page(t, 404, "text/html", nginx404), nil, wuzapi.KindNotWuzAPI,
			"WuzAPI answered 404 at /session/status: is the address right?"},
		{"plain 404 of a wrong path", page(t, 404, "text/plain; charset=utf-8", "404 page not found\n"), nil, wuzapi.KindNotWuzAPI,
			"WuzAPI answered 404 at /session/status: is the address right?"},
		{"HTML 502 of a proxy", page(t, 502, "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>"), nil, wuzapi.KindNotWuzAPI,
			"WuzAPI answered 502 at /session/status with an error page, not WuzAPI's answer: is the server (or a proxy in front of it) down?"},
		{"HTML 200 of another site", page(t, 200, "text/html", "<!DOCTYPE html><html>shop</html>"), nil, wuzapi.KindNotWuzAPI,
			"the server at the WuzAPI address answered /session/status with something that is not WuzAPI's answer: is the address right?"},
		{"HTML 403", page(t, 403, "text/html", "<html>forbidden</html>"), nil, wuzapi.KindNotWuzAPI,
			"WuzAPI answered 403 at /session/status with a page that is not WuzAPI's answer: is the address right?"},
		{"bad token", page(t, 401, "application/json", `{"code":401,"error":"unauthorized","success":false}`), nil, wuzapi.KindBadToken,
			"WuzAPI refused the instance's token: check the token"},
		{"envelope 500", page(t, 500, "application/json", `{"code":500,"error":"failed to   do\nthings <b>now</b>","success":false}`), nil, wuzapi.KindServerError,
			"WuzAPI failed at /session/status (500): failed to do things <b>now</b>"},
		{"connection refused", refusedURL, nil, wuzapi.KindRefused,
			"nothing answers at the WuzAPI address (connection refused): is the server running and the port right?"},
		{"timeout", slow.URL, &http.Client{Timeout: 50 * time.Millisecond}, wuzapi.KindTimeout,
			"WuzAPI did not answer at /session/status in time: is the server up and reachable?"},
		{"unknown host", "http://wuzapi.example.invalid", noDNS, wuzapi.KindUnresolvable,
			"the WuzAPI address's host name does not exist: is the address right?"},
		{"untrusted certificate", tlsSrv.URL, nil, wuzapi.KindTLS,
			"WuzAPI's TLS certificate was not accepted: check the https address and the server's certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := wuzapi.New(tt.base, "tok", tt.hc).Status(context.Background())
			if wuzapi.KindOf(err) != tt.kind {
				t.Fatalf("kind of %v = %q, want %q", err, wuzapi.KindOf(err), tt.kind)
			}
			if got := wuzapi.Reason(err); got != tt.want {
				t.Fatalf("Reason(%v)\n got %q\nwant %q", err, got, tt.want)
			}
			if strings.Contains(err.Error(), "<html") || strings.Contains(err.Error(), "nginx") {
				t.Fatalf("the error carries the raw page: %v", err)
			}
		})
	}
}

func TestReasonOfSends(t *testing.T) {
	t.Parallel()
	fake := wuzapitest.New(t)
	fake.AddUser("tok", wuzapitest.Ready)
	c := wuzapi.New(fake.URL, "tok", nil)
	tests := []struct {
		reply wuzapitest.Reply
		want  string
	}{
		{wuzapitest.Reply{Status: 500, Error: "error sending message: server returned error 463"},
			"WhatsApp is not letting this number start new chats for now (reach-out limit, error 463); chats where the contact wrote first still work"},
		{wuzapitest.Reply{Status: 500, Error: "error sending message: websocket not connected"},
			"WuzAPI is not connected to WhatsApp: connect the instance again"},
		{wuzapitest.Reply{Status: 500, Error: "No session"},
			"the WhatsApp session is not started on WuzAPI: connect the instance"},
		{wuzapitest.Reply{Status: 500, Error: "error sending message: the store doesn't contain a device JID"},
			"the number is not paired with WuzAPI (logged out or never paired): connect the instance and scan the QR code"},
		{wuzapitest.Reply{Status: 400, Error: "missing Body in Payload"},
			"WuzAPI refused the request at /chat/send/text (400): missing Body in Payload"},
		{wuzapitest.Reply{Status: 429, Error: "slow down"}, "WuzAPI asked us to slow down (429 at /chat/send/text)"},
		{wuzapitest.Reply{Status: 500, Error: strings.Repeat("x", 500)}, "WuzAPI failed at /chat/send/text (500): " + strings.Repeat("x", 160) + "…"},
	}
	for _, tt := range tests {
		fake.Script("5511999998888", tt.reply)
		_, err := c.SendText(context.Background(), "5511999998888", "hi", "")
		if got := wuzapi.Reason(err); got != tt.want {
			t.Errorf("Reason of %d %q\n got %q\nwant %q", tt.reply.Status, tt.reply.Error, got, tt.want)
		}
	}
	if got := wuzapi.Reason(nil); got != "" {
		t.Errorf("Reason(nil) = %q", got)
	}
	if got := wuzapi.Reason(context.DeadlineExceeded); got != "WuzAPI did not answer in time: is the server up and reachable?" {
		t.Errorf("Reason(deadline) = %q", got)
	}
}
