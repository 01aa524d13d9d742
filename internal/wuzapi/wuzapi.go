// Package wuzapi is the HTTP client of a tenant's WuzAPI instance:
// sending text with our own message Id, session
// status/connect/QR and webhook registration.
//
// Every failure is an *Error sorted into a Class, so callers decide without
// parsing texts: Transient (timeouts, network errors, 429, 5xx that are not
// about the instance, anything unrecognised) may be retried; Permanent
// (4xx) fails the recipient; NotReady ("no session", "websocket not
// connected", "the store doesn't contain a device JID", a refused token, a
// 4xx page that is not WuzAPI's) means the instance cannot send at all and
// its campaign must pause. Its Kind is finer (the reach-out lock is a
// Transient of KindReachOutLock) and Reason words it for a person; both
// come from classify.go, the only place that reads WuzAPI's texts. Both
// the older and the newer server shapes are accepted. A body that is not
// the JSON envelope is an error carrying the status code and a description
// of the body, never the body.
package wuzapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Class sorts a failure by what the caller should do about it.
type Class int

// The failure classes.
const (
	// Transient failures may succeed when retried later.
	Transient Class = iota + 1
	// Permanent failures will fail again: the request or recipient is bad.
	Permanent
	// NotReady means the instance cannot send now (not connected, never
	// paired, logged out, wrong token): stop using it until a human acts.
	NotReady
)

func (c Class) String() string {
	switch c {
	case Transient:
		return "transient"
	case Permanent:
		return "permanent"
	case NotReady:
		return "not_ready"
	}
	return "unknown"
}

// Error is a failed WuzAPI call.
type Error struct {
	Op     string // "send text", "session status", ...
	Path   string // the path called, "/session/status"
	Status int    // HTTP status; 0 when no answer arrived
	// Text is the server's error text, or a description of the failure.
	// A body that is not WuzAPI's envelope is described ("an HTML page
	// (1234 bytes)"), never carried.
	Text  string
	Class Class
	Kind  Kind
	Err   error // the transport error, when there was no answer
}

func (e *Error) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("wuzapi %s: %s", e.Op, e.Text)
	}
	return fmt.Sprintf("wuzapi %s: status %d: %s", e.Op, e.Status, e.Text)
}

func (e *Error) Unwrap() error { return e.Err }

// ClassOf returns the class of err: an *Error's class, Transient for a
// cancelled or timed-out context and for any other error.
func ClassOf(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return Transient
}

// Client calls one WuzAPI instance.
type Client struct {
	baseURL string
	token   string
	http    *http.Client
	pool    *Pool // when set, calls go through it instead of http
}

// New returns a client of the instance at baseURL authenticating with the
// user token. hc carries the transport (and its SSRF guard); a nil hc is a
// plain client with a 15 s timeout.
func New(baseURL, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	return &Client{baseURL: strings.TrimRight(baseURL, "/"), token: token, http: hc}
}

// envelope is WuzAPI's answer: {"code":200,"data":{...},"success":true} or
// {"code":500,"error":"...","success":false}.
type envelope struct {
	Code    int             `json:"code"`
	Success bool            `json:"success"`
	Data    json.RawMessage `json:"data"`
	Error   string          `json:"error"`
}

// call does one request and decodes the envelope's data into out (when not nil).
func (c *Client) call(ctx context.Context, op, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return &Error{Op: op, Path: path, Text: "encode request: " + err.Error(), Kind: KindRejected, Class: Permanent, Err: err}
		}
		body = b
	}
	return c.callJSON(ctx, 0, op, method, path, body, in != nil, out)
}

// callJSON does one request with body (JSON, when hasBody) and decodes the
// envelope's data into out (when not nil), within timeout when above 0.
func (c *Client) callJSON(ctx context.Context, timeout time.Duration, op, method, path string, body []byte, hasBody bool, out any) error {
	if c.pool == nil {
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		return c.callHTTP(ctx, op, method, path, body, hasBody, out)
	}
	return c.callPool(ctx, op, path, request{method: method, token: c.token, body: body, hasBody: hasBody, timeout: timeout}, out)
}

// sendTextPath is where a text send goes.
const sendTextPath = "/chat/send/text"

// callText sends a text (POST sendTextPath) and decodes the envelope's
// data into out, within timeout when above 0. Through the pool its body is
// written into the connection's own buffer.
func (c *Client) callText(ctx context.Context, timeout time.Duration, ts textSend, out any) error {
	if c.pool == nil {
		body := appendSendText(make([]byte, 0, 32+len(ts.phone)+len(ts.body)+len(ts.id)), ts.phone, ts.body, ts.id)
		return c.callJSON(ctx, timeout, "send text", http.MethodPost, sendTextPath, body, true, out)
	}
	return c.callPool(ctx, "send text", sendTextPath, request{method: http.MethodPost, token: c.token, hasBody: true, timeout: timeout, text: ts, isText: true}, out)
}

// callPool makes req through the pool and decodes the envelope's data
// into out (when not nil).
func (c *Client) callPool(ctx context.Context, op, path string, req request, out any) error {
	t := c.pool.target(c.baseURL, path)
	if t.err != nil {
		return &Error{Op: op, Path: path, Text: "build request: " + t.err.Error(), Kind: KindUnreachable, Class: NotReady, Err: t.err}
	}
	pc, ans, err := c.pool.exchange(ctx, t, req)
	if err != nil && ans.status != 0 {
		kind, class := classifyTransport(err)
		return &Error{Op: op, Path: path, Status: ans.status, Text: "read answer: " + err.Error(), Kind: kind, Class: class, Err: err}
	}
	if err != nil {
		return noAnswer(op, path, err)
	}
	err = decodeAnswer(op, path, ans.status, ans.contentType, ans.body, out)
	c.pool.put(pc)
	return err
}

// callHTTP is callJSON through the net/http client.
func (c *Client) callHTTP(ctx context.Context, op, method, path string, body []byte, hasBody bool, out any) error {
	fail := func(status int, text string, kind Kind, class Class, err error) error {
		return &Error{Op: op, Path: path, Status: status, Text: text, Kind: kind, Class: class, Err: err}
	}
	var rd io.Reader
	if hasBody {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, rd)
	if err != nil {
		return fail(0, "build request: "+err.Error(), KindUnreachable, NotReady, err)
	}
	req.Header.Set("Token", c.token)
	req.Header.Set("Accept", "application/json")
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return noAnswer(op, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		kind, class := classifyTransport(err)
		return fail(resp.StatusCode, "read answer: "+err.Error(), kind, class, err)
	}
	return decodeAnswer(op, path, resp.StatusCode, resp.Header.Get("Content-Type"), raw, out)
}

// noAnswer is the error of a call that got no answer.
func noAnswer(op, path string, err error) error {
	kind, class := classifyTransport(err)
	var blocked *BlockedAddressError
	if errors.As(err, &blocked) {
		return &Error{Op: op, Path: path, Text: blocked.Error(), Kind: kind, Class: class, Err: err}
	}
	return &Error{Op: op, Path: path, Text: "no answer: " + err.Error(), Kind: kind, Class: class, Err: err}
}

// decodeAnswer reads an answer of status: WuzAPI's envelope, whose data
// goes into out (when not nil), or an *Error.
func decodeAnswer(op, path string, status int, contentType string, raw []byte, out any) error {
	fail := func(status int, text string, kind Kind, class Class, err error) error {
		return &Error{Op: op, Path: path, Status: status, Text: text, Kind: kind, Class: class, Err: err}
	}
	if f, ok := out.(fastAnswer); ok && status >= 200 && status < 300 && f.decodeEnvelope(raw) {
		return nil
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		// Plain-text 404s, HTML pages of proxies, odd admin answers.
		text := summarise(raw, contentType)
		if status < 400 {
			text = "answer is not JSON: " + text
		}
		return fail(status, text, KindNotWuzAPI, classifyNotJSON(status), nil)
	}
	if status >= 300 || (!env.Success && env.Error != "") {
		text := env.Error
		if text == "" {
			text = http.StatusText(status)
		}
		st := status
		if st < 300 && env.Code >= 400 {
			st = env.Code
		}
		kind, class := classifyAnswer(st, text)
		return fail(st, text, kind, class, nil)
	}
	if out != nil && len(env.Data) > 0 && string(env.Data) != "null" {
		if err := json.Unmarshal(env.Data, out); err != nil {
			return fail(status, "decode data: "+err.Error(), KindNotWuzAPI, Transient, err)
		}
	}
	return nil
}

// Sent is WuzAPI's answer to a send.
type Sent struct {
	ID string
	// Timestamp is when WhatsApp took the message; zero when the server
	// gave none. [S] gives RFC 3339, [N] Unix seconds: both are read.
	Timestamp time.Time
}

// flexTime reads an RFC 3339 string or Unix seconds.
type flexTime struct{ time.Time }

func (f *flexTime) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" || s == `""` {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		t, err := time.Parse(time.RFC3339, str)
		if err != nil {
			return fmt.Errorf("timestamp %q: %w", str, err)
		}
		f.Time = t
		return nil
	}
	var n float64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("timestamp %s: %w", s, err)
	}
	f.Time = time.Unix(int64(n), 0).UTC()
	return nil
}

// SendText sends body to phone (E.164 digits) with the WhatsApp message id
// we chose, so the id is known before the call returns.
func (c *Client) SendText(ctx context.Context, phone, body, id string) (Sent, error) {
	return c.SendTextWithin(ctx, 0, phone, body, id)
}

// SendTextWithin is SendText ended after timeout (when above 0) as a
// context.WithTimeout would end it, as a timeout: through the pool the
// connection's deadline bounds it, with no context and timer of its own.
func (c *Client) SendTextWithin(ctx context.Context, timeout time.Duration, phone, body, id string) (Sent, error) {
	var out sentAnswer
	if err := c.callText(ctx, timeout, textSend{phone: phone, body: body, id: id}, &out); err != nil {
		return Sent{}, err
	}
	if out.ID == "" {
		out.ID = id
	}
	return Sent{ID: out.ID, Timestamp: out.Timestamp.Time}, nil
}

// Session is the instance's WhatsApp session state. It can send only when
// both are true.
type Session struct {
	Connected bool `json:"connected"`
	LoggedIn  bool `json:"loggedIn"`
}

// Ready reports whether the instance can send.
func (s Session) Ready() bool { return s.Connected && s.LoggedIn }

// Status reads /session/status. [S] answers {"Connected","LoggedIn"} and a
// 500 "No session" before the first connect (reported here as a session
// that is neither connected nor logged in); [N] answers lower-case keys.
func (c *Client) Status(ctx context.Context) (Session, error) {
	// encoding/json matches keys case-insensitively, so one struct reads both shapes.
	var out struct {
		Connected bool `json:"connected"`
		LoggedIn  bool `json:"loggedIn"`
	}
	err := c.call(ctx, "session status", http.MethodGet, "/session/status", nil, &out)
	var e *Error
	if errors.As(err, &e) && e.Status >= 500 && e.Kind == KindNoSession {
		return Session{}, nil
	}
	if err != nil {
		return Session{}, err
	}
	return Session{Connected: out.Connected, LoggedIn: out.LoggedIn}, nil
}

// DefaultEvents are the webhook events this product uses: incoming messages
// (opt-outs), receipts, and the events that must stop an instance.
var DefaultEvents = []string{"Message", "ReadReceipt", "LoggedOut", "TemporaryBan", "Disconnected", "Connected"}

// Connect asks the instance to connect its session, subscribing to events.
// Immediate is always true: false makes WuzAPI block 10 s and fail. An
// instance that is already connected is not an error.
func (c *Client) Connect(ctx context.Context, events []string) error {
	if len(events) == 0 {
		events = DefaultEvents
	}
	in := struct {
		Subscribe []string `json:"Subscribe"`
		Immediate bool     `json:"Immediate"`
	}{events, true}
	err := c.call(ctx, "session connect", http.MethodPost, "/session/connect", in, nil)
	if isAlreadyConnected(err) {
		return nil
	}
	return err
}

// QR returns the pairing QR code as a data URL ("" until the first code
// arrives). A logged-in instance answers an error whose text says so.
func (c *Client) QR(ctx context.Context) (string, error) {
	var out struct {
		QRCode string `json:"QRCode"`
	}
	if err := c.call(ctx, "session qr", http.MethodGet, "/session/qr", nil, &out); err != nil {
		return "", err
	}
	return out.QRCode, nil
}

// SetWebhook registers url for events (always sent: without it newer
// servers stop delivering).
func (c *Client) SetWebhook(ctx context.Context, url string, events []string) error {
	if len(events) == 0 {
		events = DefaultEvents
	}
	in := struct {
		WebhookURL string   `json:"webhookURL"`
		Events     []string `json:"events"`
	}{url, events}
	return c.call(ctx, "set webhook", http.MethodPost, "/webhook", in, nil)
}
