package httpapi

import (
	"bytes"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
)

// TestStatusBodyAsWriteData: the status route's own encoder writes the
// bytes and headers writeData writes, for every view, falling back to it
// where it cannot.
func TestStatusBodyAsWriteData(t *testing.T) {
	const id = "0b7c5b0e-1c1a-4f5e-9d7a-0a8e7f9b2c11"
	result := statusResult{Processed: 150, Failed: 4, Total: 200, Undelivered: 3, Replied: 12, ReplyRate: 0.08}
	tests := map[string]campaignStatusView{
		"running":             {JobID: id, State: campaign.Running, Progress: 77, Result: result},
		"nothing yet":         {JobID: id, State: campaign.Scheduled},
		"all replied":         {JobID: id, State: campaign.Completed, Progress: 100, Result: statusResult{Processed: 3, Total: 3, Replied: 3, ReplyRate: 1}},
		"a third":             {JobID: id, State: campaign.Running, Result: statusResult{ReplyRate: 0.3333}},
		"negative counts":     {JobID: id, State: campaign.Failed, Progress: -1, Result: statusResult{Processed: -5, Failed: math.MinInt64, Total: math.MaxInt64}},
		"negative zero":       {JobID: id, State: campaign.Paused, Result: statusResult{ReplyRate: math.Copysign(0, -1)}},
		"tiny rate":           {JobID: id, State: campaign.Running, Result: statusResult{ReplyRate: 1e-7}},
		"smallest plain rate": {JobID: id, State: campaign.Running, Result: statusResult{ReplyRate: 1e-6}},
		"huge rate":           {JobID: id, State: campaign.Running, Result: statusResult{ReplyRate: 1e21}},
		"quote in the id":     {JobID: `a"b\c`, State: campaign.Running},
		"control and unicode": {JobID: "a\nb\u2028é<&>", State: "ünknown\x7f"},
		"empty":               {},
	}
	for name, v := range tests {
		t.Run(name, func(t *testing.T) {
			got, want := httptest.NewRecorder(), httptest.NewRecorder()
			got.Header().Add("Vary", "Accept-Encoding")
			want.Header().Add("Vary", "Accept-Encoding")
			writeStatus(got, v)
			writeData(want, http.StatusOK, v)
			if got.Code != want.Code || !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) {
				t.Errorf("writeStatus: %d %q\nwriteData:   %d %q", got.Code, got.Body, want.Code, want.Body)
			}
			if g, w := got.Header(), want.Header(); len(g) != len(w) || g.Get("Content-Type") != w.Get("Content-Type") ||
				g.Get("Cache-Control") != w.Get("Cache-Control") || !equalStrings(g.Values("Vary"), w.Values("Vary")) {
				t.Errorf("headers %v, want %v", g, w)
			}
		})
	}
	if b, ok := appendStatus(nil, tests["running"]); !ok || !bytes.HasPrefix(b, []byte(`{"success":true,"data":{"jobId":"`+id)) {
		t.Errorf("the usual view is not written by appendStatus: %q, %v", b, ok)
	}
	if _, ok := appendStatus(nil, tests["tiny rate"]); ok {
		t.Error("a rate written with an exponent is not left to encoding/json")
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestStatusAnswerAllocations bounds what writing a status answer's
// headers and body allocates: the headers from one backing array, the body
// appended by hand (3 through writeData's encoder).
func TestStatusAnswerAllocations(t *testing.T) {
	v := campaignStatusView{JobID: "0b7c5b0e-1c1a-4f5e-9d7a-0a8e7f9b2c11", State: campaign.Running, Progress: 77,
		Result: statusResult{Processed: 150, Failed: 4, Total: 200, Undelivered: 3, Replied: 12, ReplyRate: 0.08}}
	w := &headerWriter{h: http.Header{}}
	allocs := testing.AllocsPerRun(200, func() {
		clear(w.h)
		writeStatus(w, v)
	})
	if allocs > 2 {
		t.Errorf("writing a status answer: %.0f allocations, want at most 2", allocs)
	}
}

// BenchmarkStatusAnswer writes a status answer's headers and body by the
// route's own encoder and by writeData's.
//
//	go test -run '^$' -bench StatusAnswer -benchmem ./internal/httpapi/
func BenchmarkStatusAnswer(b *testing.B) {
	v := campaignStatusView{JobID: "0b7c5b0e-1c1a-4f5e-9d7a-0a8e7f9b2c11", State: campaign.Running, Progress: 77,
		Result: statusResult{Processed: 150, Failed: 4, Total: 200, Undelivered: 3, Replied: 12, ReplyRate: 0.08}}
	for name, write := range map[string]func(http.ResponseWriter){
		"appendStatus": func(w http.ResponseWriter) { writeStatus(w, v) },
		"writeData":    func(w http.ResponseWriter) { writeData(w, http.StatusOK, v) },
	} {
		b.Run(name, func(b *testing.B) {
			w := &headerWriter{h: http.Header{}}
			for b.Loop() {
				clear(w.h)
				write(w)
			}
		})
	}
}
