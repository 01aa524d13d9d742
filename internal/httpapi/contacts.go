package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/wuzapi-manager/wuzapi-manager/internal/audience"
	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/importer"
	"github.com/wuzapi-manager/wuzapi-manager/internal/phone"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
)

// MaxContactsPerRequest bounds POST /v1/contacts.
const MaxContactsPerRequest = 1000

type contactData struct {
	ID         string         `json:"id"`
	Phone      string         `json:"phone"`
	Name       string         `json:"name"`
	Attributes map[string]any `json:"attributes"`
	Tags       []string       `json:"tags"`
	OptedOutAt *time.Time     `json:"optedOutAt"`
	CreatedAt  time.Time      `json:"createdAt"`
	UpdatedAt  time.Time      `json:"updatedAt"`
}

func contactOut(c postgres.Contact) contactData {
	tags := c.Tags
	if tags == nil {
		tags = []string{}
	}
	return contactData{ID: c.ID, Phone: c.Phone, Name: c.Name, Attributes: c.Attributes, Tags: tags,
		OptedOutAt: utc(c.OptedOutAt), CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
}

func (s *Server) listContacts(w http.ResponseWriter, r *http.Request) error {
	page, err := pageFrom(r)
	if err != nil {
		return err
	}
	var f postgres.ContactFilter
	if v := r.URL.Query().Get("importId"); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			return errcode.Validation(errcode.Detail{Field: "importId", Code: "invalid", Message: "importId must be an import id"})
		}
		f.ImportID = id.String()
	}
	list, err := s.opts.DB.Contacts(r.Context(), tenantFrom(r.Context()).ID, f, page.After, page.Limit)
	if err != nil {
		return err
	}
	items := make([]contactData, len(list))
	for i, c := range list {
		items[i] = contactOut(c)
	}
	writeList(w, page, items, func(c contactData) string { return c.ID })
	return nil
}

// contactIn is one element of POST /v1/contacts: phone, name, tags (an
// array of strings; given and non-empty, it replaces the contact's tags),
// and every other field an attribute.
type contactIn struct {
	Phone       string
	Name        string
	Tags        []string
	Attributes  map[string]string
	invalidText bool // a string of the entry is not valid text: the entry is rejected
	invalidTags bool // the tags break the bounds of package audience: the entry is rejected
}

func (c *contactIn) UnmarshalJSON(b []byte) error {
	if _, bad := badTextField(b); bad {
		c.invalidText = true
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return errcode.Validation(errcode.Detail{Field: "contacts", Code: "invalid_type", Message: "each contact must be an object"})
	}
	for k, v := range raw {
		switch strings.ToLower(k) {
		case "phone":
			if err := json.Unmarshal(v, &c.Phone); err != nil {
				return errcode.Validation(errcode.Detail{Field: "contacts.phone", Code: "invalid_type", Message: "phone must be a string"})
			}
		case "name":
			if string(v) == "null" {
				continue
			}
			if err := json.Unmarshal(v, &c.Name); err != nil {
				return errcode.Validation(errcode.Detail{Field: "contacts.name", Code: "invalid_type", Message: "name must be a string"})
			}
		case "tags":
			if err := c.readTags(v); err != nil {
				return err
			}
		default:
			val, ok, err := attributeValue(v)
			if err != nil {
				return errcode.Validation(errcode.Detail{Field: "contacts." + k, Code: "invalid_type", Message: "attributes must be strings, numbers or booleans"})
			}
			if ok {
				if c.Attributes == nil {
					c.Attributes = map[string]string{}
				}
				c.Attributes[k] = val
			}
		}
	}
	return nil
}

func (c *contactIn) readTags(v json.RawMessage) error {
	if string(v) == "null" {
		return nil
	}
	var raw []string
	if err := json.Unmarshal(v, &raw); err != nil {
		return errcode.Validation(errcode.Detail{Field: "contacts.tags", Code: "invalid_type", Message: "tags must be an array of strings"})
	}
	if len(raw) > 4*audience.MaxTags {
		c.invalidTags = true
		return nil
	}
	tags, code, _ := audience.NormalizeTags(raw)
	c.Tags, c.invalidTags = tags, code != ""
	return nil
}

// attributeValue reads a scalar attribute as text, as a CSV column would
// hold it; null is no attribute.
func attributeValue(v json.RawMessage) (string, bool, error) {
	v = bytes.TrimSpace(v)
	switch {
	case string(v) == "null":
		return "", false, nil
	case len(v) > 0 && v[0] == '"':
		var s string
		err := json.Unmarshal(v, &s)
		return s, s != "", err
	case len(v) > 0 && (v[0] == '{' || v[0] == '['):
		return "", false, fmt.Errorf("not a scalar")
	default: // number or boolean: its JSON text
		return string(v), true, nil
	}
}

type rejectedContact struct {
	Index int    `json:"index"`
	Phone string `json:"phone"`
	Code  string `json:"code"`
}

type upsertContactsData struct {
	Imported int               `json:"imported"`
	Updated  int               `json:"updated"`
	Rejected []rejectedContact `json:"rejected"`
}

func (s *Server) upsertContacts(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Contacts []contactIn `json:"contacts"`
	}
	b, err := readBody(r, MaxBodyBytes)
	if err != nil {
		return err
	}
	if err := decodeSyntax(b, &in); err != nil {
		return err
	}
	var v errcode.Validator
	v.Check(len(in.Contacts) >= 1 && len(in.Contacts) <= MaxContactsPerRequest, "contacts", "out_of_range",
		fmt.Sprintf("contacts must hold 1 to %d contacts", MaxContactsPerRequest))
	if err := v.Err(); err != nil {
		return err
	}
	t := tenantFrom(r.Context())
	out := upsertContactsData{Rejected: []rejectedContact{}}
	valid := make([]importer.Contact, 0, len(in.Contacts))
	for i, c := range in.Contacts {
		if c.invalidText {
			out.Rejected = append(out.Rejected, rejectedContact{Index: i, Code: "invalid_text"})
			continue
		}
		if c.invalidTags {
			out.Rejected = append(out.Rejected, rejectedContact{Index: i, Phone: c.Phone, Code: "invalid_tags"})
			continue
		}
		digits, code, err := phone.Normalize(c.Phone, t.DefaultCountry)
		if err != nil {
			out.Rejected = append(out.Rejected, rejectedContact{Index: i, Phone: c.Phone, Code: code})
			continue
		}
		valid = append(valid, importer.Contact{Phone: digits, Name: strings.TrimSpace(c.Name), Attributes: c.Attributes, Tags: c.Tags})
	}
	out.Imported, out.Updated, err = s.opts.DB.UpsertContacts(r.Context(), t.ID, valid)
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, out)
	return nil
}

func (s *Server) deleteContact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "contact")
	if err != nil {
		return err
	}
	if err := s.opts.DB.DeleteContact(r.Context(), tenantFrom(r.Context()).ID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
