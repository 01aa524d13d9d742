package wuzapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"unicode"
)

// This file is the one place where WuzAPI's answers are recognised. WuzAPI
// has no error codes of its own: it answers {"code":N,"error":"<text>"} with
// whatsmeow's error text inside, capitalised in older servers ("No session",
// "Error sending message: …") and lower-case in newer ones, so every text
// rule matches case-insensitively and on a part of the text.

// Kind says what a failure was, finer than its Class: callers branch on it
// (IsReachOutLock, KindOf) and Reason turns it into a sentence. The values
// are stable machine codes a dashboard may translate.
type Kind string

// The failure kinds.
const (
	// KindReachOutLock: WhatsApp refused to let the number start a new chat
	// (a send answered 500 with "463" in its text). Chats where the contact
	// wrote first still work; the lock lasts hours to about a week.
	KindReachOutLock Kind = "reach_out_lock"
	// KindNoSession: the session was never started on WuzAPI (or WuzAPI
	// dropped it, as it does after a logout).
	KindNoSession Kind = "no_session"
	// KindNotConnected: the session exists but its socket to WhatsApp is down.
	KindNotConnected Kind = "not_connected"
	// KindNotPaired: the number is not (or no longer) paired: never scanned,
	// logged out.
	KindNotPaired Kind = "not_paired"
	// KindBadToken: WuzAPI refused the instance's token (401).
	KindBadToken Kind = "bad_token"
	// KindBlockedAddress: the address leads to a network tenants may not reach.
	KindBlockedAddress Kind = "blocked_address"
	// KindTimeout: no answer in time.
	KindTimeout Kind = "timeout"
	// KindRefused: nothing listens at the address.
	KindRefused Kind = "connection_refused"
	// KindUnresolvable: the host name does not resolve.
	KindUnresolvable Kind = "unresolvable"
	// KindTLS: the server's certificate was not accepted.
	KindTLS Kind = "tls"
	// KindUnreachable: any other failure to get an answer.
	KindUnreachable Kind = "unreachable"
	// KindNotWuzAPI: the answer was not WuzAPI's JSON envelope (an HTML
	// error page, a plain-text 404 for a wrong path).
	KindNotWuzAPI Kind = "not_wuzapi"
	// KindRateLimited: WuzAPI (or a proxy) answered 429.
	KindRateLimited Kind = "rate_limited"
	// KindRejected: WuzAPI refused the request itself (a 4xx with its envelope).
	KindRejected Kind = "rejected"
	// KindServerError: WuzAPI failed for a reason not recognised above
	// (a 5xx with its envelope); transient, never a ban.
	KindServerError Kind = "server_error"
)

// answerRule recognises a WuzAPI error text (lower-cased) as a kind.
type answerRule struct {
	kind  Kind
	match func(status int, lower string) bool
}

func contains(s string) func(int, string) bool {
	return func(_ int, lower string) bool { return strings.Contains(lower, s) }
}

// answerRules are tried in order; the first that matches decides. The texts
// are the real servers' (both the 2025 and the v1.0.5 builds).
var answerRules = []answerRule{
	{KindReachOutLock, func(status int, lower string) bool {
		return status == http.StatusInternalServerError && hasCode463(lower)
	}},
	// "error sending message: the store doesn't contain a device JID": the
	// session exists but was never paired, or its pairing is gone.
	{KindNotPaired, contains("doesn't contain a device jid")},
	{KindNotPaired, contains("not logged in")},
	// "error sending message: websocket not connected", "failed to check if
	// users are on WhatsApp: failed to send usync query: websocket not
	// connected", /session/qr's "not connected".
	{KindNotConnected, contains("websocket not connected")},
	{KindNoSession, contains("no session")},
	{KindNotConnected, contains("not connected")},
}

// hasCode463 reports whether lower holds 463 as a number of its own (not a
// part of a longer number such as a phone): whatsmeow words the reach-out
// lock as "server returned error 463".
func hasCode463(lower string) bool {
	for i := 0; ; {
		j := strings.Index(lower[i:], "463")
		if j < 0 {
			return false
		}
		j += i
		before := j == 0 || !isDigit(lower[j-1])
		after := j+3 == len(lower) || !isDigit(lower[j+3])
		if before && after {
			return true
		}
		i = j + 1
	}
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// classifyAnswer sorts an answer that carried WuzAPI's envelope.
func classifyAnswer(status int, text string) (Kind, Class) {
	lower := strings.ToLower(text)
	for _, r := range answerRules {
		if r.match(status, lower) {
			return r.kind, r.kind.class()
		}
	}
	switch {
	case status == http.StatusUnauthorized:
		return KindBadToken, NotReady // nothing will send with a refused token
	case status == http.StatusTooManyRequests:
		return KindRateLimited, Transient
	case status == http.StatusRequestTimeout:
		return KindTimeout, Transient
	case status >= 500:
		return KindServerError, Transient
	case status >= 400:
		return KindRejected, Permanent
	}
	// A 2xx or 3xx whose envelope says it failed: nothing recognisable.
	return KindServerError, Transient
}

// classifyNotJSON sorts an answer whose body is not WuzAPI's envelope. A 4xx
// page means the address does not lead to WuzAPI's API (a wrong path or
// host), so the instance cannot send at all; a 5xx page is a proxy or
// gateway in front of WuzAPI failing, which may pass.
func classifyNotJSON(status int) Class {
	switch {
	case status == http.StatusTooManyRequests, status == http.StatusRequestTimeout:
		return Transient
	case status >= 400 && status < 500:
		return NotReady
	}
	return Transient
}

// classifyTransport sorts a request that got no answer.
func classifyTransport(err error) (Kind, Class) {
	var blocked *BlockedAddressError
	var dns *net.DNSError
	var netErr net.Error
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var recordHeader tls.RecordHeaderError
	switch {
	case errors.As(err, &blocked):
		return KindBlockedAddress, NotReady
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return KindTimeout, Transient
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindRefused, Transient
	case errors.As(err, &dns) && dns.IsNotFound:
		return KindUnresolvable, Transient
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid),
		errors.As(err, &verify), errors.As(err, &recordHeader):
		return KindTLS, Transient
	}
	return KindUnreachable, Transient
}

// class is what a kind means for sending.
func (k Kind) class() Class {
	switch k {
	case KindNoSession, KindNotConnected, KindNotPaired, KindBadToken, KindBlockedAddress:
		return NotReady
	case KindRejected:
		return Permanent
	}
	return Transient
}

// KindOf returns the kind of err ("" when err is nil or no *Error: a
// cancelled context, say).
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// IsReachOutLock reports whether err is WhatsApp's reach-out lock: a send
// answered 500 whose text holds the number 463 (any case, e.g. "error
// sending message: server returned error 463"). The number may not start
// new chats for now; sends to contacts who wrote first still go out, and
// the recipient is not at fault. Its Class is Transient.
func IsReachOutLock(err error) bool { return KindOf(err) == KindReachOutLock }

// IsNotPaired reports whether err says the number is not paired (logged
// out or never paired): only a new pairing helps.
func IsNotPaired(err error) bool { return KindOf(err) == KindNotPaired }

// BanReason is the reason of a temporary ban (the TemporaryBan event's
// Code) written for a person.
func BanReason(code int) string {
	switch code {
	case 101:
		return "sent to too many people who don't have this number saved"
	case 102:
		return "blocked by too many people"
	case 103:
		return "created too many groups with people who don't have this number saved"
	case 104:
		return "sent the same message to too many people"
	case 106:
		return "sent too many messages to a broadcast list"
	}
	return fmt.Sprintf("temporarily banned (code %d)", code)
}

// Reason says what went wrong with a WuzAPI call in a sentence for a
// person (an instance's health, a campaign's pause), never with the raw
// answer: an HTML error page becomes "WuzAPI answered 404 at
// /session/status: is the address right?". WuzAPI's own short error text
// is quoted only where no sentence of ours covers it. "" for a nil err.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if !errors.As(err, &e) {
		if errors.Is(err, context.DeadlineExceeded) {
			return "WuzAPI did not answer in time: is the server up and reachable?"
		}
		return "could not reach WuzAPI"
	}
	at := e.Path
	if at == "" {
		at = e.Op
	}
	switch e.Kind {
	case KindReachOutLock:
		return "WhatsApp is not letting this number start new chats for now (reach-out limit, error 463); chats where the contact wrote first still work"
	case KindNoSession:
		return "the WhatsApp session is not started on WuzAPI: connect the instance"
	case KindNotConnected:
		return "WuzAPI is not connected to WhatsApp: connect the instance again"
	case KindNotPaired:
		return "the number is not paired with WuzAPI (logged out or never paired): connect the instance and scan the QR code"
	case KindBadToken:
		return "WuzAPI refused the instance's token: check the token"
	case KindBlockedAddress:
		return "the WuzAPI address leads to a private or reserved network, which is not allowed"
	case KindTimeout:
		return fmt.Sprintf("WuzAPI did not answer at %s in time: is the server up and reachable?", at)
	case KindRefused:
		return "nothing answers at the WuzAPI address (connection refused): is the server running and the port right?"
	case KindUnresolvable:
		return "the WuzAPI address's host name does not exist: is the address right?"
	case KindTLS:
		return "WuzAPI's TLS certificate was not accepted: check the https address and the server's certificate"
	case KindUnreachable:
		return "could not reach WuzAPI: the connection failed"
	case KindNotWuzAPI:
		return notWuzAPIReason(e.Status, at)
	case KindRateLimited:
		return fmt.Sprintf("WuzAPI asked us to slow down (429 at %s)", at)
	case KindRejected:
		if e.Status == http.StatusNotFound {
			return fmt.Sprintf("WuzAPI answered 404 at %s: is the address right?", at)
		}
		return fmt.Sprintf("WuzAPI refused the request at %s (%d): %s", at, e.Status, quote(e.Text))
	}
	return fmt.Sprintf("WuzAPI failed at %s (%d): %s", at, e.Status, quote(e.Text))
}

func notWuzAPIReason(status int, at string) string {
	switch {
	case status == http.StatusNotFound:
		return fmt.Sprintf("WuzAPI answered 404 at %s: is the address right?", at)
	case status >= 500:
		return fmt.Sprintf("WuzAPI answered %d at %s with an error page, not WuzAPI's answer: is the server (or a proxy in front of it) down?", status, at)
	case status >= 400:
		return fmt.Sprintf("WuzAPI answered %d at %s with a page that is not WuzAPI's answer: is the address right?", status, at)
	}
	return fmt.Sprintf("the server at the WuzAPI address answered %s with something that is not WuzAPI's answer: is the address right?", at)
}

// quote makes an upstream error text safe to show: one line of printable
// characters, at most 160 of them.
func quote(text string) string {
	const maxRunes = 160
	var b strings.Builder
	n, space := 0, false
	for _, r := range text {
		if n >= maxRunes {
			b.WriteString("…")
			break
		}
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		n++
	}
	if b.Len() == 0 {
		return "no details"
	}
	return b.String()
}

// summarise describes a body that is not WuzAPI's envelope without
// carrying it: a short line of plain text (the real server's "404 page not
// found") is kept; an HTML page or anything longer is only described.
func summarise(raw []byte, contentType string) string {
	text := strings.TrimSpace(string(raw))
	lower := strings.ToLower(text)
	switch {
	case text == "":
		return "empty answer"
	case strings.Contains(lower, "<html") || strings.Contains(lower, "<!doctype") || strings.Contains(strings.ToLower(contentType), "html"):
		return fmt.Sprintf("an HTML page (%d bytes)", len(raw))
	case len(text) <= 100 && !strings.ContainsAny(text, "<>\n\r") && isPrintable(text):
		return text
	}
	return fmt.Sprintf("an answer that is not JSON (%d bytes)", len(raw))
}

func isPrintable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// IsAlreadyLoggedIn reports whether err is WuzAPI saying the session is
// already paired (QR asked for a logged-in instance).
func IsAlreadyLoggedIn(err error) bool { return answerHas(err, "already logged in") }

// isAlreadyConnected: connect asked of a session that is up ("already
// connected", "Already Connected").
func isAlreadyConnected(err error) bool { return answerHas(err, "already connected") }

func answerHas(err error, lower string) bool {
	var e *Error
	return errors.As(err, &e) && e.Status != 0 && strings.Contains(strings.ToLower(e.Text), lower)
}
