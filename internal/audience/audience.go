// Package audience describes which of a tenant's stored contacts a campaign
// or a preview selects, validates that description against hostile input,
// and normalises contact tags. It holds no SQL: postgres compiles an
// Audience into one parameterised query.
//
// Limits and choices:
//   - Every part of an Audience is ANDed: {"all":true} is every contact;
//     importId, tags {any, all, none}, where and excludeMessagedWithinDays
//     each narrow it. At least one of them must be given.
//   - A contact holds at most MaxTags tags of 1–MaxTagChars characters,
//     trimmed, valid UTF-8 without NUL, control characters or '|' (the tag
//     separator of CSV imports); repeats collapse, order is kept. Tags match
//     exactly (case matters).
//   - where holds at most MaxConditions conditions, each on one attribute
//     (a key of the contact's attributes) or one field (name, phone,
//     createdAt, updatedAt) with op eq, neq, in, exists, gt or lt. An
//     unknown op or field is VALIDATION_FAILED (unknown_op, unknown_field).
//     Values are scalars (string, number, boolean) of at most MaxValueChars
//     characters; in takes 1–MaxInValues of them. The grammar is flat: no
//     nesting, so a request's cost is bounded by these counts.
//   - Attributes are stored as text (a CSV cell, a number's JSON text), so
//     eq, neq and in compare text; gt and lt compare numerically when the
//     value is a number (attributes that are not numbers never match) and
//     as text (byte order) when it is a string. neq matches contacts that
//     lack the attribute too: it is the complement of eq.
package audience

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
)

// Bounds of an audience and of a contact's tags.
const (
	MaxTags          = 50
	MaxTagChars      = 64
	MaxConditions    = 20
	MaxInValues      = 100
	MaxValueChars    = 256
	MaxAttributeChar = 64
	MaxExcludeDays   = 365
	MaxSample        = 10
	TagSeparator     = "|"
)

// Op is a where operator.
type Op string

// The operators of a where condition.
const (
	Eq     Op = "eq"
	Neq    Op = "neq"
	In     Op = "in"
	Exists Op = "exists"
	Gt     Op = "gt"
	Lt     Op = "lt"
)

// Field is a contact column a condition may name instead of an attribute.
type Field string

// The fields a condition may name.
const (
	FieldName      Field = "name"
	FieldPhone     Field = "phone"
	FieldCreatedAt Field = "createdAt"
	FieldUpdatedAt Field = "updatedAt"
)

// Tags narrows by tag: Any (at least one), All (every one), None (not one).
type Tags struct {
	Any  []string `json:"any,omitempty"`
	All  []string `json:"all,omitempty"`
	None []string `json:"none,omitempty"`
}

// Condition is one where condition. Exactly one of Attribute and Field is
// set. Value is the raw JSON value; Validate fills the parsed forms.
type Condition struct {
	Attribute string          `json:"attribute,omitempty"`
	Field     Field           `json:"field,omitempty"`
	Op        Op              `json:"op"`
	Value     json.RawMessage `json:"value,omitempty"`

	// Text is the value as text (a string, or a number's or boolean's JSON
	// text); Texts the values of in; Number is set when gt/lt was given a
	// number; Time when a time field was compared.
	Text   string     `json:"-"`
	Texts  []string   `json:"-"`
	Number *float64   `json:"-"`
	Time   *time.Time `json:"-"`
}

// Audience selects a tenant's contacts; see the package comment.
type Audience struct {
	All                       bool        `json:"all,omitempty"`
	ImportID                  string      `json:"importId,omitempty"`
	Tags                      *Tags       `json:"tags,omitempty"`
	Where                     []Condition `json:"where,omitempty"`
	ExcludeMessagedWithinDays int         `json:"excludeMessagedWithinDays,omitempty"`
}

// Validate checks a against the package's rules and records each problem
// on v under field (such as "audience"). It fills the parsed values of the
// conditions, so call it before compiling.
func (a *Audience) Validate(v *errcode.Validator, field string) {
	narrows := a.ImportID != "" || a.Tags != nil || len(a.Where) > 0 || a.ExcludeMessagedWithinDays != 0
	if !a.All && !narrows {
		v.Add(field, "invalid", `audience must be {"all":true} or name importId, tags, where or excludeMessagedWithinDays`)
		return
	}
	if a.ImportID != "" {
		if _, err := uuid.Parse(a.ImportID); err != nil {
			v.Add(field+".importId", "invalid", "importId must be an import id")
		}
	}
	if a.ExcludeMessagedWithinDays < 0 || a.ExcludeMessagedWithinDays > MaxExcludeDays {
		v.Add(field+".excludeMessagedWithinDays", "out_of_range", fmt.Sprintf("excludeMessagedWithinDays must be 0 to %d", MaxExcludeDays))
	}
	if a.Tags != nil {
		lists := []struct {
			name string
			list *[]string
		}{{"any", &a.Tags.Any}, {"all", &a.Tags.All}, {"none", &a.Tags.None}}
		for _, l := range lists {
			tags, code, msg := NormalizeTags(*l.list)
			if code != "" {
				v.Add(field+".tags."+l.name, code, msg)
				continue
			}
			*l.list = tags
		}
	}
	if len(a.Where) > MaxConditions {
		v.Add(field+".where", "too_many", fmt.Sprintf("where holds at most %d conditions", MaxConditions))
		return
	}
	for i := range a.Where {
		if code, msg := a.Where[i].validate(); code != "" {
			v.Add(fmt.Sprintf("%s.where[%d]", field, i), code, msg)
		}
	}
}

func (c *Condition) validate() (code, msg string) {
	switch {
	case (c.Attribute == "") == (c.Field == ""):
		return "invalid", "a condition names exactly one of attribute and field"
	case c.Attribute != "" && (utf8.RuneCountInString(c.Attribute) > MaxAttributeChar || !validText(c.Attribute)):
		return "invalid", fmt.Sprintf("attribute must be text of at most %d characters", MaxAttributeChar)
	}
	switch c.Field {
	case "", FieldName, FieldPhone, FieldCreatedAt, FieldUpdatedAt:
	default:
		return "unknown_field", "field must be name, phone, createdAt or updatedAt"
	}
	switch c.Op {
	case Exists:
		if c.Field != "" {
			return "unknown_op", "exists applies to attributes only"
		}
		return "", ""
	case In:
		return c.parseIn()
	case Eq, Neq, Gt, Lt:
		return c.parseScalar()
	default:
		return "unknown_op", "op must be eq, neq, in, exists, gt or lt"
	}
}

func (c *Condition) parseIn() (code, msg string) {
	var raw []json.RawMessage
	if err := json.Unmarshal(c.Value, &raw); err != nil {
		return "invalid_type", "in takes an array of strings, numbers or booleans"
	}
	if len(raw) < 1 || len(raw) > MaxInValues {
		return "out_of_range", fmt.Sprintf("in takes 1 to %d values", MaxInValues)
	}
	c.Texts = make([]string, len(raw))
	for i, r := range raw {
		s, _, ok := scalar(r)
		if !ok {
			return "invalid_type", "in takes an array of strings, numbers or booleans"
		}
		if utf8.RuneCountInString(s) > MaxValueChars || !validText(s) {
			return "invalid", fmt.Sprintf("values must be text of at most %d characters", MaxValueChars)
		}
		c.Texts[i] = s
	}
	return "", ""
}

func (c *Condition) parseScalar() (code, msg string) {
	s, num, ok := scalar(c.Value)
	if !ok {
		return "invalid_type", "value must be a string, number or boolean"
	}
	if utf8.RuneCountInString(s) > MaxValueChars || !validText(s) {
		return "invalid", fmt.Sprintf("value must be text of at most %d characters", MaxValueChars)
	}
	c.Text = s
	if c.Field == FieldCreatedAt || c.Field == FieldUpdatedAt {
		at, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return "invalid", "a time field takes an RFC 3339 time"
		}
		c.Time = &at
		return "", ""
	}
	if (c.Op == Gt || c.Op == Lt) && num != nil {
		c.Number = num
	}
	return "", ""
}

// scalar reads a JSON string, number or boolean as text; num is set for a
// number.
func scalar(raw json.RawMessage) (text string, num *float64, ok bool) {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return "", nil, false
	}
	switch x := v.(type) {
	case string:
		return x, nil, true
	case float64:
		return strings.TrimSpace(string(raw)), &x, true
	case bool:
		if x {
			return "true", nil, true
		}
		return "false", nil, true
	}
	return "", nil, false
}

// NormalizeTags trims tags, drops empty ones and repeats (keeping order),
// and checks the bounds of the package comment. code is "" when the list
// is acceptable: "too_many" or "invalid_tag" otherwise.
func NormalizeTags(in []string) (tags []string, code, msg string) {
	out := make([]string, 0, len(in))
	seen := make(map[string]bool, len(in))
	for _, t := range in {
		t = strings.TrimSpace(t)
		if t == "" || seen[t] {
			continue
		}
		if !validTag(t) {
			return nil, "invalid_tag", fmt.Sprintf("a tag is 1 to %d characters of text without control characters or '|'", MaxTagChars)
		}
		seen[t] = true
		out = append(out, t)
		if len(out) > MaxTags {
			return nil, "too_many", fmt.Sprintf("at most %d tags", MaxTags)
		}
	}
	return out, "", ""
}

func validTag(t string) bool {
	if !validText(t) || utf8.RuneCountInString(t) > MaxTagChars || strings.Contains(t, TagSeparator) {
		return false
	}
	return strings.IndexFunc(t, unicode.IsControl) < 0
}

// SplitTags reads a CSV tags cell: tags separated by '|'.
func SplitTags(cell string) []string {
	if strings.TrimSpace(cell) == "" {
		return nil
	}
	return strings.Split(cell, TagSeparator)
}

func validText(s string) bool {
	return utf8.ValidString(s) && !strings.Contains(s, "\x00")
}
