package wuzapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapitest"
)

func TestSendText(t *testing.T) {
	t.Parallel()
	for _, legacy := range []bool{false, true} {
		var opts []wuzapitest.Option
		if legacy {
			opts = append(opts, wuzapitest.Legacy())
		}
		fake := wuzapitest.New(t, opts...)
		fake.AddUser("tok", wuzapitest.Ready)
		c := wuzapi.New(fake.URL, "tok", nil)
		sent, err := c.SendText(context.Background(), "5511999998888", "Olá", "3EB0AABBCCDDEEFF001122")
		if err != nil || sent.ID != "3EB0AABBCCDDEEFF001122" || sent.Timestamp.IsZero() {
			t.Fatalf("legacy=%v: SendText = %+v, %v", legacy, sent, err)
		}
		s := fake.Sends()
		if len(s) != 1 || s[0].Phone != "5511999998888" || s[0].Body != "Olá" || s[0].ID != "3EB0AABBCCDDEEFF001122" || s[0].Token != "tok" {
			t.Fatalf("legacy=%v: fake saw %+v", legacy, s)
		}
	}
}

func TestErrorClasses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		state  wuzapitest.State
		token  string
		reply  *wuzapitest.Reply
		class  wuzapi.Class
		status int
	}{
		{"no session", wuzapitest.State{}, "tok", nil, wuzapi.NotReady, 500},
		{"never paired", wuzapitest.State{Session: true, Connected: true}, "tok", nil, wuzapi.NotReady, 500},
		{"socket down", wuzapitest.State{Session: true, LoggedIn: true}, "tok", nil, wuzapi.NotReady, 500},
		{"wrong token", wuzapitest.Ready, "nope", nil, wuzapi.NotReady, 401},
		{"server error", wuzapitest.Ready, "tok", &wuzapitest.Reply{Status: 500, Error: "error sending message: server returned error 479"}, wuzapi.Transient, 500},
		{"bad gateway", wuzapitest.Ready, "tok", &wuzapitest.Reply{Status: 502, Error: "bad gateway"}, wuzapi.Transient, 502},
		{"too many requests", wuzapitest.Ready, "tok", &wuzapitest.Reply{Status: 429, Error: "slow down"}, wuzapi.Transient, 429},
		{"bad phone", wuzapitest.Ready, "tok", &wuzapitest.Reply{Status: 400, Error: "could not parse Phone"}, wuzapi.Permanent, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := wuzapitest.New(t)
			fake.AddUser("tok", tt.state)
			if tt.reply != nil {
				fake.Script("5511999998888", *tt.reply)
			}
			_, err := wuzapi.New(fake.URL, tt.token, nil).SendText(context.Background(), "5511999998888", "hi", "")
			var e *wuzapi.Error
			if !errors.As(err, &e) || e.Class != tt.class || e.Status != tt.status || wuzapi.ClassOf(err) != tt.class {
				t.Fatalf("SendText error = %#v; want class %v status %d", err, tt.class, tt.status)
			}
		})
	}
}

func TestTimeoutIsTransient(t *testing.T) {
	t.Parallel()
	fake := wuzapitest.New(t)
	fake.AddUser("tok", wuzapitest.Ready)
	fake.Script("5511999998888", wuzapitest.Reply{Delay: 5 * time.Second})
	c := wuzapi.New(fake.URL, "tok", &http.Client{Timeout: 50 * time.Millisecond})
	_, err := c.SendText(context.Background(), "5511999998888", "hi", "")
	if wuzapi.ClassOf(err) != wuzapi.Transient {
		t.Fatalf("timeout error = %v (class %v), want transient", err, wuzapi.ClassOf(err))
	}
}

func TestNonJSONBody(t *testing.T) {
	t.Parallel()
	fake := wuzapitest.New(t)
	fake.AddUser("tok", wuzapitest.Ready)
	c := wuzapi.New(fake.URL+"/nowhere", "tok", nil)
	_, err := c.SendText(context.Background(), "5511999998888", "hi", "")
	var e *wuzapi.Error
	if !errors.As(err, &e) || e.Status != 404 || e.Class != wuzapi.NotReady || e.Kind != wuzapi.KindNotWuzAPI || e.Text != "404 page not found" {
		t.Fatalf("plain-text 404 = %#v", err)
	}
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html>gateway</html>"))
	}))
	t.Cleanup(plain.Close)
	_, err = wuzapi.New(plain.URL, "tok", nil).Status(context.Background())
	if !errors.As(err, &e) || e.Status != 200 || e.Class != wuzapi.Transient {
		t.Fatalf("200 with HTML = %#v", err)
	}
}

func TestSession(t *testing.T) {
	t.Parallel()
	for _, legacy := range []bool{false, true} {
		var opts []wuzapitest.Option
		if legacy {
			opts = append(opts, wuzapitest.Legacy())
		}
		fake := wuzapitest.New(t, opts...)
		fake.AddUser("tok", wuzapitest.State{})
		c := wuzapi.New(fake.URL, "tok", nil)
		ctx := context.Background()
		if s, err := c.Status(ctx); err != nil || s.Connected || s.LoggedIn {
			t.Fatalf("legacy=%v: status before connect = %+v, %v", legacy, s, err)
		}
		if _, err := c.QR(ctx); wuzapi.ClassOf(err) != wuzapi.NotReady {
			t.Fatalf("legacy=%v: QR before connect = %v", legacy, err)
		}
		if err := c.Connect(ctx, nil); err != nil {
			t.Fatalf("legacy=%v: connect: %v", legacy, err)
		}
		if err := c.Connect(ctx, nil); err != nil {
			t.Fatalf("legacy=%v: connect twice: %v", legacy, err)
		}
		if _, ev := fake.Webhook("tok"); len(ev) != len(wuzapi.DefaultEvents) {
			t.Fatalf("legacy=%v: subscribed %v", legacy, ev)
		}
		if s, err := c.Status(ctx); err != nil || !s.Connected || s.LoggedIn || s.Ready() {
			t.Fatalf("legacy=%v: status after connect = %+v, %v", legacy, s, err)
		}
		if qr, err := c.QR(ctx); err != nil || qr == "" {
			t.Fatalf("legacy=%v: QR = %q, %v", legacy, qr, err)
		}
		fake.SetState("tok", wuzapitest.Ready)
		if s, err := c.Status(ctx); err != nil || !s.Ready() {
			t.Fatalf("legacy=%v: status when paired = %+v, %v", legacy, s, err)
		}
		if _, err := c.QR(ctx); !wuzapi.IsAlreadyLoggedIn(err) {
			t.Fatalf("legacy=%v: QR when paired = %v", legacy, err)
		}
		if err := c.SetWebhook(ctx, "http://api.test/v1/webhooks/wuzapi/x?secret=s", nil); err != nil {
			t.Fatal(err)
		}
		if u, ev := fake.Webhook("tok"); u != "http://api.test/v1/webhooks/wuzapi/x?secret=s" || len(ev) == 0 {
			t.Fatalf("legacy=%v: webhook = %q %v", legacy, u, ev)
		}
	}
}

type fakeResolver map[string][]netip.Addr

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, errors.New("no such host")
}

func TestGuard(t *testing.T) {
	t.Parallel()
	res := fakeResolver{
		"wuzapi.example.com": {netip.MustParseAddr("93.184.215.14")},
		"metadata.evil":      {netip.MustParseAddr("169.254.169.254")},
		"mixed.evil":         {netip.MustParseAddr("93.184.215.14"), netip.MustParseAddr("10.0.0.1")},
		"six.example":        {netip.MustParseAddr("2606:2800:21f:cb07:6820:80da:af6b:8b2c")},
		"benchmark.evil":     {netip.MustParseAddr("198.18.0.1")},
	}
	tests := []struct {
		name, url    string
		allowPrivate bool
		code, want   string
	}{
		{"public name", "https://wuzapi.example.com/", false, "", "https://wuzapi.example.com"},
		{"public with path", "http://wuzapi.example.com:8080/api/", false, "", "http://wuzapi.example.com:8080/api"},
		{"ipv6 public", "http://six.example", false, "", "http://six.example"},
		{"metadata ip", "http://169.254.169.254/latest", true, "blocked_address", ""},
		{"metadata by name", "http://metadata.evil", true, "blocked_address", ""},
		{"link-local v6", "http://[fe80::1]/", true, "blocked_address", ""},
		{"loopback refused", "http://127.0.0.1:8080", false, "blocked_address", ""},
		{"loopback allowed", "http://127.0.0.1:8080", true, "", "http://127.0.0.1:8080"},
		{"private refused", "http://10.1.2.3", false, "blocked_address", ""},
		{"one private address among several", "http://mixed.evil", false, "blocked_address", ""},
		{"private allowed", "http://192.168.0.5", true, "", "http://192.168.0.5"},
		{"mapped v4 loopback", "http://[::ffff:127.0.0.1]/", false, "blocked_address", ""},
		{"special-purpose by name", "http://benchmark.evil", true, "blocked_address", ""},
		{"unresolvable", "http://nowhere.invalid", false, "unresolvable", ""},
		{"ftp", "ftp://wuzapi.example.com", false, "invalid_url", ""},
		{"relative", "/session", false, "invalid_url", ""},
		{"credentials", "http://u:p@wuzapi.example.com", false, "invalid_url", ""},
		{"query", "http://wuzapi.example.com/?token=x", false, "invalid_url", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := wuzapi.Guard{AllowPrivate: tt.allowPrivate, Resolver: res}
			got, err := g.CheckBaseURL(context.Background(), tt.url)
			var ue *wuzapi.URLError
			code := ""
			if errors.As(err, &ue) {
				code = ue.Code
			} else if err != nil {
				t.Fatalf("error is no URLError: %v", err)
			}
			if code != tt.code || got != tt.want {
				t.Fatalf("CheckBaseURL(%q) = %q, %v; want %q, code %q", tt.url, got, err, tt.want, tt.code)
			}
		})
	}
}

// TestGuardSpecialPurpose holds one address of each special-purpose range
// that is not globally reachable: refused even with private addresses
// allowed. Public neighbours pass.
func TestGuardSpecialPurpose(t *testing.T) {
	t.Parallel()
	refused := []string{
		"0.0.0.0", "0.1.2.3", // "this network"
		"192.0.0.8",                    // IETF protocol assignments
		"192.0.2.1",                    // TEST-NET-1
		"192.31.196.1",                 // AS112-v4
		"192.52.193.1",                 // AMT
		"192.88.99.1",                  // 6to4 relay anycast
		"192.175.48.1",                 // AS112 direct delegation
		"198.18.0.1", "198.19.255.254", // benchmarking
		"198.51.100.1",                 // TEST-NET-2
		"203.0.113.7",                  // TEST-NET-3
		"240.0.0.1", "255.255.255.255", // reserved, broadcast
		"224.0.0.1",                      // multicast
		"169.254.169.254", "169.254.0.1", // metadata, link-local
		"::",                               // unspecified
		"::ffff:169.254.169.254",           // mapped metadata
		"64:ff9b::a9fe:a9fe", "64:ff9b::1", // NAT64
		"64:ff9b:1::1",             // local-use NAT64
		"100::1",                   // discard-only
		"2001::1",                  // Teredo
		"2001:2::1",                // benchmarking
		"2001:10::1", "2001:20::1", // ORCHID
		"2001:db8::1",        // documentation
		"3fff::1",            // documentation
		"2002:a9fe:a9fe::1",  // 6to4
		"2620:4f:8000::1",    // AS112 direct delegation
		"fe80::1", "ff02::1", // link-local, multicast
		"fd00:ec2::254", "fd00:ec2::253", // EC2 metadata and DNS
		"::a9fe:a9fe", // IPv4-compatible
	}
	for _, ip := range refused {
		for _, allow := range []bool{false, true} {
			g := wuzapi.Guard{AllowPrivate: allow}
			_, err := g.CheckBaseURL(context.Background(), "http://"+netip.AddrPortFrom(netip.MustParseAddr(ip), 80).String())
			var ue *wuzapi.URLError
			if !errors.As(err, &ue) || ue.Code != "blocked_address" {
				t.Errorf("%s (private allowed: %v) = %v; want blocked_address", ip, allow, err)
			}
		}
	}
	for _, ip := range []string{"8.8.8.8", "198.20.0.1", "203.0.114.1", "2606:4700::1111", "2a00:1450::1"} {
		if _, err := (wuzapi.Guard{}).CheckBaseURL(context.Background(), "http://"+netip.AddrPortFrom(netip.MustParseAddr(ip), 80).String()); err != nil {
			t.Errorf("public %s refused: %v", ip, err)
		}
	}
	for _, ip := range []string{"127.0.0.1", "10.0.0.1", "100.64.0.1", "fd12:3456::1", "::1"} {
		if _, err := (wuzapi.Guard{AllowPrivate: true}).CheckBaseURL(context.Background(), "http://"+netip.AddrPortFrom(netip.MustParseAddr(ip), 80).String()); err != nil {
			t.Errorf("private %s refused with private allowed: %v", ip, err)
		}
	}
}

func TestGuardAtDial(t *testing.T) {
	t.Parallel()
	fake := wuzapitest.New(t)
	fake.AddUser("tok", wuzapitest.Ready)
	// The fake listens on 127.0.0.1: refused at dial time unless private is allowed.
	c := wuzapi.New(fake.URL, "tok", wuzapi.Guard{}.HTTPClient(5*time.Second))
	_, err := c.SendText(context.Background(), "5511999998888", "hi", "")
	var blocked *wuzapi.BlockedAddressError
	if !errors.As(err, &blocked) || wuzapi.ClassOf(err) != wuzapi.NotReady {
		t.Fatalf("dial to loopback = %v", err)
	}
	if len(fake.Sends()) != 0 {
		t.Fatal("a blocked dial reached the server")
	}
	c = wuzapi.New(fake.URL, "tok", wuzapi.Guard{AllowPrivate: true}.HTTPClient(5*time.Second))
	if _, err := c.SendText(context.Background(), "5511999998888", "hi", ""); err != nil {
		t.Fatalf("allowed dial: %v", err)
	}
}
