package phone

import (
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// The fast path: most numbers in a contact list are digits with a little
// punctuation ("+55 11 91234-5678", "(11) 91234-5678"). For those,
// fastNormalize follows the steps of phonenumbers.Parse and IsValidNumber
// on libphonenumber's own metadata, with the patterns compiled to digit
// automata, about ten times faster. It only ever answers "valid, and these
// are the E.164 digits"; whatever it does not follow exactly — a national
// or international dialling prefix to strip, an Italian leading zero, a
// non-geographic calling code, any other character — and every number it
// finds invalid go to the library, which also names the reason.
// TestFastPathAgreesWithLibrary holds the two to the same answers.

const (
	minNSNLength = 2  // phonenumbers.MIN_LENGTH_FOR_NSN
	maxNSNLength = 17 // phonenumbers.MAX_LENGTH_FOR_NSN
	maxCCLength  = 3  // phonenumbers.MAX_LENGTH_COUNTRY_CODE
	nonGeoRegion = "001"
)

// numberDesc is a phonenumbers.PhoneNumberDesc with its pattern compiled.
type numberDesc struct {
	pattern *digitDFA
	lengths []int32 // the possible lengths; none means those of the general desc
}

// matches is libphonenumber's isNumberMatchingDesc.
func (d numberDesc) matches(nsn string) bool {
	if len(d.lengths) > 0 && !slices.Contains(d.lengths, int32(len(nsn))) {
		return false
	}
	return d.pattern.matchesAll(nsn)
}

// regionRules is what the fast path needs of one region's metadata.
type regionRules struct {
	callingCode     int
	callingCodeText string
	general         numberDesc
	generalLocal    []int32      // lengths possible only locally
	specific        []numberDesc // premium rate … voicemail, in getNumberTypeHelper's order
	fixedLine       numberDesc
	mobile          numberDesc
	sameMobileFixed bool
	idd             *digitDFA // the international (IDD) prefix
	nationalPrefix  *digitDFA // national prefix for parsing; nil when none
	leadingDigits   *digitDFA // nil when the region has none
}

var (
	metadataByRegion = sync.OnceValue(func() map[string]*phonenumbers.PhoneMetadata {
		coll, err := phonenumbers.MetadataCollection()
		if err != nil {
			return nil
		}
		m := make(map[string]*phonenumbers.PhoneMetadata, len(coll.GetMetadata()))
		for _, md := range coll.GetMetadata() {
			if id := md.GetId(); id != nonGeoRegion {
				m[id] = md
			}
		}
		return m
	})
	rulesCache sync.Map // region → *regionRules, nil when unsupported
)

// rulesFor returns the compiled rules of region, or nil when the region is
// unknown or one of its patterns is beyond the automaton.
func rulesFor(region string) *regionRules {
	if r, ok := rulesCache.Load(region); ok {
		return r.(*regionRules)
	}
	r := compileRules(metadataByRegion()[region])
	rulesCache.Store(region, r)
	return r
}

func compileRules(md *phonenumbers.PhoneMetadata) *regionRules {
	if md == nil || len(md.GetGeneralDesc().PossibleLength) == 0 {
		return nil
	}
	var failed bool
	compile := func(pattern string) *digitDFA {
		d, err := compileDigits(pattern)
		if err != nil {
			failed = true
		}
		return d
	}
	desc := func(d *phonenumbers.PhoneNumberDesc) numberDesc {
		return numberDesc{pattern: compile(d.GetNationalNumberPattern()), lengths: d.PossibleLength}
	}
	r := &regionRules{
		callingCode:     int(md.GetCountryCode()),
		callingCodeText: strconv.Itoa(int(md.GetCountryCode())),
		general:         desc(md.GetGeneralDesc()),
		generalLocal:    md.GetGeneralDesc().PossibleLengthLocalOnly,
		fixedLine:       desc(md.GetFixedLine()),
		mobile:          desc(md.GetMobile()),
		sameMobileFixed: md.GetSameMobileAndFixedLinePattern(),
		idd:             compile(md.GetInternationalPrefix()),
	}
	for _, d := range []*phonenumbers.PhoneNumberDesc{md.GetPremiumRate(), md.GetTollFree(), md.GetSharedCost(),
		md.GetVoip(), md.GetPersonalNumber(), md.GetPager(), md.GetUan(), md.GetVoicemail()} {
		r.specific = append(r.specific, desc(d))
	}
	if p := md.GetNationalPrefixForParsing(); p != "" {
		r.nationalPrefix = compile(p)
	}
	if p := md.GetLeadingDigits(); p != "" {
		r.leadingDigits = compile(p)
	}
	if failed {
		return nil
	}
	return r
}

// valid is libphonenumber's getNumberTypeHelper(nsn) != UNKNOWN.
func (r *regionRules) valid(nsn string) bool {
	if !r.general.matches(nsn) {
		return false
	}
	for _, d := range r.specific {
		if d.matches(nsn) {
			return true
		}
	}
	if r.fixedLine.matches(nsn) {
		return true
	}
	return !r.sameMobileFixed && r.mobile.matches(nsn)
}

// tooLong is testNumberLength(number, metadata, UNKNOWN) == TOO_LONG.
func (r *regionRules) tooLong(number string) bool {
	lengths := r.general.lengths
	n := int32(len(number))
	return lengths[0] != -1 && !slices.Contains(r.generalLocal, n) && n > lengths[len(lengths)-1]
}

// canonicalDigits keeps the digits of s when s is only ASCII digits,
// spaces, '-', '.', '/', '(' and ')' with at most one '+' before the first
// digit; ok is false for anything else.
func canonicalDigits(s string) (digits string, plus, ok bool) {
	var buf [32]byte
	n := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			if n == len(buf) {
				return "", false, false
			}
			buf[n] = c
			n++
		case c == '+':
			if n > 0 || plus {
				return "", false, false
			}
			plus = true
		case c == ' ', c == '-', c == '.', c == '/', c == '(', c == ')':
		default:
			return "", false, false
		}
	}
	return string(buf[:n]), plus, true
}

// fastNormalize returns the E.164 digits of s read in defaultRegion, with
// ok true only when the number is valid and every step was one it follows
// exactly (see the comment at the top of this file).
func fastNormalize(s, defaultRegion string) (e164 string, ok bool) {
	if len(s) > maxInput { // the library refuses over 250 characters
		return "", false
	}
	digits, plus, ok := canonicalDigits(s)
	if !ok || len(digits) <= minNSNLength {
		return "", false
	}
	var callingCode int
	var national string
	var rules *regionRules // whose national prefix applies
	if plus {
		// extractCountryCode: the shortest known calling code.
		if digits[0] == '0' {
			return "", false
		}
		for i := 1; i <= maxCCLength && i <= len(digits); i++ {
			cc, _ := strconv.Atoi(digits[:i])
			if len(phonenumbers.GetRegionCodesForCountryCode(cc)) > 0 {
				callingCode, national = cc, digits[i:]
				break
			}
		}
		if callingCode == 0 {
			return "", false
		}
		rules = rulesFor(phonenumbers.GetRegionCodeForCountryCode(callingCode))
	} else {
		def := rulesFor(defaultRegion)
		if def == nil || def.idd.matchesPrefix(digits) {
			return "", false
		}
		callingCode, national, rules = def.callingCode, digits, def
		// A national number may start with the region's own calling code
		// ("5511…" in BR): maybeExtractCountryCode keeps it stripped when
		// the rest fits the region better.
		if rest, found := strings.CutPrefix(digits, def.callingCodeText); found {
			if def.nationalPrefix != nil && def.nationalPrefix.matchesPrefix(rest) {
				return "", false
			}
			if (!def.general.pattern.matchesAll(digits) && def.general.pattern.matchesAll(rest)) || def.tooLong(digits) {
				national = rest
				rules = rulesFor(phonenumbers.GetRegionCodeForCountryCode(callingCode))
			}
		}
	}
	if rules == nil || len(national) < minNSNLength || len(national) > maxNSNLength || national[0] == '0' {
		return "", false
	}
	if rules.nationalPrefix != nil && rules.nationalPrefix.matchesPrefix(national) {
		return "", false
	}
	region, ok := numberRegion(callingCode, national)
	if !ok {
		return "", false
	}
	if r := rulesFor(region); r == nil || r.callingCode != callingCode || !r.valid(national) {
		return "", false
	}
	return strconv.Itoa(callingCode) + national, true
}

// numberRegion is GetRegionCodeForNumber: the one region of the calling
// code, or the first of its regions whose leading digits (or, lacking
// those, whose patterns) fit the number.
func numberRegion(callingCode int, nsn string) (string, bool) {
	regions := phonenumbers.GetRegionCodesForCountryCode(callingCode)
	if len(regions) == 1 {
		return regions[0], true
	}
	for _, rc := range regions {
		r := rulesFor(rc)
		switch {
		case r == nil:
			return "", false
		case r.leadingDigits != nil:
			if r.leadingDigits.matchesPrefix(nsn) {
				return rc, true
			}
		case r.valid(nsn):
			return rc, true
		}
	}
	return "", false
}
