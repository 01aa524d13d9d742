package wuzapi_test

import (
	"context"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapitest"
)

func TestSendMedia(t *testing.T) {
	t.Parallel()
	fake := wuzapitest.New(t)
	fake.AddUser("tok", wuzapitest.Ready)
	c := wuzapi.New(fake.URL, "tok", nil)
	pdf := []byte("%PDF-1.4 tiny")
	tests := []struct {
		name    string
		m       wuzapi.Media
		caption string
	}{
		{"image by URL", wuzapi.Media{Kind: wuzapi.Image, Data: "https://files.example.com/a.jpg", Caption: "Promo", MimeType: "image/jpeg"}, "Promo"},
		{"image by data", wuzapi.Media{Kind: wuzapi.Image, Data: wuzapi.DataURL(wuzapi.Image, "image/png", []byte{0x89, 'P', 'N', 'G'})}, ""},
		{"video by URL", wuzapi.Media{Kind: wuzapi.Video, Data: "https://files.example.com/v.mp4", Caption: "Veja", MimeType: "video/mp4"}, "Veja"},
		{"audio", wuzapi.Media{Kind: wuzapi.Audio, Data: wuzapi.DataURL(wuzapi.Audio, "audio/ogg", []byte("OggS")), Caption: "ignored", MimeType: "audio/ogg"}, ""},
		{"document", wuzapi.Media{Kind: wuzapi.Document, Data: wuzapi.DataURL(wuzapi.Document, "application/pdf", pdf),
			FileName: "catalogo.pdf", Caption: "Catálogo", MimeType: "application/pdf"}, "Catálogo"},
	}
	for i, tt := range tests {
		id := "3EB0MEDIA" + string(rune('A'+i))
		sent, err := c.SendMedia(context.Background(), "5511999998888", tt.m, id)
		if err != nil || sent.ID != id {
			t.Fatalf("%s: %+v, %v", tt.name, sent, err)
		}
		s := fake.Sends()
		last := s[len(s)-1]
		if last.Media != string(tt.m.Kind) || last.ID != id || last.Body != tt.caption || !last.OK() {
			t.Fatalf("%s: the fake saw %+v", tt.name, last)
		}
	}
}

func TestSendMediaRefusedBeforeTheCall(t *testing.T) {
	t.Parallel()
	fake := wuzapitest.New(t)
	fake.AddUser("tok", wuzapitest.Ready)
	c := wuzapi.New(fake.URL, "tok", nil)
	tests := []struct {
		name string
		m    wuzapi.Media
	}{
		{"unknown kind", wuzapi.Media{Kind: "sticker", Data: "data:image/webp;base64,AA=="}},
		{"no data", wuzapi.Media{Kind: wuzapi.Image}},
		{"image not a data URL", wuzapi.Media{Kind: wuzapi.Image, Data: "iVBORw0KGgo="}},
		{"audio by URL", wuzapi.Media{Kind: wuzapi.Audio, Data: "https://files.example.com/a.ogg"}},
		{"document with its own type", wuzapi.Media{Kind: wuzapi.Document, Data: "data:application/pdf;base64,AA==", FileName: "a.pdf"}},
		{"document without a name", wuzapi.Media{Kind: wuzapi.Document, Data: "data:application/octet-stream;base64,AA=="}},
	}
	for _, tt := range tests {
		_, err := c.SendMedia(context.Background(), "5511999998888", tt.m, "")
		if wuzapi.ClassOf(err) != wuzapi.Permanent || wuzapi.KindOf(err) != wuzapi.KindRejected {
			t.Errorf("%s: %v, want a permanent refusal", tt.name, err)
		}
	}
	if n := len(fake.Sends()); n != 0 {
		t.Fatalf("%d refused media reached the server", n)
	}
}

func TestSendMediaInstanceStates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		state wuzapitest.State
		kind  wuzapi.Kind
	}{
		{"no session", wuzapitest.State{}, wuzapi.KindNoSession},
		{"never paired", wuzapitest.State{Session: true, Connected: true}, wuzapi.KindNotPaired},
		{"socket down", wuzapitest.State{Session: true, LoggedIn: true}, wuzapi.KindNotConnected},
	}
	for _, tt := range tests {
		fake := wuzapitest.New(t)
		fake.AddUser("tok", tt.state)
		m := wuzapi.Media{Kind: wuzapi.Image, Data: "https://files.example.com/a.jpg"}
		_, err := wuzapi.New(fake.URL, "tok", nil).SendMedia(context.Background(), "5511999998888", m, "")
		if wuzapi.KindOf(err) != tt.kind || wuzapi.ClassOf(err) != wuzapi.NotReady {
			t.Errorf("%s: %v (kind %s), want %s", tt.name, err, wuzapi.KindOf(err), tt.kind)
		}
	}
}
