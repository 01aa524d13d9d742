package apigw

import (
	"errors"
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// scanner reads one JSON document in place, for the event decoder: what
// it accepts and the values it yields are encoding/json's (strings
// unescaped, invalid UTF-8 and lone surrogates turned into U+FFFD), but it
// reflects on nothing, and the strings it returns are slices of one copy
// of the document (src) unless they hold an escape.
type scanner struct {
	b     []byte
	src   string // b as a string, made once: the strings str returns are its slices
	i     int
	depth int
}

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

var errSyntax = errors.New("invalid JSON")

func (s *scanner) fail(what string) error {
	return fmt.Errorf("decode API Gateway event: %s at offset %d: %w", what, s.i, errSyntax)
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek is the next byte after white space; 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// literal consumes word (true, false, null) or fails.
func (s *scanner) literal(word string) error {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return s.fail("invalid literal")
	}
	s.i += len(word)
	return nil
}

// null consumes a null if one is next.
func (s *scanner) null() (bool, error) {
	if s.peek() != 'n' {
		return false, nil
	}
	return true, s.literal("null")
}

// object reads an object member by member, calling member with each
// unescaped key (valid only during the call) with the scanner at its
// value, which member must consume.
func (s *scanner) object(member func(key []byte) error) error {
	if s.peek() != '{' {
		return s.fail("want an object")
	}
	if s.depth++; s.depth > maxDepth {
		return s.fail("nested too deep")
	}
	s.i++
	if s.peek() == '}' {
		s.i++
		s.depth--
		return nil
	}
	for {
		if s.peek() != '"' {
			return s.fail("want a member name")
		}
		key, err := s.rawString()
		if err != nil {
			return err
		}
		if s.peek() != ':' {
			return s.fail("want a colon")
		}
		s.i++
		s.ws()
		if err := member(key); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			s.depth--
			return nil
		default:
			return s.fail("want a comma or the object's end")
		}
	}
}

// array reads an array element by element, calling elem with the scanner
// at each element, which elem must consume.
func (s *scanner) array(elem func() error) error {
	if s.peek() != '[' {
		return s.fail("want an array")
	}
	if s.depth++; s.depth > maxDepth {
		return s.fail("nested too deep")
	}
	s.i++
	if s.peek() == ']' {
		s.i++
		s.depth--
		return nil
	}
	for {
		s.ws()
		if err := elem(); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			s.depth--
			return nil
		default:
			return s.fail("want a comma or the array's end")
		}
	}
}

// str reads a string (ok) or a null (!ok, as encoding/json leaves the
// field alone).
func (s *scanner) str() (string, bool, error) {
	if null, err := s.null(); null || err != nil {
		return "", false, err
	}
	if s.peek() != '"' {
		return "", false, s.fail("want a string")
	}
	b, err := s.rawString()
	return s.string(b), err == nil, err
}

// string is b as a string: a slice of src when b is a slice of the
// document (a string without escapes), a copy otherwise.
func (s *scanner) string(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	// A slice of s.b starting at off has off bytes less capacity.
	if off := cap(s.b) - cap(b); off >= 0 && off+len(b) <= len(s.src) && &s.b[off] == &b[0] {
		return s.src[off : off+len(b)]
	}
	return string(b)
}

// boolean reads true, false or null (!ok).
func (s *scanner) boolean() (bool, bool, error) {
	switch s.peek() {
	case 't':
		return true, true, s.literal("true")
	case 'f':
		return false, true, s.literal("false")
	case 'n':
		return false, false, s.literal("null")
	}
	return false, false, s.fail("want a boolean")
}

// int64 reads an integer number or null (!ok).
func (s *scanner) int64() (int64, bool, error) {
	if null, err := s.null(); null || err != nil {
		return 0, false, err
	}
	start := s.i
	if err := s.number(); err != nil {
		return 0, false, err
	}
	n, err := strconv.ParseInt(string(s.b[start:s.i]), 10, 64)
	if err != nil {
		return 0, false, s.fail("want an integer")
	}
	return n, true, nil
}

// number consumes a number as JSON's grammar has it.
func (s *scanner) number() error {
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case digits() == 0:
		return s.fail("invalid number")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return s.fail("invalid number")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return s.fail("invalid number")
		}
	}
	return nil
}

// skip consumes any value.
func (s *scanner) skip() error {
	switch c := s.peek(); {
	case c == '{':
		return s.object(func([]byte) error { return s.skip() })
	case c == '[':
		return s.array(s.skip)
	case c == '"':
		_, err := s.rawString()
		return err
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	}
	return s.fail("want a value")
}

// rawString reads the string at s.i and returns its unescaped bytes: a
// slice of the input when it holds no escape and only valid UTF-8, else a
// new slice.
func (s *scanner) rawString() ([]byte, error) {
	s.i++ // the opening quote
	start := s.i
	for s.i < len(s.b) {
		// Most bytes of a string are plain: step over them a table look-up
		// each, where the switch below tests each byte three times.
		for s.i < len(s.b) && plainByte[s.b[s.i]] {
			s.i++
		}
		if s.i == len(s.b) {
			break
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], nil
		case c == '\\' || c < ' ':
			return s.unescape(start)
		case c < utf8.RuneSelf:
			s.i++
		default:
			r, n := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && n == 1 {
				return s.unescape(start)
			}
			s.i += n
		}
	}
	return nil, s.fail("unterminated string")
}

// plainByte marks the bytes a string holds as they are: ASCII from the
// space on, but for the quote and the backslash.
var plainByte = func() (t [256]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// unescape finishes the string begun at start, at its first escape,
// control character or invalid UTF-8 byte (s.i).
func (s *scanner) unescape(start int) ([]byte, error) {
	out := make([]byte, 0, s.i-start+32)
	out = append(out, s.b[start:s.i]...)
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return out, nil
		case c < ' ':
			return nil, s.fail("control character in string")
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return nil, s.fail("unterminated string")
			}
			esc := s.b[s.i+1]
			s.i += 2
			switch esc {
			case '"', '\\', '/':
				out = append(out, esc)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r := s.hex4()
				if r < 0 {
					return nil, s.fail("invalid \\u escape")
				}
				if utf16.IsSurrogate(r) {
					// A pair's second half follows, or the rune is invalid.
					if s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
						save := s.i
						s.i += 2
						r2 := s.hex4()
						if r2 < 0 {
							return nil, s.fail("invalid \\u escape")
						}
						if dec := utf16.DecodeRune(r, r2); dec != unicode.ReplacementChar {
							out = utf8.AppendRune(out, dec)
							continue
						}
						s.i = save // not a pair: read the second escape on its own
					}
					r = unicode.ReplacementChar
				}
				out = utf8.AppendRune(out, r)
			default:
				return nil, s.fail("invalid escape")
			}
		case c < utf8.RuneSelf:
			out = append(out, c)
			s.i++
		default:
			r, n := utf8.DecodeRune(s.b[s.i:])
			out = utf8.AppendRune(out, r) // invalid UTF-8: U+FFFD
			s.i += n
		}
	}
	return nil, s.fail("unterminated string")
}

// hex4 reads the four hex digits of a \u escape; -1 if they are not.
func (s *scanner) hex4() rune {
	if len(s.b)-s.i < 4 {
		return -1
	}
	var r rune
	for _, c := range s.b[s.i : s.i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	s.i += 4
	return r
}

// end checks that only white space follows the document.
func (s *scanner) end() error {
	if s.peek() != 0 || s.i < len(s.b) {
		return s.fail("data after the event")
	}
	return nil
}

// foldKey is key as encoding/json compares member names that are not an
// exact match: ASCII upper-cased, other runes simple-folded to their
// smallest form.
func foldKey(key []byte) string {
	out := make([]byte, 0, len(key))
	for i := 0; i < len(key); {
		if c := key[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(key[i:])
		for {
			r2 := unicode.SimpleFold(r)
			if r2 <= r {
				r = r2
				break
			}
			r = r2
		}
		out = utf8.AppendRune(out, r)
		i += n
	}
	return string(out)
}
