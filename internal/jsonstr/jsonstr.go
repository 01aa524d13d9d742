// Package jsonstr appends strings as JSON strings, byte for byte as
// encoding/json writes them, without its reflection: for the hand-written
// encoders of hot paths (the API's answers, WuzAPI's send bodies).
package jsonstr

import "unicode/utf8"

// Append appends s quoted as encoding/json quotes a string with HTML
// escaping off (json.Encoder.SetEscapeHTML(false)): the quote, the
// backslash and control characters escaped, U+2028 and U+2029 escaped,
// each byte of invalid UTF-8 as \ufffd.
func Append(dst []byte, s string) []byte { return appendQuoted(dst, s, &plain) }

// AppendHTMLSafe appends s quoted as json.Marshal quotes a string: as
// Append, with '<', '>' and '&' as \u003c, \u003e and \u0026.
func AppendHTMLSafe(dst []byte, s string) []byte { return appendQuoted(dst, s, &plainHTMLSafe) }

const hexDigits = "0123456789abcdef"

// plain marks the ASCII bytes a quoted string holds as they are; every
// byte from utf8.RuneSelf on is looked at as part of a rune.
var plain, plainHTMLSafe = func() (p, h [256]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		p[c] = c != '"' && c != '\\'
		h[c] = p[c] && c != '<' && c != '>' && c != '&'
	}
	return p, h
}()

func appendQuoted(dst []byte, s string, plain *[256]bool) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if plain[b] {
			i++
			continue
		}
		if b < utf8.RuneSelf {
			dst = appendEscapedByte(append(dst, s[start:i]...), b)
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(append(dst, s[start:i]...), `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(append(dst, s[start:i]...), '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendEscapedByte appends the escape of an ASCII byte that is not plain.
func appendEscapedByte(dst []byte, b byte) []byte {
	switch b {
	case '\\', '"':
		return append(dst, '\\', b)
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
}
