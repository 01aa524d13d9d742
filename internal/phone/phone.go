// Package phone normalises phone numbers to E.164 digits without the leading
// '+' ("5511999998888"), the form WuzAPI and the contacts table expect.
//
// Numbers are checked with libphonenumber's metadata (nyaruka/phonenumbers):
// a number must be valid for its region, not merely the right length. A
// number written without a country calling code takes the default country's.
package phone

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// The codes Normalize reports, as used in API `details` and rejected rows.
const (
	CodeInvalidPhone   = "invalid_phone"   // not a phone number, or not a valid one for its region
	CodeTooShort       = "too_short"       // too few digits for any number of its region
	CodeTooLong        = "too_long"        // too many digits for any number of its region
	CodeInvalidCountry = "invalid_country" // no known country calling code / default country
)

// ErrInvalid is wrapped by every error Normalize returns.
var ErrInvalid = errors.New("invalid phone number")

// Normalize returns raw as E.164 digits without '+', or a code saying why it
// is not a usable number. defaultCountry is an ISO 3166 alpha-2 region such
// as "BR", applied when raw carries no '+' or international prefix.
func Normalize(raw, defaultCountry string) (digits string, code string, err error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", CodeInvalidPhone, fmt.Errorf("%w: empty", ErrInvalid)
	}
	// "00" international prefix and digits-only numbers that already carry
	// the default country's calling code are handled by the parser.
	num, perr := phonenumbers.Parse(s, strings.ToUpper(defaultCountry))
	if perr != nil {
		switch {
		case errors.Is(perr, phonenumbers.ErrInvalidCountryCode):
			return "", CodeInvalidCountry, fmt.Errorf("%w: %q: unknown country calling code", ErrInvalid, raw)
		case errors.Is(perr, phonenumbers.ErrTooShortNSN), errors.Is(perr, phonenumbers.ErrTooShortAfterIDD):
			return "", CodeTooShort, fmt.Errorf("%w: %q: too short", ErrInvalid, raw)
		case errors.Is(perr, phonenumbers.ErrNumTooLong):
			return "", CodeTooLong, fmt.Errorf("%w: %q: too long", ErrInvalid, raw)
		default:
			return "", CodeInvalidPhone, fmt.Errorf("%w: %q: %v", ErrInvalid, raw, perr)
		}
	}
	switch phonenumbers.IsPossibleNumberWithReason(num) {
	case phonenumbers.TOO_SHORT:
		return "", CodeTooShort, fmt.Errorf("%w: %q: too short", ErrInvalid, raw)
	case phonenumbers.TOO_LONG:
		return "", CodeTooLong, fmt.Errorf("%w: %q: too long", ErrInvalid, raw)
	case phonenumbers.INVALID_COUNTRY_CODE:
		return "", CodeInvalidCountry, fmt.Errorf("%w: %q: unknown country calling code", ErrInvalid, raw)
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", CodeInvalidPhone, fmt.Errorf("%w: %q: not a valid number", ErrInvalid, raw)
	}
	return strings.TrimPrefix(phonenumbers.Format(num, phonenumbers.E164), "+"), "", nil
}
