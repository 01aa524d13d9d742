package wuzapi

import "github.com/wuzapi-manager/wuzapi-manager/internal/jsonstr"

// appendSendText appends the body of a text send, byte for byte what
// encoding/json makes of struct{Phone, Body string; ID string
// `json:"Id,omitempty"`}, without its reflection.
func appendSendText(b []byte, phone, body, id string) []byte {
	b = append(b, `{"Phone":`...)
	b = jsonstr.AppendHTMLSafe(b, phone)
	b = append(b, `,"Body":`...)
	b = jsonstr.AppendHTMLSafe(b, body)
	if id != "" {
		b = append(b, `,"Id":`...)
		b = jsonstr.AppendHTMLSafe(b, id)
	}
	return append(b, '}')
}
