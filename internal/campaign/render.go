package campaign

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"sort"
	"strings"
)

// Template is a parsed campaign message: text, variables {{name}},
// {{phone}}, {{anyVar}}, and spintax {a|b|c} (nestable up to
// MaxSpintaxDepth). A brace group without '|' and an unclosed brace are kept
// as literal text, so a message never fails to parse.
type Template struct {
	nodes []node
	vars  []string
	depth int
	size  int // a rendered text's usual length: its text and 16 a variable
}

type node struct {
	text    string   // literal text (when v == "" and alts == nil)
	v       string   // variable name
	alts    [][]node // spintax alternatives
	literal bool     // a braces group kept as text: "{" + alts[0] + "}"
}

// MaxSpintaxDepth is how deep brace groups may nest: {a|{b|{c|d}}} is 3.
// A deeper template is refused when a campaign is created; ParseTemplate
// keeps the braces beyond this depth as text.
const MaxSpintaxDepth = 3

// maxVarSpan bounds how far after "{{" the closing "}}" of a variable is
// looked for (a 64-character name and its padding), so each "{{" costs a
// bounded scan and a template of many "{{" parses in linear time.
const maxVarSpan = 256

// ParseTemplate parses msg in time linear in its length. Braces are matched
// like parentheses: a '{' without a later '}' to close it is text, and so
// are a '|' or '}' outside any group.
func ParseTemplate(msg string) *Template {
	toks := tokenize(msg)
	match, depth := matchBraces(toks)
	b := builder{toks: toks, match: match}
	t := &Template{nodes: b.seq(0, len(toks), 0), depth: depth}
	seen := map[string]bool{}
	var walk func([]node)
	walk = func(ns []node) {
		for _, n := range ns {
			if n.v != "" && !seen[n.v] {
				seen[n.v] = true
				t.vars = append(t.vars, n.v)
			}
			for _, a := range n.alts {
				walk(a)
			}
		}
	}
	walk(t.nodes)
	sort.Strings(t.vars)
	t.size = sizeOf(t.nodes)
	return t
}

// sizeOf is the usual length of ns rendered: its text, 16 a variable, a
// group's first alternative.
func sizeOf(ns []node) int {
	n := 0
	for _, nd := range ns {
		n += len(nd.text)
		if nd.v != "" {
			n += 16
		}
		if len(nd.alts) > 0 {
			n += 2 + sizeOf(nd.alts[0])
		}
	}
	return n
}

// Vars lists the variables the template uses, sorted.
func (t *Template) Vars() []string { return append([]string(nil), t.vars...) }

// Depth is how deep the template's brace groups nest; a template deeper
// than MaxSpintaxDepth must be refused.
func (t *Template) Depth() int { return t.depth }

type tokenKind uint8

const (
	tokText tokenKind = iota
	tokVar
	tokOpen
	tokBar
	tokClose
)

type token struct {
	kind tokenKind
	s    string // the text, or the variable's name
}

// tokenize splits msg into text runs, {{variables}} and the single
// characters '{', '|' and '}'. A "{{" that starts no variable is text.
func tokenize(msg string) []token {
	var toks []token
	start := 0 // start of the pending text run
	flush := func(end int) {
		if end > start {
			toks = append(toks, token{kind: tokText, s: msg[start:end]})
		}
	}
	for i := 0; i < len(msg); {
		c := msg[i]
		switch {
		case c == '{' && i+1 < len(msg) && msg[i+1] == '{':
			if name, n, ok := varAt(msg[i:]); ok {
				flush(i)
				toks = append(toks, token{kind: tokVar, s: name})
				i += n
				start = i
				continue
			}
			i += 2 // "{{" kept in the text run
		case c == '{' || c == '|' || c == '}':
			flush(i)
			toks = append(toks, token{kind: punctuation(c), s: msg[i : i+1]})
			i++
			start = i
		default:
			i++
		}
	}
	flush(len(msg))
	return toks
}

func punctuation(c byte) tokenKind {
	switch c {
	case '{':
		return tokOpen
	case '|':
		return tokBar
	}
	return tokClose
}

// varAt reads a variable "{{name}}" at the start of s: its name and length.
func varAt(s string) (string, int, bool) {
	window := s[2:min(len(s), 2+maxVarSpan)]
	end := strings.Index(window, "}}")
	if end < 0 {
		return "", 0, false
	}
	name := strings.TrimSpace(window[:end])
	if !validVar(name) {
		return "", 0, false
	}
	return name, 2 + end + 2, true
}

// matchBraces pairs each '{' with the '}' that closes it, like parentheses,
// in one pass. match[i] is, for an open or close token, the index of its
// partner, and for a bar, the index of the open group it is in; -1 means
// none. depth is the deepest nesting of matched groups.
func matchBraces(toks []token) (match []int, depth int) {
	match = make([]int, len(toks))
	var stack []int
	for i, tk := range toks {
		match[i] = -1
		switch tk.kind {
		case tokOpen:
			stack = append(stack, i)
		case tokBar:
			if len(stack) > 0 {
				match[i] = stack[len(stack)-1]
			}
		case tokClose:
			if len(stack) > 0 {
				o := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				match[o], match[i] = i, o
			}
		}
	}
	level := 0
	for i, tk := range toks {
		switch {
		case tk.kind == tokOpen && match[i] >= 0:
			level++
			depth = max(depth, level)
		case tk.kind == tokClose && match[i] >= 0:
			level--
		}
	}
	return match, depth
}

// builder turns matched tokens into nodes. A bar is a separator only of the
// group it belongs to, and only when that group is closed; every other
// brace token is text. Groups beyond MaxSpintaxDepth stay text, which
// bounds the recursion.
type builder struct {
	toks  []token
	match []int
}

// seq builds the nodes of toks[lo:hi] at nesting level.
func (b *builder) seq(lo, hi, level int) []node {
	var out []node
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			out = append(out, node{text: text.String()})
			text.Reset()
		}
	}
	for i := lo; i < hi; i++ {
		tk := b.toks[i]
		switch {
		case tk.kind == tokVar:
			flush()
			out = append(out, node{v: tk.s})
		case tk.kind == tokOpen && b.match[i] >= 0 && level < MaxSpintaxDepth:
			flush()
			alts := b.alternatives(i, level+1)
			out = append(out, node{alts: alts, literal: len(alts) == 1})
			i = b.match[i]
		default:
			text.WriteString(tk.s)
		}
	}
	flush()
	return out
}

// alternatives builds the group opened at toks[open], split at its own bars.
func (b *builder) alternatives(open, level int) [][]node {
	closeAt := b.match[open]
	var alts [][]node
	start := open + 1
	for j := open + 1; j < closeAt; j++ {
		switch {
		case b.toks[j].kind == tokOpen && b.match[j] >= 0:
			j = b.match[j] // a nested group's bars are its own
		case b.toks[j].kind == tokBar && b.match[j] == open:
			alts = append(alts, b.seq(start, j, level))
			start = j + 1
		}
	}
	return append(alts, b.seq(start, closeAt, level))
}

func validVar(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, r := range name {
		if !(r == '_' || r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// Recipient is what a message is rendered for.
type Recipient struct {
	Phone string
	Name  string
	Vars  map[string]string
}

// lookup returns a variable's value: name and phone are built in (a var of
// the same name overrides them only when the built-in is empty).
func (r Recipient) lookup(v string) (string, bool) {
	switch v {
	case "phone":
		return r.Phone, true
	case "name":
		if r.Name != "" {
			return r.Name, true
		}
	}
	val, ok := r.Vars[v]
	return val, ok && val != ""
}

// Render returns the text for r and the variables it lacked (rendered
// empty). Spintax choices are drawn from a generator seeded by seedKey
// (campaign id and phone), so a retry sends exactly the same text.
func (t *Template) Render(r Recipient, seedKey string) (string, []string) {
	rd := renderer{rec: &r, key: seedKey}
	return rd.run(t)
}

// RenderFor is Render(r, SeedKey(campaignID, r.Phone)), the seed made only
// when the template draws a spintax choice.
func (t *Template) RenderFor(r Recipient, campaignID string) (string, []string) {
	rd := renderer{rec: &r, campaignID: campaignID, keyLater: true}
	return rd.run(t)
}

// renderer renders one text. Its generator is made at the first spintax
// choice, so a template without one hashes no seed; the choices drawn are
// the same whenever it is made.
type renderer struct {
	rec        *Recipient
	key        string
	campaignID string
	keyLater   bool // the key is SeedKey(campaignID, rec.Phone)
	rng        *rand.Rand
	b          strings.Builder
	missing    []string
}

func (rd *renderer) run(t *Template) (string, []string) {
	rd.b.Grow(t.size)
	rd.render(t.nodes)
	return rd.b.String(), dedupe(rd.missing)
}

func (rd *renderer) render(ns []node) {
	for _, n := range ns {
		switch {
		case n.v != "":
			val, ok := rd.rec.lookup(n.v)
			if !ok {
				rd.missing = append(rd.missing, n.v)
			}
			rd.b.WriteString(val)
		case n.literal:
			rd.b.WriteByte('{')
			rd.render(n.alts[0])
			rd.b.WriteByte('}')
		case n.alts != nil:
			rd.render(n.alts[rd.draw(len(n.alts))])
		default:
			rd.b.WriteString(n.text)
		}
	}
}

// draw picks one of n alternatives.
func (rd *renderer) draw(n int) int {
	if rd.rng == nil {
		key := rd.key
		if rd.keyLater {
			key = SeedKey(rd.campaignID, rd.rec.Phone)
		}
		sum := sha256.Sum256([]byte(key))
		rd.rng = rand.New(rand.NewPCG(binary.LittleEndian.Uint64(sum[:8]), binary.LittleEndian.Uint64(sum[8:16])))
	}
	return rd.rng.IntN(n)
}

// Missing lists the variables of the template r has no value for, in any
// alternative (so the report does not depend on the spintax draw).
func (t *Template) Missing(r Recipient) []string {
	var out []string
	for _, v := range t.vars {
		if _, ok := r.lookup(v); !ok {
			out = append(out, v)
		}
	}
	return out
}

func dedupe(s []string) []string {
	if len(s) < 2 {
		return s
	}
	sort.Strings(s)
	out := s[:1]
	for _, v := range s[1:] {
		if v != out[len(out)-1] {
			out = append(out, v)
		}
	}
	return out
}

// SeedKey is the spintax seed of a recipient: campaign and phone.
func SeedKey(campaignID, phone string) string { return campaignID + ":" + phone }

// Varies reports whether the template can render different texts: it uses
// a variable or a spintax group with alternatives. A message that does not
// vary sends one identical text to everyone.
func (t *Template) Varies() bool {
	if len(t.vars) > 0 {
		return true
	}
	var walk func([]node) bool
	walk = func(ns []node) bool {
		for _, n := range ns {
			if len(n.alts) > 1 {
				return true
			}
			for _, a := range n.alts {
				if walk(a) {
					return true
				}
			}
		}
		return false
	}
	return walk(t.nodes)
}
