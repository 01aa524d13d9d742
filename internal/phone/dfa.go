package phone

import (
	"errors"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
)

// digitDFA is a regular expression compiled to a deterministic automaton
// over the ASCII digits, for libphonenumber's patterns: they only ever meet
// digit strings, and Go's regexp, which backtracks, spends most of a parse
// on them. Matching is one table lookup per digit.
type digitDFA struct {
	next   [][10]int32 // next[state][digit]; -1 is the dead state
	accept []bool      // the pattern matches what was read so far
}

// maxDFAStates bounds a determinised pattern; libphonenumber's largest
// need a few thousand.
const maxDFAStates = 1 << 15

// errUnsupported is a pattern the automaton cannot express (an assertion
// such as ^, $ or \b) or one too large; its region takes the slow path.
var errUnsupported = errors.New("pattern not supported by the digit automaton")

// compileDigits determinises pattern by the subset construction, reading
// only the bytes '0'..'9'.
func compileDigits(pattern string) (*digitDFA, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, err
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil, err
	}
	d := &digitDFA{}
	index := map[string]int32{}
	var queue [][]uint32
	add := func(set []uint32) (int32, error) {
		key := setKey(set)
		if id, ok := index[key]; ok {
			return id, nil
		}
		if len(d.next) >= maxDFAStates {
			return 0, errUnsupported
		}
		id := int32(len(d.next))
		index[key] = id
		d.next = append(d.next, [10]int32{})
		d.accept = append(d.accept, slices.ContainsFunc(set, func(pc uint32) bool { return prog.Inst[pc].Op == syntax.InstMatch }))
		queue = append(queue, set)
		return id, nil
	}
	start, err := closure(prog, []uint32{uint32(prog.Start)})
	if err != nil {
		return nil, err
	}
	if _, err := add(start); err != nil {
		return nil, err
	}
	for id := 0; id < len(queue); id++ {
		set := queue[id]
		for digit := range 10 {
			var targets []uint32
			for _, pc := range set {
				in := &prog.Inst[pc]
				switch in.Op {
				case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
					if in.MatchRune(rune('0' + digit)) {
						targets = append(targets, in.Out)
					}
				}
			}
			if len(targets) == 0 {
				d.next[id][digit] = -1
				continue
			}
			next, err := closure(prog, targets)
			if err != nil {
				return nil, err
			}
			if d.next[id][digit], err = add(next); err != nil {
				return nil, err
			}
		}
	}
	return d, nil
}

// closure is the sorted set of instructions that consume a byte or match,
// reachable from pcs without consuming one.
func closure(prog *syntax.Prog, pcs []uint32) ([]uint32, error) {
	seen := make(map[uint32]bool, 16)
	var out []uint32
	stack := append([]uint32(nil), pcs...)
	for len(stack) > 0 {
		pc := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[pc] {
			continue
		}
		seen[pc] = true
		in := &prog.Inst[pc]
		switch in.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			stack = append(stack, in.Out, in.Arg)
		case syntax.InstCapture, syntax.InstNop:
			stack = append(stack, in.Out)
		case syntax.InstFail:
		case syntax.InstEmptyWidth:
			return nil, errUnsupported
		default: // a rune instruction or InstMatch
			out = append(out, pc)
		}
	}
	slices.Sort(out)
	return out, nil
}

func setKey(set []uint32) string {
	var b strings.Builder
	for _, pc := range set {
		b.WriteString(strconv.FormatUint(uint64(pc), 36))
		b.WriteByte(',')
	}
	return b.String()
}

// matchesAll tells whether the pattern matches the whole of s (ASCII
// digits).
func (d *digitDFA) matchesAll(s string) bool {
	st := int32(0)
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return false
		}
		if st = d.next[st][c]; st < 0 {
			return false
		}
	}
	return d.accept[st]
}

// matchesPrefix tells whether the pattern matches some prefix of s (the
// empty one included): what a search anchored at the start finds.
func (d *digitDFA) matchesPrefix(s string) bool {
	st := int32(0)
	for i := 0; ; i++ {
		if d.accept[st] {
			return true
		}
		if i == len(s) {
			return false
		}
		c := s[i] - '0'
		if c > 9 {
			return false
		}
		if st = d.next[st][c]; st < 0 {
			return false
		}
	}
}
