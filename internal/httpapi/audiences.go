package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/wuzapi-manager/wuzapi-manager/internal/audience"
	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
)

// Bounds of PATCH /v1/contacts/{id}.
const (
	maxContactNameChars    = 256
	maxPatchAttributes     = 200
	maxAttributeKeyChars   = 256
	maxAttributeValueChars = 4096
)

type previewIn struct {
	Audience *audience.Audience `json:"audience"`
}

type previewData struct {
	Count           int           `json:"count"`
	OptedOut        int           `json:"optedOut"`
	CountIsEstimate bool          `json:"countIsEstimate"`
	Sample          []contactData `json:"sample"`
}

// previewAudience answers how many contacts an audience selects (opted-out
// ones apart) and up to ten of them, as a campaign with it would message.
// A count that could not be made exactly in time is an estimate and says
// so (countIsEstimate); a campaign always gets exactly its audience.
func (s *Server) previewAudience(w http.ResponseWriter, r *http.Request) error {
	var in previewIn
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Audience == nil {
		return errcode.Validation(errcode.Detail{Field: "audience", Code: "required", Message: "audience is required"})
	}
	var v errcode.Validator
	in.Audience.Validate(&v, "audience")
	if err := v.Err(); err != nil {
		return err
	}
	p, err := s.opts.DB.PreviewAudience(r.Context(), tenantFrom(r.Context()).ID, *in.Audience)
	if err != nil {
		return err
	}
	out := previewData{Count: p.Count, OptedOut: p.OptedOut, CountIsEstimate: p.CountIsEstimate, Sample: make([]contactData, len(p.Sample))}
	for i, c := range p.Sample {
		out.Sample[i] = contactOut(c)
	}
	writeData(w, http.StatusOK, out)
	return nil
}

type patchContactIn struct {
	Name       *string                    `json:"name"`
	Tags       *[]string                  `json:"tags"`
	Attributes map[string]json.RawMessage `json:"attributes"`
}

// patchContact changes a contact's name, tags (replaced as a whole) and
// attributes (merged key by key; null removes a key). Another tenant's
// contact is NOT_FOUND; the opt-out is never changed.
func (s *Server) patchContact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "contact")
	if err != nil {
		return err
	}
	var in patchContactIn
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	p, err := in.patch()
	if err != nil {
		return err
	}
	c, err := s.opts.DB.UpdateContact(r.Context(), tenantFrom(r.Context()).ID, id, p)
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, contactOut(c))
	return nil
}

func (in patchContactIn) patch() (postgres.ContactPatch, error) {
	var v errcode.Validator
	var p postgres.ContactPatch
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		v.Check(utf8.RuneCountInString(name) <= maxContactNameChars, "name", "too_long",
			fmt.Sprintf("name must be at most %d characters", maxContactNameChars))
		p.Name = &name
	}
	if in.Tags != nil {
		tags, code, msg := audience.NormalizeTags(*in.Tags)
		if code != "" {
			v.Add("tags", code, msg)
		}
		p.Tags = tags
	}
	if in.Attributes != nil {
		p.Attributes = patchAttributes(&v, in.Attributes)
	}
	return p, v.Err()
}

// patchAttributes reads attribute changes: a scalar is stored as text (as
// POST /v1/contacts and CSV imports store it), null removes the key.
func patchAttributes(v *errcode.Validator, in map[string]json.RawMessage) map[string]*string {
	if len(in) > maxPatchAttributes {
		v.Add("attributes", "too_many", fmt.Sprintf("at most %d attributes per request", maxPatchAttributes))
		return nil
	}
	out := make(map[string]*string, len(in))
	for k, raw := range in {
		field := "attributes." + k
		key := strings.TrimSpace(k)
		if key == "" || utf8.RuneCountInString(key) > maxAttributeKeyChars {
			v.Add(field, "invalid", fmt.Sprintf("attribute names are 1 to %d characters", maxAttributeKeyChars))
			continue
		}
		if strings.EqualFold(key, "phone") || strings.EqualFold(key, "name") || strings.EqualFold(key, "tags") {
			v.Add(field, "reserved", "phone, name and tags are not attributes")
			continue
		}
		val, ok, err := attributeValue(raw)
		switch {
		case err != nil:
			v.Add(field, "invalid_type", "attributes must be strings, numbers, booleans or null")
		case utf8.RuneCountInString(val) > maxAttributeValueChars:
			v.Add(field, "too_long", fmt.Sprintf("attribute values are at most %d characters", maxAttributeValueChars))
		case !ok:
			out[key] = nil
		default:
			out[key] = &val
		}
	}
	return out
}
