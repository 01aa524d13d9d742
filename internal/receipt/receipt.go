// Package receipt reads WuzAPI webhook posts and
// decides what each event means for us: delivery and read receipts,
// opt-out requests (STOP / SAIR / PARAR / CANCELAR), and the instance being
// logged out or banned. It knows nothing of storage: Apply drives a Store.
//
// An incoming message that is not a STOP word is a reply when a campaign of
// the instance messaged its sender in the 72 hours before it (the Store
// decides which campaign).
//
// Limits: only text messages are read for opt-outs (a media caption saying
// STOP is not one); group messages never opt anyone out; receipt types other
// than delivered and read (WuzAPI drops played, sender, retry) are ignored.
package receipt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strings"
	"time"
)

// Kind is what an event means for us.
type Kind int

// The kinds of event. Everything WuzAPI sends that is none of these is
// Ignored: acknowledged and dropped.
const (
	Ignored   Kind = iota
	Receipt        // messages delivered or read
	OptOut         // a contact asked to receive nothing more
	Blocked        // the instance cannot send: logged out or banned
	Unblocked      // the instance is connected again
	Incoming       // a contact wrote to the instance: it is a known contact now
)

// State is a receipt's meaning.
type State string

// Receipt states, as stored in pending_receipts.
const (
	Delivered State = "delivered"
	Read      State = "read"
)

// Block reasons, as stored in instances.blocked_reason.
const (
	ReasonLoggedOut    = "logged_out"
	ReasonTemporaryBan = "temporary_ban"
)

// Event is one decoded webhook event.
type Event struct {
	// Type is WuzAPI's event type ("ReadReceipt", "Message", ...).
	Type string
	Kind Kind
	// At is when WuzAPI says it happened; zero when it did not say.
	At time.Time

	// Receipt: the messages and what happened to them.
	State      State
	MessageIDs []string

	// OptOut and Incoming: the sender's phone, E.164 digits.
	Phone string
	// Incoming: the message's text (a media message's caption; "" when it
	// has none) and WhatsApp's id of it ("" when WuzAPI gave none).
	Text      string
	MessageID string

	// Blocked: why, and for how long a temporary ban lasts (0 if unknown);
	// BanCode is the TemporaryBan code (0 when none).
	Reason  string
	BanFor  time.Duration
	BanCode int

	// Payload is the event JSON as WuzAPI sent it (jsonData), to store.
	Payload json.RawMessage
}

// ErrMalformed marks a body that is no WuzAPI webhook post.
var ErrMalformed = errors.New("malformed webhook body")

// Parse decodes a webhook body of the given Content-Type: form-encoded
// (jsonData=<JSON>&userID=..&instanceName=.., or the legacy token=..) or
// JSON (WEBHOOK_FORMAT=json: the event object itself, plus userID and
// instanceName). It fails only with ErrMalformed.
func Parse(contentType string, body []byte) (Event, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	raw := body
	if mt == "application/x-www-form-urlencoded" || (mt != "application/json" && !looksJSON(body)) {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return Event{}, fmt.Errorf("%w: form: %v", ErrMalformed, err)
		}
		if !form.Has("jsonData") {
			return Event{}, fmt.Errorf("%w: form has no jsonData", ErrMalformed)
		}
		raw = []byte(form.Get("jsonData"))
	}
	return ParseJSON(raw)
}

func looksJSON(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{'
}

// envelope is the part of jsonData every event shares.
type envelope struct {
	Type  string          `json:"type"`
	State string          `json:"state"`
	Event json.RawMessage `json:"event"`
}

// ParseJSON decodes one event's JSON (the jsonData value). It is what the
// scheduler calls again on stored payloads.
func ParseJSON(raw []byte) (Event, error) {
	var env envelope
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&env); err != nil {
		return Event{}, fmt.Errorf("%w: jsonData: %v", ErrMalformed, err)
	}
	if env.Type == "" {
		return Event{}, fmt.Errorf("%w: event has no type", ErrMalformed)
	}
	ev := Event{Type: env.Type, Payload: json.RawMessage(bytes.TrimSpace(raw))}
	var err error
	switch env.Type {
	case "ReadReceipt":
		err = parseReceipt(&ev, env)
	case "Message":
		err = parseMessage(&ev, env.Event)
	case "LoggedOut":
		ev.Kind, ev.Reason = Blocked, ReasonLoggedOut
	case "TemporaryBan":
		err = parseBan(&ev, env.Event)
	case "Connected", "PairSuccess":
		ev.Kind = Unblocked
	}
	if err != nil {
		return Event{}, fmt.Errorf("%w: %s event: %v", ErrMalformed, env.Type, err)
	}
	return ev, nil
}

type receiptEvent struct {
	MessageIDs []string `json:"MessageIDs"`
	Timestamp  string   `json:"Timestamp"`
	Type       string   `json:"Type"`
	IsFromMe   bool     `json:"IsFromMe"`
}

func parseReceipt(ev *Event, env envelope) error {
	var r receiptEvent
	if len(env.Event) > 0 {
		if err := json.Unmarshal(env.Event, &r); err != nil {
			return err
		}
	}
	state := env.State
	if state == "" { // older servers: only the whatsmeow receipt type
		switch r.Type {
		case "":
			state = "Delivered"
		case "read":
			state = "Read"
		case "read-self":
			state = "ReadSelf"
		}
	}
	var st State
	switch strings.ToLower(state) {
	case "delivered":
		st = Delivered
	case "read":
		st = Read
	default:
		// ReadSelf: we read a chat on another device; says nothing about our sends.
		return nil
	}
	var ids []string
	for _, id := range r.MessageIDs {
		if id = strings.TrimSpace(id); id != "" && !contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	ev.Kind, ev.State, ev.MessageIDs = Receipt, st, ids
	ev.At = parseTime(r.Timestamp)
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

type messageEvent struct {
	Info struct {
		ID        string `json:"ID"`
		Sender    string `json:"Sender"`
		SenderAlt string `json:"SenderAlt"`
		Chat      string `json:"Chat"`
		IsFromMe  bool   `json:"IsFromMe"`
		IsGroup   bool   `json:"IsGroup"`
		Timestamp string `json:"Timestamp"`
	} `json:"Info"`
	Message struct {
		Conversation        string `json:"conversation"`
		ExtendedTextMessage struct {
			Text string `json:"text"`
		} `json:"extendedTextMessage"`
		ImageMessage    caption `json:"imageMessage"`
		VideoMessage    caption `json:"videoMessage"`
		DocumentMessage caption `json:"documentMessage"`
	} `json:"Message"`
}

type caption struct {
	Caption string `json:"caption"`
}

// stopWords opt a sender out (seed design: Portuguese and English).
var stopWords = map[string]bool{"STOP": true, "SAIR": true, "PARAR": true, "CANCELAR": true}

// IsStop reports whether a message text asks to opt out: exactly one of the
// stop words, in any case, surrounding white space ignored.
func IsStop(text string) bool {
	return stopWords[strings.ToUpper(strings.TrimSpace(text))]
}

func parseMessage(ev *Event, raw json.RawMessage) error {
	var m messageEvent
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			return err
		}
	}
	if m.Info.IsFromMe || m.Info.IsGroup || strings.HasSuffix(m.Info.Chat, "@g.us") {
		return nil
	}
	text := m.Message.Conversation
	for _, alt := range []string{m.Message.ExtendedTextMessage.Text, m.Message.ImageMessage.Caption,
		m.Message.VideoMessage.Caption, m.Message.DocumentMessage.Caption} {
		if text == "" {
			text = alt
		}
	}
	phone := PhoneOf(m.Info.Sender)
	if phone == "" {
		phone = PhoneOf(m.Info.SenderAlt)
	}
	if phone == "" {
		return nil // a @lid sender without its phone: nobody to opt out
	}
	ev.Kind, ev.Phone, ev.At = Incoming, phone, parseTime(m.Info.Timestamp)
	if IsStop(text) {
		ev.Kind = OptOut
		return nil
	}
	ev.Text, ev.MessageID = text, strings.TrimSpace(m.Info.ID)
	return nil
}

// PhoneOf returns the E.164 digits of a user JID ("5511999998888:12@s.whatsapp.net"
// or a bare number), or "" for a JID that is no phone (@lid, @g.us, ...).
func PhoneOf(jid string) string {
	user, server, hasServer := strings.Cut(strings.TrimSpace(jid), "@")
	if hasServer && server != "s.whatsapp.net" && server != "c.us" {
		return ""
	}
	user, _, _ = strings.Cut(user, ":") // device
	user, _, _ = strings.Cut(user, ".") // agent, in AD-JIDs "user.agent:device"
	user = strings.TrimPrefix(user, "+")
	if len(user) < 7 || len(user) > 15 || user[0] == '0' {
		return ""
	}
	for _, c := range user {
		if c < '0' || c > '9' {
			return ""
		}
	}
	return user
}

type banEvent struct {
	Code   int   `json:"Code"`
	Expire int64 `json:"Expire"` // a Go time.Duration: nanoseconds from now
}

func parseBan(ev *Event, raw json.RawMessage) error {
	var b banEvent
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &b); err != nil {
			return err
		}
	}
	ev.Kind, ev.Reason, ev.BanCode = Blocked, ReasonTemporaryBan, b.Code
	if b.Expire > 0 {
		ev.BanFor = time.Duration(b.Expire)
	}
	return nil
}

// parseTime reads WuzAPI's RFC 3339 timestamps; zero when absent or odd.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 2000 {
		return time.Time{}
	}
	return t.UTC()
}
