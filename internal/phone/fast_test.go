package phone

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
	"github.com/wuzapi-manager/wuzapi-manager/internal/importer/csvgen"
)

// TestFastPathAgreesWithLibrary: wherever fastNormalize answers, the
// library gives the same digits. The inputs are every region's example
// numbers of every type, written in the ways lists write them, with digits
// changed, dropped and added, read in their own region and in others, plus
// random digit strings.
func TestFastPathAgreesWithLibrary(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	regions := make([]string, 0, 256)
	for r := range phonenumbers.GetSupportedRegions() {
		regions = append(regions, r)
	}
	slices.Sort(regions)
	types := []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE,
		phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST, phonenumbers.VOIP, phonenumbers.PERSONAL_NUMBER,
		phonenumbers.PAGER, phonenumbers.UAN, phonenumbers.VOICEMAIL}
	var checked, valid, fast int
	check := func(raw, region string) {
		checked++
		want, code, _ := parse(raw, region)
		if code == "" {
			valid++
		}
		got, ok := fastNormalize(raw, region)
		if !ok {
			return
		}
		fast++
		if got != want || code != "" {
			t.Errorf("fastNormalize(%q, %q) = %q; the library says %q (%q)", raw, region, got, want, code)
		}
	}
	mutate := func(nsn string) []string {
		out := []string{nsn, nsn[:len(nsn)-1], nsn + strconv.Itoa(rng.IntN(10))}
		for range 3 {
			b := []byte(nsn)
			b[rng.IntN(len(b))] = byte('0' + rng.IntN(10))
			out = append(out, string(b))
		}
		return out
	}
	for _, region := range regions {
		for _, typ := range types {
			ex := phonenumbers.GetExampleNumberForType(region, typ)
			if ex == nil {
				continue
			}
			cc := strconv.Itoa(int(ex.GetCountryCode()))
			for _, nsn := range mutate(phonenumbers.GetNationalSignificantNumber(ex)) {
				if nsn == "" {
					continue
				}
				others := []string{region, regions[rng.IntN(len(regions))]}
				for _, other := range others {
					check("+"+cc+nsn, other)
					check("+"+cc+" "+nsn, other)
					check(cc+nsn, other)
					check(nsn, other)
					check("0"+nsn, other)
					check("("+nsn[:min(2, len(nsn))]+") "+nsn[min(2, len(nsn)):], other)
				}
				if n, err := phonenumbers.Parse("+"+cc+nsn, region); err == nil {
					check(phonenumbers.Format(n, phonenumbers.INTERNATIONAL), region)
					check(phonenumbers.Format(n, phonenumbers.NATIONAL), region)
				}
			}
		}
	}
	for range 20000 {
		n := 3 + rng.IntN(16)
		var b strings.Builder
		if rng.IntN(2) == 0 {
			b.WriteByte('+')
		}
		for range n {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		check(b.String(), regions[rng.IntN(len(regions))])
	}
	t.Logf("%d inputs, %d valid, %d answered by the fast path", checked, valid, fast)
	if fast < valid/2 {
		t.Fatalf("the fast path answered only %d of the %d valid inputs", fast, valid)
	}
}

// TestFastPathTakesGeneratedRows: the generator's formats, the ones a
// benchmark measures, all go the fast way.
func TestFastPathTakesGeneratedRows(t *testing.T) {
	t.Parallel()
	for n := range 1000 {
		if n%100 == 99 {
			continue // the generator's invalid rows
		}
		row := string(csvgen.Row(nil, n))
		raw, _, _ := strings.Cut(row, ",")
		if _, ok := fastNormalize(raw, "BR"); !ok {
			t.Fatalf("row %d phone %q took the slow path", n, raw)
		}
	}
}

// FuzzFastPath: on any input, an answer of the fast path is the library's.
func FuzzFastPath(f *testing.F) {
	for _, seed := range []string{"+55 11 91234-5678", "(11) 91234-5678", "5511912345678", "011 91234 5678", "+1 202 456 1111", "+44 7400 123456", "+39 06 1234 5678", "+800 1234 5678"} {
		f.Add(seed, "BR")
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		got, ok := fastNormalize(raw, region)
		if !ok {
			return
		}
		if want, code, _ := parse(raw, region); got != want || code != "" {
			t.Fatalf("fastNormalize(%q, %q) = %q; the library says %q (%q)", raw, region, got, want, code)
		}
	})
}
