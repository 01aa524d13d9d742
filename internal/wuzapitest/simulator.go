package wuzapitest

import (
	"context"
	"sort"
	"strconv"
	"time"
)

// Enforcement is the simulator's model of what WhatsApp does to a linked
// device that sends like a bulk sender. Every number (user) is judged on
// its own, on the fake's clock (Clock), so a simulated week takes
// milliseconds. The thresholds come from the public reports of numbers
// locked or banned while sending through whatsmeow-based APIs:
//
//   - Reach-out lock ("463"): a linked device was locked after 20–30 first
//     messages a day to people who had not written to it, and after a few
//     messages hours apart on fresh numbers; sending to a number that is
//     not on WhatsApp triggered it too; the lock stops only new chats (the
//     contact never wrote), for 24 h up to about 7 days, and is seen only
//     as a failed send: 500 "error sending message: server returned error
//     463". Mass "is on WhatsApp" lookups got numbers locked as well.
//   - Temporary ban 104 ("sent the same message to too many people"):
//     identical texts to hundreds of strangers were blocked every few
//     sends. The ban arrives as a TemporaryBan webhook event with the code
//     and the expiry in nanoseconds; the server drops the socket, so sends
//     fail "websocket not connected" until it ends.
//   - Silent non-delivery comes before bans: messages to numbers that look
//     like a spam list (not on WhatsApp, marked as spam targets, or runs of
//     consecutive numbers) are accepted (200) but never get a delivery
//     receipt.
//
// The defaults sit just above a careful sender's budget (20 new contacts a
// day, 8 an hour, 10 identical texts an hour) and well below what the
// reports show locked: a sender within its budget is never punished; a
// sender at 100 messages a minute to strangers is locked within the first
// half hour.
type Enforcement struct {
	// NewContactsPerDay and NewContactsPerHour: first messages to phones
	// that never wrote to the number, in any 24 h / any hour; the first
	// send over either is refused with 463 and locks the number (defaults
	// 25 and 12).
	NewContactsPerDay, NewContactsPerHour int
	// NotOnWhatsAppPerDay: sends to phones without WhatsApp in any 24 h
	// that lock the number (default 3; the send itself is accepted).
	NotOnWhatsAppPerDay int
	// ChecksPerHour: phones looked up with /user/check in any hour above
	// which the number is locked (default 200).
	ChecksPerHour int
	// LockFor is the first lock's length (default 24 h); a lock within
	// 7 days of the last one lasts twice as long, at most 7 days.
	LockFor time.Duration
	// IdenticalPerHour: the same text to more than this many phones that
	// never wrote, in any hour, brings TemporaryBan 104 (default 20).
	IdenticalPerHour int
	// BanFor is the temporary ban's length (default 24 h).
	BanFor time.Duration
	// ReceiptDelay is when a delivered message's receipt is due after the
	// send (default 3 s).
	ReceiptDelay time.Duration
	// SequentialRun: the n-th consecutive phone number in a row of first
	// messages (each the previous plus one) and those after it are not
	// delivered (default 5; negative: never).
	SequentialRun int
}

// DefaultEnforcement is the model with its default thresholds.
var DefaultEnforcement = Enforcement{
	NewContactsPerDay: 25, NewContactsPerHour: 12, NotOnWhatsAppPerDay: 3, ChecksPerHour: 200,
	LockFor: 24 * time.Hour, IdenticalPerHour: 20, BanFor: 24 * time.Hour,
	ReceiptDelay: 3 * time.Second, SequentialRun: 5,
}

// withDefaults fills zero fields from DefaultEnforcement.
func (e Enforcement) withDefaults() Enforcement {
	d := DefaultEnforcement
	pick := func(v, def int) int {
		if v == 0 {
			return def
		}
		return v
	}
	pickD := func(v, def time.Duration) time.Duration {
		if v == 0 {
			return def
		}
		return v
	}
	e.NewContactsPerDay = pick(e.NewContactsPerDay, d.NewContactsPerDay)
	e.NewContactsPerHour = pick(e.NewContactsPerHour, d.NewContactsPerHour)
	e.NotOnWhatsAppPerDay = pick(e.NotOnWhatsAppPerDay, d.NotOnWhatsAppPerDay)
	e.ChecksPerHour = pick(e.ChecksPerHour, d.ChecksPerHour)
	e.IdenticalPerHour = pick(e.IdenticalPerHour, d.IdenticalPerHour)
	e.SequentialRun = pick(e.SequentialRun, d.SequentialRun)
	e.LockFor = pickD(e.LockFor, d.LockFor)
	e.BanFor = pickD(e.BanFor, d.BanFor)
	e.ReceiptDelay = pickD(e.ReceiptDelay, d.ReceiptDelay)
	return e
}

// Enforce turns the enforcement simulator on with e (zero fields take
// DefaultEnforcement's values).
func Enforce(e Enforcement) Option {
	return func(s *Server) { e = e.withDefaults(); s.enforce = &e }
}

// SimStats is what the simulator did to one number.
type SimStats struct {
	Sent          int // sends answered 200
	Delivered     int // delivery receipts that fell due
	Undelivered   int // sends accepted that will never be delivered
	NewContacts   int // first messages to phones that never wrote
	Refused463    int // sends refused with the reach-out lock
	Locks         int // times the number was locked
	Bans          int // temporary bans
	BanCodes      []int
	LockedUntil   time.Time
	BannedUntil   time.Time
	CheckedPhones int // phones looked up with /user/check
	// LockLog says, for each lock, when and why it came.
	LockLog []LockEvent
}

// LockEvent is one reach-out lock the simulator imposed and the counts
// that brought it.
type LockEvent struct {
	At time.Time
	// Why is the rule that tripped: "new_contacts_per_day",
	// "new_contacts_per_hour", "not_on_whatsapp" or "checks_per_hour".
	Why string
	// NewInDay, NewInHour, NotOnWhatsApp and ChecksInHour are the
	// counts at that moment, before the refused send.
	NewInDay, NewInHour, NotOnWhatsApp, ChecksInHour int
	// NewSends are the first messages of the 24 hours before it.
	NewSends []time.Time
}

// Locked reports whether the number was locked at least once.
func (st SimStats) Locked() bool { return st.Locks > 0 }

// number is the simulator's state of one WhatsApp number.
type number struct {
	known     map[string]bool // phones that wrote to the number
	messaged  map[string]bool // phones the number has messaged
	newSends  []time.Time     // first messages to new contacts
	notOnWA   []time.Time     // sends to phones without WhatsApp
	checks    []timedCount    // /user/check lookups
	identical map[string][]time.Time
	lastNew   uint64 // the last new contact's number, for runs
	run       int
	lockFor   time.Duration
	lastLock  time.Time
	stats     SimStats
}

type timedCount struct {
	at time.Time
	n  int
}

// event is a webhook post due at a time.
type event struct {
	due   time.Time
	seq   int
	token string
	typ   string
	data  map[string]any
	recv  bool // a delivery receipt (counted when it falls due)
}

func (s *Server) number(token string) *number {
	n := s.numbers[token]
	if n == nil {
		n = &number{known: map[string]bool{}, messaged: map[string]bool{}, identical: map[string][]time.Time{}}
		s.numbers[token] = n
	}
	return n
}

// Stats returns what the simulator did to the number of token.
func (s *Server) Stats(token string) SimStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.number(token).stats
	st.BanCodes = append([]int(nil), st.BanCodes...)
	st.LockLog = append([]LockEvent(nil), st.LockLog...)
	return st
}

// SpamTargets marks phones whose messages are accepted but never delivered.
func (s *Server) SpamTargets(phones ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range phones {
		s.spam[p] = true
	}
}

// Knows marks phones as having written to the number of token: known
// contacts, whom the reach-out lock does not stop.
func (s *Server) Knows(token string, phones ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.number(token)
	for _, p := range phones {
		n.known[p] = true
	}
}

// EmitMessage posts an incoming text Message from phone to the number of
// token (the contact wrote first, so it becomes known) and returns the
// webhook's status (0 when not posted).
func (s *Server) EmitMessage(token, phone, text string) (int, error) {
	s.Knows(token, phone)
	now := s.now()
	return s.emit(token, "Message", map[string]any{"type": "Message", "event": map[string]any{
		"Info": map[string]any{"Chat": phone + "@s.whatsapp.net", "Sender": phone + "@s.whatsapp.net", "IsFromMe": false,
			"IsGroup": false, "ID": "3EB0" + newID(9), "PushName": "", "Timestamp": now.Format(time.RFC3339)},
		"Message": map[string]any{"conversation": text},
	}})
}

// FlushEvents posts every webhook event due by the fake's clock (delivery
// receipts, temporary bans), in due order, to the users' webhooks, and
// returns how many fell due. An event of a user without a webhook (or not
// subscribed) still falls due: it counts in Stats, nothing is posted.
func (s *Server) FlushEvents(ctx context.Context) (int, error) {
	s.mu.Lock()
	now := s.now()
	sort.SliceStable(s.events, func(i, j int) bool {
		if !s.events[i].due.Equal(s.events[j].due) {
			return s.events[i].due.Before(s.events[j].due)
		}
		return s.events[i].seq < s.events[j].seq
	})
	k := sort.Search(len(s.events), func(i int) bool { return s.events[i].due.After(now) })
	due := append([]event(nil), s.events[:k]...)
	s.events = append(s.events[:0], s.events[k:]...)
	for _, ev := range due {
		if ev.recv {
			s.number(ev.token).stats.Delivered++
		}
	}
	s.mu.Unlock()
	for _, ev := range due {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if _, err := s.emit(ev.token, ev.typ, ev.data); err != nil {
			return 0, err
		}
	}
	return len(due), nil
}

// NextEvent is when the next webhook event falls due (false: none waits).
func (s *Server) NextEvent() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var next time.Time
	for _, ev := range s.events {
		if next.IsZero() || ev.due.Before(next) {
			next = ev.due
		}
	}
	return next, !next.IsZero()
}

// queueEvent schedules a webhook post; s.mu is held.
func (s *Server) queueEvent(due time.Time, token, typ string, data map[string]any, receipt bool) {
	s.eventSeq++
	s.events = append(s.events, event{due: due, seq: s.eventSeq, token: token, typ: typ, data: data, recv: receipt})
}

// since drops times before from and returns the rest.
func since(ts []time.Time, from time.Time) []time.Time {
	i := 0
	for i < len(ts) && !ts[i].After(from) {
		i++
	}
	return ts[i:]
}

// liftBan reconnects a number whose ban ended (whatsmeow reconnects on its
// own); s.mu is held.
func (s *Server) liftBan(u *user, now time.Time) {
	n := s.number(u.token)
	if !n.stats.BannedUntil.IsZero() && !now.Before(n.stats.BannedUntil) {
		n.stats.BannedUntil = time.Time{}
		u.state.Connected = true
	}
}

// lock starts a reach-out lock for why; s.mu is held.
func (n *number) lock(e *Enforcement, now time.Time, why string, checksInHour int) {
	d := e.LockFor
	if !n.lastLock.IsZero() && now.Sub(n.lastLock) <= 7*24*time.Hour && n.lockFor > 0 {
		d = min(2*n.lockFor, 7*24*time.Hour)
	}
	n.lockFor, n.lastLock = d, now
	n.stats.LockedUntil = now.Add(d)
	n.stats.Locks++
	day := since(n.newSends, now.Add(-24*time.Hour))
	n.stats.LockLog = append(n.stats.LockLog, LockEvent{At: now, Why: why, NewInDay: len(day),
		NewInHour: len(since(day, now.Add(-time.Hour))), NotOnWhatsApp: len(since(n.notOnWA, now.Add(-24*time.Hour))),
		ChecksInHour: checksInHour, NewSends: append([]time.Time(nil), day...)})
}

// judgeSend decides a send the session state allows: refused with the
// reach-out lock (the error text), or accepted; s.mu is held.
func (s *Server) judgeSend(u *user, phone string) string {
	e, n, now := s.enforce, s.number(u.token), s.now()
	if n.known[phone] {
		return ""
	}
	if now.Before(n.stats.LockedUntil) {
		n.stats.Refused463++
		return "error sending message: server returned error 463"
	}
	if n.messaged[phone] {
		return ""
	}
	n.newSends = since(n.newSends, now.Add(-24*time.Hour))
	n.notOnWA = since(n.notOnWA, now.Add(-24*time.Hour))
	inHour := len(since(n.newSends, now.Add(-time.Hour)))
	why := ""
	switch {
	case len(n.newSends) >= e.NewContactsPerDay:
		why = "new_contacts_per_day"
	case inHour >= e.NewContactsPerHour:
		why = "new_contacts_per_hour"
	case len(n.notOnWA) >= e.NotOnWhatsAppPerDay:
		why = "not_on_whatsapp"
	}
	if why != "" {
		n.lock(e, now, why, 0)
		n.stats.Refused463++
		return "error sending message: server returned error 463"
	}
	return ""
}

// accepted records a send that went out: new contacts, identical texts,
// the receipt to come (or none), and the ban the send brings; s.mu is held.
func (s *Server) accepted(u *user, sd Send) {
	e, n, now := s.enforce, s.number(u.token), sd.At
	n.stats.Sent++
	if n.known[sd.Phone] {
		s.queueEvent(now.Add(e.ReceiptDelay), u.token, "ReadReceipt", receiptData(sd.ID, "Delivered", now), true)
		return
	}
	first := !n.messaged[sd.Phone]
	n.messaged[sd.Phone] = true
	delivered := !s.absent[sd.Phone] && !s.spam[sd.Phone]
	if first {
		n.stats.NewContacts++
		n.newSends = append(n.newSends, now)
		if s.absent[sd.Phone] {
			n.notOnWA = append(n.notOnWA, now)
		}
		if e.SequentialRun > 0 {
			v, _ := strconv.ParseUint(sd.Phone, 10, 64)
			if n.lastNew != 0 && v == n.lastNew+1 {
				n.run++
			} else {
				n.run = 1
			}
			n.lastNew = v
			if n.run >= e.SequentialRun {
				delivered = false
			}
		}
	}
	if delivered {
		s.queueEvent(now.Add(e.ReceiptDelay), u.token, "ReadReceipt", receiptData(sd.ID, "Delivered", now), true)
	} else {
		n.stats.Undelivered++
	}
	key := sd.Body
	if sd.Media != "" {
		key = sd.Media + ":" + sd.Body
	}
	times := append(since(n.identical[key], now.Add(-time.Hour)), now)
	n.identical[key] = times
	if len(times) > e.IdenticalPerHour && now.After(n.stats.BannedUntil) {
		n.stats.Bans++
		n.stats.BanCodes = append(n.stats.BanCodes, 104)
		n.stats.BannedUntil = now.Add(e.BanFor)
		u.state.Connected = false // the server drops the socket
		s.queueEvent(now, u.token, "TemporaryBan", map[string]any{"type": "TemporaryBan",
			"event": map[string]any{"Code": 104, "Expire": e.BanFor.Nanoseconds()}}, false)
	}
}

// checked records phones looked up with /user/check; a mass lookup locks
// the number; s.mu is held.
func (s *Server) checked(u *user, phones int) {
	e, n, now := s.enforce, s.number(u.token), s.now()
	n.stats.CheckedPhones += phones
	total := phones
	kept := n.checks[:0]
	for _, c := range n.checks {
		if c.at.After(now.Add(-time.Hour)) {
			kept = append(kept, c)
			total += c.n
		}
	}
	n.checks = append(kept, timedCount{now, phones})
	if total > e.ChecksPerHour && !now.Before(n.stats.LockedUntil) {
		n.lock(e, now, "checks_per_hour", total)
	}
}

func receiptData(id, state string, at time.Time) map[string]any {
	typ := ""
	if state == "Read" {
		typ = "read"
	}
	return map[string]any{"type": "ReadReceipt", "state": state,
		"event": map[string]any{"Chat": "", "Sender": "", "IsFromMe": false, "IsGroup": false,
			"MessageIDs": []string{id}, "Timestamp": at.Format(time.RFC3339), "Type": typ, "MessageSender": ""}}
}
