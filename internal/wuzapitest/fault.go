package wuzapitest

import (
	"net"
	"net/http"
	"time"
)

// Fault is a failure of the whole server that the fake applies to the next
// sends (text and media), whichever user and phone they are for. Scripts
// (Script) still decide first for their phones.
type Fault int

// The faults a WuzAPI server shows in production.
const (
	// FaultNone: sends are answered normally.
	FaultNone Fault = iota
	// FaultServerError: WuzAPI answers 500 with its envelope and whatsmeow's
	// text "error sending message: server returned error 503": WhatsApp's
	// server refused the message, so nothing went out.
	FaultServerError
	// FaultHang: the message goes out, but WuzAPI holds its answer (whatsmeow
	// waiting for the server's ack) until the client gives up or the hang's
	// limit passes. The send is recorded as delivered with NoAnswer set
	// when the client left first.
	FaultHang
	// FaultReset: the message goes out, then the connection is reset (TCP
	// RST, as a crashed WuzAPI or a proxy dropping it) without an answer.
	// The send is recorded as delivered with NoAnswer set.
	FaultReset
)

func (f Fault) String() string {
	switch f {
	case FaultServerError:
		return "5xx"
	case FaultHang:
		return "hang"
	case FaultReset:
		return "reset"
	}
	return "none"
}

// faultText is whatsmeow's text for a message WhatsApp's server refused.
const faultText = "error sending message: server returned error 503"

// SetFault applies f to the next n sends (n ≤ 0: every send until the next
// SetFault); a hang lasts at most hangMax (0: 2 minutes). SetFault(FaultNone,
// 0) ends any fault.
func (s *Server) SetFault(f Fault, n int, hangMax time.Duration) {
	if hangMax <= 0 {
		hangMax = 2 * time.Minute
	}
	s.mu.Lock()
	s.fault, s.faultLeft, s.hangMax = f, n, hangMax
	if n <= 0 {
		s.faultLeft = -1
	}
	s.mu.Unlock()
}

// FaultsLeft returns how many sends the current fault still applies to
// (-1: until changed; 0: none).
func (s *Server) FaultsLeft() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fault == FaultNone {
		return 0
	}
	return s.faultLeft
}

// takeFault returns the fault for one send and counts it; s.mu is held.
func (s *Server) takeFault() Fault {
	if s.fault == FaultNone || s.faultLeft == 0 {
		return FaultNone
	}
	f := s.fault
	if s.faultLeft > 0 {
		s.faultLeft--
		if s.faultLeft == 0 {
			s.fault = FaultNone
		}
	}
	return f
}

// markNoAnswer records that the client never got the answer to send i.
func (s *Server) markNoAnswer(i int) {
	s.mu.Lock()
	if i >= 0 && i < len(s.sends) {
		s.sends[i].NoAnswer = true
	}
	s.mu.Unlock()
}

// hang holds a delivered send's answer until the client leaves (true) or
// limit passes (false: answer normally).
func hang(r *http.Request, limit time.Duration) bool {
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		return true
	case <-t.C:
		return false
	}
}

// reset drops the connection with a TCP RST and no answer.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("wuzapitest: the response writer cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // close sends RST instead of FIN
	}
	_ = conn.Close()
}
