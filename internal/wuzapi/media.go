package wuzapi

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
)

// MediaKind is the kind of a media message; it names WuzAPI's route
// (/chat/send/<kind>) and the field that carries the file.
type MediaKind string

// The media kinds WuzAPI sends.
const (
	Image    MediaKind = "image"
	Video    MediaKind = "video"
	Audio    MediaKind = "audio"
	Document MediaKind = "document"
)

// Media is one file to send.
type Media struct {
	Kind MediaKind
	// Data is the file: a data URL ("data:<type>;base64,..."), or an
	// http(s) URL the server fetches (Image and Video only). WuzAPI takes a
	// document only as "data:application/octet-stream;base64,..." and an
	// audio only as "data:audio/...": build them with DataURL.
	Data     string
	Caption  string // shown under the media (not for Audio)
	FileName string // Document: required, shown to the recipient
	MimeType string // the file's real type ("application/pdf")
}

// DataURL encodes a file as the data URL WuzAPI takes for kind: documents
// always as application/octet-stream (the real type goes in
// Media.MimeType), the others with their own type.
func DataURL(kind MediaKind, mimeType string, data []byte) string {
	if kind == Document {
		mimeType = "application/octet-stream"
	}
	return "data:" + mimeType + ";base64," + base64.StdEncoding.EncodeToString(data)
}

// check refuses what the server would refuse (or, for a short document,
// crash on) before any call.
func (m Media) check() string {
	isURL := strings.HasPrefix(m.Data, "https://") || strings.HasPrefix(m.Data, "http://")
	switch {
	case m.Kind != Image && m.Kind != Video && m.Kind != Audio && m.Kind != Document:
		return "unknown media kind " + string(m.Kind)
	case m.Data == "":
		return "no media data"
	case m.Kind == Image && !isURL && !strings.HasPrefix(m.Data, "data:image"):
		return "an image is a data:image/... URL or an http(s) URL"
	case m.Kind == Video && !isURL && !strings.HasPrefix(m.Data, "data:"):
		return "a video is a data URL or an http(s) URL"
	case m.Kind == Audio && !strings.HasPrefix(m.Data, "data:audio/"):
		return "an audio is a data:audio/... URL"
	case m.Kind == Document && !strings.HasPrefix(m.Data, "data:application/octet-stream"):
		return "a document is a data:application/octet-stream;base64,... URL"
	case m.Kind == Document && m.FileName == "":
		return "a document needs a file name"
	}
	return ""
}

// SendMedia sends m to phone (E.164 digits) with the WhatsApp message id we
// chose (POST /chat/send/<kind>). Failures sort like SendText's; media the
// server would refuse is a Permanent error without a call.
func (c *Client) SendMedia(ctx context.Context, phone string, m Media, id string) (Sent, error) {
	op, path := "send "+string(m.Kind), "/chat/send/"+string(m.Kind)
	if why := m.check(); why != "" {
		return Sent{}, &Error{Op: op, Path: path, Kind: KindRejected, Class: Permanent, Text: why}
	}
	in := map[string]any{"Phone": phone, "Id": id, "MimeType": m.MimeType}
	switch m.Kind {
	case Image:
		in["Image"] = m.Data
	case Video:
		in["Video"] = m.Data
	case Audio:
		in["Audio"] = m.Data
	case Document:
		in["Document"], in["FileName"] = m.Data, m.FileName
	}
	if m.Kind != Audio && m.Caption != "" {
		in["Caption"] = m.Caption
	}
	if id == "" {
		delete(in, "Id")
	}
	var out struct {
		ID        string   `json:"Id"`
		Timestamp flexTime `json:"Timestamp"`
	}
	if err := c.call(ctx, op, http.MethodPost, path, in, &out); err != nil {
		return Sent{}, err
	}
	if out.ID == "" {
		out.ID = id
	}
	return Sent{ID: out.ID, Timestamp: out.Timestamp.Time}, nil
}
