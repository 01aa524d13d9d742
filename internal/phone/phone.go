// Package phone normalises phone numbers to E.164 digits (no '+') with
// libphonenumber's metadata (github.com/nyaruka/phonenumbers).
//
// A number is accepted only when libphonenumber calls it valid for its
// region, not merely possible: a campaign to a number that cannot exist
// costs a send and risks the sender's reputation. Extensions are dropped.
package phone

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Reason codes returned by Normalize, used as `code` in API answers and as
// the `reason` column of an import's rejected rows.
const (
	CodeEmpty              = "empty"
	CodeNotANumber         = "not_a_number"
	CodeInvalidCountryCode = "invalid_country_code"
	CodeTooShort           = "too_short"
	CodeTooLong            = "too_long"
	CodeInvalid            = "invalid_number"
)

// ErrInvalid is wrapped by every error Normalize returns.
var ErrInvalid = errors.New("invalid phone number")

// maxInput bounds the text handed to libphonenumber (which already refuses
// more than 250 characters) so that a huge CSV field costs nothing.
const maxInput = 64

// Normalize parses raw, reading a number without an international prefix as
// one of defaultCountry (ISO 3166 alpha-2, e.g. "BR"), and returns its E.164
// digits without '+'. On failure digits is "", code is one of the Code
// constants and err wraps ErrInvalid.
func Normalize(raw, defaultCountry string) (digits string, code string, err error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", CodeEmpty, fmt.Errorf("%w: empty", ErrInvalid)
	}
	if len(s) > maxInput {
		return "", CodeTooLong, fmt.Errorf("%w: longer than %d characters", ErrInvalid, maxInput)
	}
	// "00" and "+" both announce an international number; libphonenumber only
	// knows a region's own IDD, so "0055..." would be read as national in BR.
	if strings.HasPrefix(s, "00") {
		s = "+" + s[2:]
	}
	region := strings.ToUpper(strings.TrimSpace(defaultCountry))
	if region == "" {
		region = "ZZ" // unknown region: only international numbers parse
	}
	if digits, ok := fastNormalize(s, region); ok {
		return digits, "", nil
	}
	return parse(s, region)
}

// parse is Normalize by the library alone, for what fastNormalize leaves.
func parse(s, region string) (digits string, code string, err error) {
	num, perr := phonenumbers.Parse(s, region)
	if perr != nil {
		return "", parseCode(perr), fmt.Errorf("%w: %v", ErrInvalid, perr)
	}
	if !phonenumbers.IsValidNumber(num) {
		c := CodeInvalid
		switch phonenumbers.IsPossibleNumberWithReason(num) {
		case phonenumbers.TOO_SHORT:
			c = CodeTooShort
		case phonenumbers.TOO_LONG:
			c = CodeTooLong
		case phonenumbers.INVALID_COUNTRY_CODE:
			c = CodeInvalidCountryCode
		}
		return "", c, fmt.Errorf("%w: %s is not a valid number", ErrInvalid, c)
	}
	return strings.TrimPrefix(phonenumbers.Format(num, phonenumbers.E164), "+"), "", nil
}

func parseCode(err error) string {
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		return CodeInvalidCountryCode
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return CodeTooShort
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return CodeTooLong
	default:
		return CodeNotANumber
	}
}
