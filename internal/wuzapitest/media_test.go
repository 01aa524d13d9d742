package wuzapitest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapitest"
)

// TestMediaChecks: the fake refuses media as the real server does.
func TestMediaChecks(t *testing.T) {
	t.Parallel()
	fake := wuzapitest.New(t)
	fake.AddUser("tok", wuzapitest.Ready)
	tests := []struct {
		path, body string
		status     int
		text       string
	}{
		{"/chat/send/document", `{"Phone":"5511999998888","Document":"data:application/pdf;base64,AA==","FileName":"a.pdf"}`, 400,
			`document data should start with "data:application/octet-stream;base64,"`},
		{"/chat/send/document", `{"Phone":"5511999998888","Document":"data:application/octet-stream;base64,AA=="}`, 400, "missing FileName in Payload"},
		{"/chat/send/image", `{"Phone":"5511999998888"}`, 400, "missing Image in Payload"},
		{"/chat/send/audio", `{"Phone":"5511999998888","Audio":"https://x.example/a.ogg"}`, 400, `audio data should start with "data:audio/"`},
		{"/chat/send/video", `{"Video":"https://x.example/v.mp4"}`, 400, "missing Phone in Payload"},
		{"/chat/send/image", `{"Phone":"5511999998888","Image":"https://x.example/a.jpg","Caption":"oi","Id":"3EB0X"}`, 200, ""},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest("POST", fake.URL+tt.path, strings.NewReader(tt.body))
		req.Header.Set("Token", "tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var env struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		if resp.StatusCode != tt.status || env.Error != tt.text {
			t.Errorf("%s %s = %d %q, want %d %q", tt.path, tt.body, resp.StatusCode, env.Error, tt.status, tt.text)
		}
	}
	if s := fake.Sends(); len(s) != 1 || s[0].Media != "image" || s[0].Body != "oi" || s[0].ID != "3EB0X" {
		t.Fatalf("sends %+v", s)
	}
}
