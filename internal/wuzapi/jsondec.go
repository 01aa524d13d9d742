package wuzapi

import "time"

// sentAnswer is the data of WuzAPI's answer to a send.
type sentAnswer struct {
	Details   string   `json:"Details"`
	ID        string   `json:"Id"`
	Timestamp flexTime `json:"Timestamp"`
}

// fastAnswer is an answer's data that can read the usual successful
// envelope itself, without encoding/json's reflection: decodeEnvelope
// reports false, changing nothing, for anything but that envelope, which
// encoding/json then reads.
type fastAnswer interface {
	decodeEnvelope(raw []byte) bool
}

// decodeEnvelope reads {"code":200,"data":{"Details":"Sent","Id":"…",
// "Timestamp":1716400000},"success":true} in any key order: exactly
// these keys, each once (Details, Id and Timestamp may be absent), strings
// of printable ASCII without escapes, the code and timestamp integers of
// at most 15 digits, success true. What it accepts encoding/json reads
// the same (FuzzSentAnswer).
func (s *sentAnswer) decodeEnvelope(raw []byte) bool {
	d := scanner{b: raw}
	var out sentAnswer
	var seenCode, seenData, seenSuccess bool
	ok := d.object(func(key []byte) bool {
		switch {
		case string(key) == "code" && !seenCode:
			seenCode = true
			_, ok := d.integer()
			return ok
		case string(key) == "success" && !seenSuccess:
			seenSuccess = true
			return d.literal("true")
		case string(key) == "data" && !seenData:
			seenData = true
			return out.decodeData(&d)
		}
		return false
	})
	if !ok || !seenData || !seenSuccess || !d.end() {
		return false
	}
	*s = out
	return true
}

func (s *sentAnswer) decodeData(d *scanner) bool {
	var seenDetails, seenID, seenTime bool
	return d.object(func(key []byte) bool {
		var ok bool
		switch {
		case string(key) == "Details" && !seenDetails:
			seenDetails = true
			s.Details, ok = d.plainString()
		case string(key) == "Id" && !seenID:
			seenID = true
			s.ID, ok = d.plainString()
		case string(key) == "Timestamp" && !seenTime:
			seenTime = true
			var n int64
			n, ok = d.integer()
			s.Timestamp = flexTime{time.Unix(n, 0).UTC()}
		}
		return ok
	})
}

// scanner reads the small subset of JSON decodeEnvelope accepts.
type scanner struct {
	b []byte
	i int
}

func (d *scanner) space() {
	for d.i < len(d.b) && (d.b[d.i] == ' ' || d.b[d.i] == '\t' || d.b[d.i] == '\n' || d.b[d.i] == '\r') {
		d.i++
	}
}

func (d *scanner) byte(c byte) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// end: nothing but white space is left.
func (d *scanner) end() bool {
	d.space()
	return d.i == len(d.b)
}

// object reads an object, handing each key to value, which reads the
// key's value; false when value does or the object is not well formed.
// The key's bytes are the answer's, valid during the call.
func (d *scanner) object(value func(key []byte) bool) bool {
	if !d.byte('{') {
		return false
	}
	if d.byte('}') {
		return true
	}
	for {
		d.space()
		key, ok := d.plainBytes()
		if !ok || !d.byte(':') {
			return false
		}
		d.space()
		if !value(key) {
			return false
		}
		if d.byte('}') {
			return true
		}
		if !d.byte(',') {
			return false
		}
	}
}

// plainString reads a string of printable ASCII without escapes.
func (d *scanner) plainString() (string, bool) {
	b, ok := d.plainBytes()
	if !ok {
		return "", false
	}
	return string(b), true
}

// plainBytes is plainString's bytes, not copied.
func (d *scanner) plainBytes() ([]byte, bool) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return nil, false
	}
	for j := d.i + 1; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			b := d.b[d.i+1 : j]
			d.i = j + 1
			return b, true
		case c < 0x20 || c > 0x7e || c == '\\':
			return nil, false
		}
	}
	return nil, false
}

// integer reads a non-negative integer of at most 15 digits (exact as a
// float64, as encoding/json reads the timestamp).
func (d *scanner) integer() (int64, bool) {
	j := d.i
	var n int64
	for j < len(d.b) && d.b[j] >= '0' && d.b[j] <= '9' && j-d.i < 16 {
		n = n*10 + int64(d.b[j]-'0')
		j++
	}
	digits := j - d.i
	if digits == 0 || digits > 15 || (digits > 1 && d.b[d.i] == '0') {
		return 0, false
	}
	if j < len(d.b) && (d.b[j] == '.' || d.b[j] == 'e' || d.b[j] == 'E' || d.b[j] >= '0' && d.b[j] <= '9') {
		return 0, false
	}
	d.i = j
	return n, true
}

// literal reads lit (true, false, null).
func (d *scanner) literal(lit string) bool {
	if len(d.b)-d.i < len(lit) || string(d.b[d.i:d.i+len(lit)]) != lit {
		return false
	}
	d.i += len(lit)
	return true
}
