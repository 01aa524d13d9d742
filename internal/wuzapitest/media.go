package wuzapitest

import (
	"encoding/json"
	"net/http"
	"strings"
)

// mediaRules are the real server's checks of a media send's file, by kind:
// the prefix it accepts (http(s) URLs aside) and its refusal text.
var mediaRules = map[string]struct {
	field, prefix, refusal string
	urls                   bool
}{
	"image":    {"Image", "data:image", `Image data should start with "data:image/png;base64,"`, true},
	"video":    {"Video", "data:", `data should start with "data:mime/type;base64,"`, true},
	"audio":    {"Audio", "data:audio/", `audio data should start with "data:audio/"`, false},
	"document": {"Document", "data:application/octet-stream", `document data should start with "data:application/octet-stream;base64,"`, false},
}

// sendMedia is POST /chat/send/<kind>, checked in the real server's order.
func (s *Server) sendMedia(kind string) func(http.ResponseWriter, *http.Request, *user) {
	rule := mediaRules[kind]
	return func(w http.ResponseWriter, r *http.Request, u *user) {
		s.mu.Lock()
		st := u.state
		s.mu.Unlock()
		if !st.Session {
			respond(w, 500, nil, s.text("no session"))
			return
		}
		var in map[string]json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			respond(w, 400, nil, s.text("could not decode Payload"))
			return
		}
		str := func(k string) string {
			var v string
			_ = json.Unmarshal(in[k], &v)
			return v
		}
		phone, data := strings.TrimPrefix(str("Phone"), "+"), str(rule.field)
		isURL := strings.HasPrefix(data, "http://") || strings.HasPrefix(data, "https://")
		switch {
		case phone == "":
			respond(w, 400, nil, s.text("missing Phone in Payload"))
			return
		case data == "":
			respond(w, 400, nil, s.text("missing "+rule.field+" in Payload"))
			return
		case kind == "document" && str("FileName") == "":
			respond(w, 400, nil, s.text("missing FileName in Payload"))
			return
		case !strings.HasPrefix(data, rule.prefix) && !(rule.urls && isURL):
			respond(w, 400, nil, rule.refusal)
			return
		case !st.LoggedIn:
			respond(w, 500, nil, "failed to upload file: failed to refresh media connections: the store doesn't contain a device JID")
			return
		case !st.Connected:
			respond(w, 500, nil, "failed to upload file: failed to refresh media connections: websocket not connected")
			return
		}
		s.finishSend(w, r, u, Send{Phone: phone, Body: str("Caption"), ID: str("Id"), Media: kind,
			File: data, FileName: str("FileName"), MimeType: str("MimeType")})
	}
}
