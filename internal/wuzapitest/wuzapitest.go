// Package wuzapitest is a fake WuzAPI server over httptest, faithful to
// WuzAPI's documented answers (newer [N] shapes by default, the older
// [S] ones with Legacy): Token auth, the {"code","data","success"} envelope,
// plain-text 404s, the session states that refuse sends, per-phone scripted
// failures, injected latency, and a record of every send with its Id and
// Body so tests can assert exactly-once delivery. Imported only by tests.
package wuzapitest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// State is a user's WhatsApp session.
type State struct {
	// Session: /session/connect was called (else sends are 500 "no session").
	Session bool
	// Connected: the websocket is up.
	Connected bool
	// LoggedIn: the number is paired.
	LoggedIn bool
}

// Ready is a paired, connected session that can send.
var Ready = State{Session: true, Connected: true, LoggedIn: true}

// Reply scripts one answer to a send. The zero Reply is success.
type Reply struct {
	Status int    // HTTP status; 0 or 200 is success
	Error  string // the error text of a failure
	// Delay holds the answer back (to make the client time out).
	Delay time.Duration
}

// Send is one /chat/send/text request the fake received.
type Send struct {
	Token, Phone, Body, ID string
	// Media is the kind of a media send ("image", "document", ...; "" for
	// text); Body is then its caption.
	Media string
	// File is a media send's file as sent (an http(s) URL or a data URL),
	// FileName and MimeType its other fields.
	File, FileName, MimeType string
	Status                   int // what the fake answered
	At                       time.Time
	// NoAnswer: the message went out but the client never got the answer
	// (a hang it gave up on, a reset connection); see Fault.
	NoAnswer bool
}

// OK reports whether the fake answered the send with success (a message
// went out).
func (s Send) OK() bool { return s.Status == http.StatusOK }

type user struct {
	id, name, token string
	state           State
	webhook         string
	events          []string
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	*httptest.Server
	// AdminToken is the Authorization value of /admin routes.
	AdminToken string

	mu      sync.Mutex
	legacy  bool
	latency time.Duration
	users   map[string]*user // by token
	scripts map[string][]Reply
	sends   []Send
	onSend  func(Send)
	http    *http.Client

	absent    map[string]bool   // phones without a WhatsApp account
	jids      map[string]string // phone → the JID /user/check answers
	checks    []Check
	onCheck   func(token string, phones []string)
	presences []Presence
	clock     func() time.Time

	fault     Fault // applied to the next faultLeft sends (-1: all)
	faultLeft int
	hangMax   time.Duration

	enforce  *Enforcement // the enforcement simulator; nil when off
	numbers  map[string]*number
	spam     map[string]bool
	events   []event
	eventSeq int
}

// Check is one /user/check request the fake answered.
type Check struct {
	Token  string
	Phones []string // as sent
	At     time.Time
}

// Presence is one /chat/presence request the fake accepted.
type Presence struct {
	Token, Phone, State string
	At                  time.Time
}

// Option configures a Server.
type Option func(*Server)

// Legacy makes the fake answer like the older [S] server: Connected/LoggedIn
// keys, RFC 3339 send timestamps, 500 "No session" on status before connect,
// capitalised error texts.
func Legacy() Option { return func(s *Server) { s.legacy = true } }

// Latency delays every answer by d.
func Latency(d time.Duration) Option { return func(s *Server) { s.latency = d } }

// Clock makes the fake read time from now (the At of what it records,
// send timestamps, and the simulator's windows).
func Clock(now func() time.Time) Option { return func(s *Server) { s.clock = now } }

// now is the fake's clock; call with or without s.mu held.
func (s *Server) now() time.Time { return s.clock() }

// New starts a fake and closes it when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		AdminToken: "admin-token",
		users:      map[string]*user{},
		scripts:    map[string][]Reply{},
		http:       &http.Client{Timeout: 5 * time.Second},
		absent:     map[string]bool{},
		jids:       map[string]string{},
		clock:      time.Now,
		numbers:    map[string]*number{},
		spam:       map[string]bool{},
	}
	for _, o := range opts {
		o(s)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /admin/users", s.adminCreateUser)
	mux.HandleFunc("GET /admin/users", s.adminListUsers)
	mux.HandleFunc("POST /session/connect", s.user(s.connect))
	mux.HandleFunc("GET /session/status", s.user(s.status))
	mux.HandleFunc("GET /session/qr", s.user(s.qr))
	mux.HandleFunc("POST /session/logout", s.user(s.logout))
	mux.HandleFunc("POST /session/disconnect", s.user(s.disconnect))
	mux.HandleFunc("POST /chat/send/text", s.user(s.sendText))
	for _, kind := range []string{"image", "video", "audio", "document"} {
		mux.HandleFunc("POST /chat/send/"+kind, s.user(s.sendMedia(kind)))
	}
	mux.HandleFunc("POST /user/check", s.user(s.check))
	mux.HandleFunc("POST /chat/presence", s.user(s.chatPresence))
	mux.HandleFunc("POST /webhook", s.user(s.setWebhook))
	mux.HandleFunc("GET /webhook", s.user(s.getWebhook))
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		respond(w, 200, map[string]string{"status": "ok"}, "")
	})
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := s.getLatency(); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		mux.ServeHTTP(w, r) // unknown paths: the mux's plain-text "404 page not found", as the real server
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *Server) getLatency() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latency
}

// SetLatency changes the delay of every answer.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	s.latency = d
	s.mu.Unlock()
}

// AddUser creates a user (one WhatsApp number) with token in state.
func (s *Server) AddUser(token string, st State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[token] = &user{id: newID(4), name: "user-" + token, token: token, state: st}
}

// SetState changes a user's session state (socket down, logged out, ...).
func (s *Server) SetState(token string, st State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[token]; ok {
		u.state = st
	}
}

// StateOf returns a user's session state.
func (s *Server) StateOf(token string) State {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[token]; ok {
		return u.state
	}
	return State{}
}

// Webhook returns the webhook URL and events registered by a user.
func (s *Server) Webhook(token string) (string, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[token]; ok {
		return u.webhook, append([]string(nil), u.events...)
	}
	return "", nil
}

// Script queues answers for the next sends to phone, one per send; once
// they are used up, sends to phone succeed.
func (s *Server) Script(phone string, replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[phone] = append(s.scripts[phone], replies...)
}

// OnSend calls fn with every send before it is answered (fn may block, to
// hold a send in flight). Pass nil to remove it.
func (s *Server) OnSend(fn func(Send)) {
	s.mu.Lock()
	s.onSend = fn
	s.mu.Unlock()
}

// Sends returns every send received so far, in order.
func (s *Server) Sends() []Send {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Send(nil), s.sends...)
}

// Delivered returns the successful sends per phone: a phone with more than
// one entry got the message more than once.
func (s *Server) Delivered() map[string][]Send {
	out := map[string][]Send{}
	for _, sd := range s.Sends() {
		if sd.OK() {
			out[sd.Phone] = append(out[sd.Phone], sd)
		}
	}
	return out
}

// NotOnWhatsApp makes /user/check answer that phones (digits) have no
// WhatsApp account.
func (s *Server) NotOnWhatsApp(phones ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range phones {
		s.absent[strings.TrimPrefix(p, "+")] = true
	}
}

// SetJID makes /user/check answer jid for phone, as WhatsApp does for
// older Brazilian mobiles ("5511987654321" → "551187654321@s.whatsapp.net").
func (s *Server) SetJID(phone, jid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jids[strings.TrimPrefix(phone, "+")] = jid
}

// Checks returns every /user/check call answered so far, in order.
func (s *Server) Checks() []Check {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Check(nil), s.checks...)
}

// OnCheck calls fn with every answered /user/check (fn may block). Pass
// nil to remove it.
func (s *Server) OnCheck(fn func(token string, phones []string)) {
	s.mu.Lock()
	s.onCheck = fn
	s.mu.Unlock()
}

// Presences returns every accepted /chat/presence call, in order.
func (s *Server) Presences() []Presence {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Presence(nil), s.presences...)
}

// Reset forgets recorded sends, checks, presences and scripts.
func (s *Server) Reset() {
	s.mu.Lock()
	s.sends, s.scripts, s.checks, s.presences = nil, map[string][]Reply{}, nil, nil
	s.mu.Unlock()
}

func newID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// respond writes WuzAPI's envelope; status == code.
func respond(w http.ResponseWriter, status int, data any, errText string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body := map[string]any{"code": status, "success": status < 400}
	if status < 400 {
		body["data"] = data
	} else {
		body["error"] = errText
	}
	_ = json.NewEncoder(w).Encode(body)
}

// text picks the [S] (capitalised) or [N] (lower-case) form of an error text.
func (s *Server) text(t string) string {
	if s.legacy && t != "" {
		return strings.ToUpper(t[:1]) + t[1:]
	}
	return t
}

func (s *Server) user(fn func(w http.ResponseWriter, r *http.Request, u *user)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := r.Header.Get("Token")
		if tok == "" {
			tok = r.URL.Query().Get("token")
		}
		s.mu.Lock()
		u := s.users[tok]
		if u != nil && s.enforce != nil {
			s.liftBan(u, s.now())
		}
		s.mu.Unlock()
		if u == nil {
			respond(w, http.StatusUnauthorized, nil, s.text("unauthorized"))
			return
		}
		fn(w, r, u)
	}
}

func (s *Server) adminCreateUser(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != s.AdminToken {
		respond(w, http.StatusUnauthorized, nil, s.text("unauthorized"))
		return
	}
	var in struct{ Name, Token, Webhook, Events string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Token == "" {
		respond(w, http.StatusBadRequest, nil, s.text("could not decode Payload"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.users[in.Token]; dup {
		respond(w, http.StatusConflict, nil, "user with this token already exists")
		return
	}
	u := &user{id: newID(4), name: in.Name, token: in.Token, webhook: in.Webhook}
	if in.Events != "" {
		u.events = strings.Split(in.Events, ",")
	}
	s.users[in.Token] = u
	respond(w, http.StatusCreated, map[string]any{"id": u.id, "name": u.name, "token": u.token, "webhook": u.webhook}, "")
}

func (s *Server) adminListUsers(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != s.AdminToken {
		respond(w, http.StatusUnauthorized, nil, s.text("unauthorized"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	for _, u := range s.users {
		out = append(out, map[string]any{"id": u.id, "name": u.name, "token": u.token, "webhook": u.webhook,
			"connected": u.state.Connected, "loggedIn": u.state.LoggedIn, "events": strings.Join(u.events, ",")})
	}
	respond(w, 200, out, "")
}

func (s *Server) connect(w http.ResponseWriter, r *http.Request, u *user) {
	var in struct {
		Subscribe []string
		Immediate bool
	}
	_ = json.NewDecoder(r.Body).Decode(&in)
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.state.Connected {
		respond(w, 500, nil, s.text("already connected"))
		return
	}
	if !in.Immediate {
		// The real server blocks 10 s then fails; the fake fails at once so
		// a client that forgets Immediate:true is caught without waiting.
		respond(w, 500, nil, s.text("failed to connect"))
		return
	}
	u.state.Session, u.state.Connected = true, true
	u.events = in.Subscribe
	respond(w, 200, map[string]any{"details": "Connected!", "events": strings.Join(in.Subscribe, ","), "jid": "", "webhook": u.webhook}, "")
}

func (s *Server) status(w http.ResponseWriter, _ *http.Request, u *user) {
	s.mu.Lock()
	st := u.state
	s.mu.Unlock()
	if s.legacy {
		if !st.Session {
			respond(w, 500, nil, "No session")
			return
		}
		respond(w, 200, map[string]any{"Connected": st.Connected, "LoggedIn": st.LoggedIn}, "")
		return
	}
	jid := ""
	if st.LoggedIn {
		jid = "5491155550000@s.whatsapp.net"
	}
	respond(w, 200, map[string]any{"id": u.id, "name": u.name, "connected": st.Connected, "loggedIn": st.LoggedIn,
		"jid": jid, "webhook": u.webhook, "events": strings.Join(u.events, ","), "qrcode": ""}, "")
}

func (s *Server) qr(w http.ResponseWriter, _ *http.Request, u *user) {
	s.mu.Lock()
	st := u.state
	s.mu.Unlock()
	switch {
	case !st.Session:
		respond(w, 500, nil, s.text("no session"))
	case st.LoggedIn:
		respond(w, 500, nil, s.text("already logged in"))
	case !st.Connected:
		respond(w, 500, nil, s.text("not connected"))
	default:
		respond(w, 200, map[string]any{"QRCode": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg=="}, "")
	}
}

func (s *Server) logout(w http.ResponseWriter, _ *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !u.state.LoggedIn {
		respond(w, 500, nil, s.text("not logged in"))
		return
	}
	u.state.LoggedIn = false
	respond(w, 200, map[string]any{"Details": "Logged out"}, "")
}

func (s *Server) disconnect(w http.ResponseWriter, _ *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u.state.Connected = false
	respond(w, 200, map[string]any{"Details": "Disconnected"}, "")
}

func (s *Server) sendText(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	st := u.state
	s.mu.Unlock()
	// Check order of the real server .
	if !st.Session {
		respond(w, 500, nil, s.text("no session"))
		return
	}
	var in struct {
		Phone, Body, ID string // encoding/json matches WuzAPI's "Id" to ID
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		respond(w, 400, nil, s.text("could not decode Payload"))
		return
	}
	phone := strings.TrimPrefix(in.Phone, "+")
	switch {
	case in.Phone == "":
		respond(w, 400, nil, s.text("missing Phone in Payload"))
		return
	case in.Body == "":
		respond(w, 400, nil, s.text("missing Body in Payload"))
		return
	case !st.LoggedIn:
		respond(w, 500, nil, "error sending message: the store doesn't contain a device JID")
		return
	case !st.Connected:
		respond(w, 500, nil, "error sending message: websocket not connected")
		return
	}
	s.finishSend(w, r, u, Send{Phone: phone, Body: in.Body, ID: in.ID})
}

// finishSend answers a send that passed the server's checks: scripted or
// simulated failures, the record, the hook, the delay, then "Sent".
func (s *Server) finishSend(w http.ResponseWriter, r *http.Request, u *user, in Send) {
	id := in.ID
	if id == "" {
		id = "3EB0" + strings.ToUpper(newID(9))
	}
	s.mu.Lock()
	sd, rep, fault := s.recordSend(u, in, id)
	index, hangMax := len(s.sends)-1, s.hangMax
	hook := s.onSend
	s.mu.Unlock()
	status := sd.Status
	if hook != nil {
		hook(sd)
	}
	switch fault {
	case FaultHang:
		if hang(r, hangMax) {
			s.markNoAnswer(index)
			return
		}
	case FaultReset:
		s.markNoAnswer(index)
		reset(w)
		return
	}
	if rep.Delay > 0 {
		select {
		case <-time.After(rep.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if status != 200 {
		respond(w, status, nil, rep.Error)
		return
	}
	var ts any = s.now().Unix()
	if s.legacy {
		ts = s.now().Format(time.RFC3339)
	}
	respond(w, 200, map[string]any{"Details": "Sent", "Id": id, "Timestamp": ts}, "")
}

// recordSend decides and records one send the session state allows: a
// scripted answer first, else a server fault, else the simulator's
// judgement, else success; s.mu is held. The fault returned is a hang or
// reset the caller applies after the send went out.
func (s *Server) recordSend(u *user, in Send, id string) (Send, Reply, Fault) {
	phone := in.Phone
	var rep Reply
	var fault Fault
	if q := s.scripts[phone]; len(q) > 0 {
		rep, s.scripts[phone] = q[0], q[1:]
	} else if fault = s.takeFault(); fault == FaultServerError {
		rep = Reply{Status: http.StatusInternalServerError, Error: faultText}
	} else if s.enforce != nil {
		if text := s.judgeSend(u, phone); text != "" {
			rep = Reply{Status: http.StatusInternalServerError, Error: text}
		}
	}
	status := rep.Status
	if status == 0 {
		status = 200
	}
	sd := in
	sd.Token, sd.ID, sd.Status, sd.At = u.token, id, status, s.now()
	s.sends = append(s.sends, sd)
	if s.enforce != nil && status == 200 {
		s.accepted(u, sd)
	}
	return sd, rep, fault
}

func (s *Server) check(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	st := u.state
	s.mu.Unlock()
	// The real server's order: session, payload, then WhatsApp.
	if !st.Session {
		respond(w, 500, nil, s.text("no session"))
		return
	}
	var in struct{ Phone []string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		respond(w, 400, nil, s.text("could not decode Payload"))
		return
	}
	if len(in.Phone) == 0 {
		respond(w, 400, nil, s.text("missing Phone in Payload"))
		return
	}
	if !st.Connected || !st.LoggedIn {
		respond(w, 500, nil, "failed to check if users are on WhatsApp: failed to send usync query: websocket not connected")
		return
	}
	s.mu.Lock()
	s.checks = append(s.checks, Check{Token: u.token, Phones: append([]string(nil), in.Phone...), At: s.now()})
	if s.enforce != nil {
		s.checked(u, len(in.Phone))
	}
	users := make([]map[string]any, 0, len(in.Phone))
	for _, p := range in.Phone {
		d := strings.TrimPrefix(p, "+")
		// whatsmeow reports the usync JID whether or not the phone is in.
		jid, has := d+"@s.whatsapp.net", !s.absent[d]
		if j, ok := s.jids[d]; ok {
			jid = j
		}
		users = append(users, map[string]any{"Query": p, "IsInWhatsapp": has, "JID": jid, "VerifiedName": ""})
	}
	hook := s.onCheck
	s.mu.Unlock()
	if hook != nil {
		hook(u.token, in.Phone)
	}
	respond(w, 200, map[string]any{"Users": users}, "")
}

func (s *Server) chatPresence(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	st := u.state
	s.mu.Unlock()
	if !st.Session {
		respond(w, 500, nil, s.text("no session"))
		return
	}
	var in struct{ Phone, State, Media string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		respond(w, 400, nil, s.text("could not decode Payload"))
		return
	}
	switch {
	case in.Phone == "":
		respond(w, 400, nil, s.text("missing Phone in Payload"))
		return
	case in.State == "":
		respond(w, 400, nil, s.text("missing State in Payload"))
		return
	case !st.Connected || !st.LoggedIn:
		respond(w, 500, nil, "failure sending chat presence to Whatsapp servers")
		return
	}
	s.mu.Lock()
	s.presences = append(s.presences, Presence{Token: u.token, Phone: strings.TrimPrefix(in.Phone, "+"), State: in.State, At: s.now()})
	s.mu.Unlock()
	respond(w, 200, map[string]any{"Details": "Chat presence set successfuly"}, "") //nolint:misspell // WuzAPI's own words
}

func (s *Server) setWebhook(w http.ResponseWriter, r *http.Request, u *user) {
	var in map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		respond(w, 400, nil, s.text("could not decode Payload"))
		return
	}
	var hook string
	var events []string
	for k, v := range in {
		switch strings.ToLower(k) {
		case "webhookurl":
			_ = json.Unmarshal(v, &hook)
		case "events":
			_ = json.Unmarshal(v, &events)
		}
	}
	if hook == "" {
		respond(w, 400, nil, s.text("missing webhookURL in Payload"))
		return
	}
	s.mu.Lock()
	u.webhook = hook
	if events != nil {
		u.events = events
	}
	s.mu.Unlock()
	respond(w, 200, map[string]any{"webhook": hook}, "")
}

func (s *Server) getWebhook(w http.ResponseWriter, _ *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	respond(w, 200, map[string]any{"webhook": u.webhook, "subscribe": u.events}, "")
}

// subscribed reports whether u gets events of typ.
func (u *user) subscribed(typ string) bool {
	for _, e := range u.events {
		if e == typ || e == "All" {
			return true
		}
	}
	return false
}

// EmitReceipt posts a ReadReceipt ("Delivered" or "Read") for message id to
// the user's webhook, form-encoded as WuzAPI does, if the user subscribed
// to ReadReceipt. It returns the webhook's status (0 when not posted).
func (s *Server) EmitReceipt(token, id, state string) (int, error) {
	typ := ""
	if state == "Read" {
		typ = "read"
	}
	return s.emit(token, "ReadReceipt", map[string]any{
		"type": "ReadReceipt", "state": state,
		"event": map[string]any{"Chat": "", "Sender": "", "IsFromMe": false, "IsGroup": false,
			"MessageIDs": []string{id}, "Timestamp": time.Now().Format(time.RFC3339), "Type": typ, "MessageSender": ""},
	})
}

// EmitLoggedOut posts a LoggedOut event and marks the user logged out.
func (s *Server) EmitLoggedOut(token string) (int, error) {
	s.mu.Lock()
	if u, ok := s.users[token]; ok {
		u.state.LoggedIn = false
	}
	s.mu.Unlock()
	return s.emit(token, "LoggedOut", map[string]any{"type": "LoggedOut", "event": map[string]any{"OnConnect": true, "Reason": 401}})
}

func (s *Server) emit(token, typ string, jsonData map[string]any) (int, error) {
	s.mu.Lock()
	u, ok := s.users[token]
	var hook, id, name string
	sub := ok && u.subscribed(typ)
	if ok {
		hook, id, name = u.webhook, u.id, u.name
	}
	s.mu.Unlock()
	if !sub || hook == "" {
		return 0, nil
	}
	b, err := json.Marshal(jsonData)
	if err != nil {
		return 0, fmt.Errorf("encode %s event: %w", typ, err)
	}
	form := url.Values{"jsonData": {string(b)}, "userID": {id}, "instanceName": {name}}
	resp, err := s.http.PostForm(hook, form)
	if err != nil {
		return 0, fmt.Errorf("post %s event: %w", typ, err)
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
