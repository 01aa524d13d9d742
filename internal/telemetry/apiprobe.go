package telemetry

import (
	"bytes"
	"encoding/json"
	"strings"
)

// apiProbe is the part of an API Gateway v2 event the invocation span
// needs.
type apiProbe struct {
	RawPath string            `json:"rawPath"`
	Headers map[string]string `json:"headers"`
}

// probeAPIEvent reads rawPath and headers from an API Gateway v2 event
// without decoding the rest. The runtime decodes the whole event once more
// for the handler; decoding it here too cost encoding/json's ~200 MB/s over
// the body, 28 ms for the 7 MB of a 100,000-recipient campaign. The scan
// stops once it has both keys, which API Gateway (and the local platform)
// write before the body and only once; values before them are skipped —
// strings by searching for their closing quote — and only the two wanted
// are decoded. A payload it cannot follow goes to encoding/json, which then
// has the last word.
func probeAPIEvent(payload []byte) (apiProbe, bool) {
	var p apiProbe
	var path, headers bool
	if scanTopLevel(payload, func(key string, value []byte) visit {
		switch {
		case strings.EqualFold(key, "rawPath"): // encoding/json's key matching
			if json.Unmarshal(value, &p.RawPath) != nil {
				return visitFail
			}
			path = true
		case strings.EqualFold(key, "headers"):
			if json.Unmarshal(value, &p.Headers) != nil {
				return visitFail
			}
			headers = true
		}
		if path && headers {
			return visitStop
		}
		return visitNext
	}) {
		return p, true
	}
	p = apiProbe{}
	return p, json.Unmarshal(payload, &p) == nil
}

// visit is what scanTopLevel does after a key.
type visit int

const (
	visitNext visit = iota // go on to the next key
	visitStop              // done: the rest is not read
	visitFail              // the value is not what was wanted
)

// scanTopLevel calls see with every key of the JSON object in data and
// its raw value, in order, until see stops or fails. It reports whether
// data was an object it could follow to its end or to a stop; it does not
// follow a key written with escapes.
func scanTopLevel(data []byte, see func(key string, value []byte) visit) bool {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return skipSpace(data, i+1) == len(data)
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return false
		}
		end := stringEnd(data, i)
		if end < 0 {
			return false
		}
		key := data[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			return false // an escaped key: encoding/json's to read
		}
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return false
		}
		i = skipSpace(data, i+1)
		vend := valueEnd(data, i)
		if vend < 0 {
			return false
		}
		switch see(string(key), data[i:vend]) {
		case visitStop:
			return true
		case visitFail:
			return false
		}
		i = skipSpace(data, vend)
		if i >= len(data) {
			return false
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return skipSpace(data, i+1) == len(data)
		default:
			return false
		}
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// stringEnd is the index just past the string that opens at data[i], or -1.
// A quote closes the string unless an odd run of backslashes precedes it.
func stringEnd(data []byte, i int) int {
	for j := i + 1; ; {
		k := bytes.IndexByte(data[j:], '"')
		if k < 0 {
			return -1
		}
		q := j + k
		backslashes := 0
		for b := q - 1; b > i && data[b] == '\\'; b-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return q + 1
		}
		j = q + 1
	}
}

// valueEnd is the index just past the JSON value that starts at data[i],
// or -1. Objects and arrays are followed by depth, their strings skipped
// whole; the values inside are not checked (the decoder of the one value
// wanted checks it).
func valueEnd(data []byte, i int) int {
	if i >= len(data) {
		return -1
	}
	switch data[i] {
	case '"':
		return stringEnd(data, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(data); j++ {
			switch data[j] {
			case '"':
				end := stringEnd(data, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i // a number, true, false or null
	for j < len(data) && !endsScalar(data[j]) {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

func endsScalar(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\r', '\n':
		return true
	}
	return false
}
