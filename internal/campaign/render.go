package campaign

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"sort"
	"strings"
)

// Template is a parsed campaign message: text, variables {{name}},
// {{phone}}, {{anyVar}}, and spintax {a|b|c} (nestable). A brace group
// without '|' and an unclosed brace are kept as literal text, so a message
// never fails to parse.
type Template struct {
	nodes []node
	vars  []string
}

type node struct {
	text    string   // literal text (when v == "" and alts == nil)
	v       string   // variable name
	alts    [][]node // spintax alternatives
	literal bool     // a braces group kept as text: "{" + alts[0] + "}"
}

// ParseTemplate parses msg.
func ParseTemplate(msg string) *Template {
	p := parser{s: msg}
	t := &Template{nodes: p.seq(0)}
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
	return t
}

// Vars lists the variables the template uses, sorted.
func (t *Template) Vars() []string { return append([]string(nil), t.vars...) }

type parser struct {
	s string
	i int
}

// seq parses nodes until the end, or (depth > 0) until an unconsumed '|' or '}'.
func (p *parser) seq(depth int) []node {
	var out []node
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			out = append(out, node{text: text.String()})
			text.Reset()
		}
	}
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case strings.HasPrefix(p.s[p.i:], "{{"):
			if end := strings.Index(p.s[p.i+2:], "}}"); end >= 0 {
				name := strings.TrimSpace(p.s[p.i+2 : p.i+2+end])
				if validVar(name) {
					flush()
					out = append(out, node{v: name})
					p.i += 2 + end + 2
					continue
				}
			}
			text.WriteString("{{")
			p.i += 2
		case c == '{':
			start := p.i
			p.i++
			var alts [][]node
			closed := false
			for {
				alts = append(alts, p.seq(depth+1))
				if p.i >= len(p.s) {
					break
				}
				if p.s[p.i] == '|' {
					p.i++
					continue
				}
				p.i++ // '}'
				closed = true
				break
			}
			if !closed {
				// Unclosed: the brace is text; parse on from after it.
				p.i = start + 1
				text.WriteByte('{')
				continue
			}
			flush()
			out = append(out, node{alts: alts, literal: len(alts) == 1})
		case depth > 0 && (c == '|' || c == '}'):
			flush()
			return out
		default:
			text.WriteByte(c)
			p.i++
		}
	}
	flush()
	return out
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
	sum := sha256.Sum256([]byte(seedKey))
	rng := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(sum[:8]), binary.LittleEndian.Uint64(sum[8:16])))
	var b strings.Builder
	var missing []string
	var render func([]node)
	render = func(ns []node) {
		for _, n := range ns {
			switch {
			case n.v != "":
				val, ok := r.lookup(n.v)
				if !ok {
					missing = append(missing, n.v)
				}
				b.WriteString(val)
			case n.literal:
				b.WriteByte('{')
				render(n.alts[0])
				b.WriteByte('}')
			case n.alts != nil:
				render(n.alts[rng.IntN(len(n.alts))])
			default:
				b.WriteString(n.text)
			}
		}
	}
	render(t.nodes)
	return b.String(), dedupe(missing)
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
