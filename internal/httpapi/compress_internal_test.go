package httpapi

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
)

func TestNegotiateEncoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header []string
		want   string
	}{
		{"none", nil, ""},
		{"identity only", []string{"identity"}, ""},
		{"gzip", []string{"gzip"}, "gzip"},
		{"br and gzip", []string{"gzip, deflate, br"}, "br"},
		{"br refused", []string{"br;q=0, gzip"}, "gzip"},
		{"gzip preferred by q", []string{"br;q=0.5, gzip;q=0.9"}, "gzip"},
		{"tie goes to br", []string{"gzip;q=0.8", "br;q=0.8"}, "br"},
		{"wildcard", []string{"*"}, "br"},
		{"wildcard but br refused", []string{"*, br;q=0"}, "gzip"},
		{"everything refused", []string{"br;q=0, gzip;q=0"}, ""},
		{"case and spaces", []string{" GZIP ; q=1 "}, "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := negotiateEncoding(tt.header); got != tt.want {
				t.Fatalf("negotiateEncoding(%q) = %q, want %q", tt.header, got, tt.want)
			}
		})
	}
}

func decode(t *testing.T, enc string, body []byte) string {
	t.Helper()
	var r io.Reader
	switch enc {
	case "br":
		r = brotli.NewReader(bytes.NewReader(body))
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		r = zr
	default:
		return string(body)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s: %v", enc, err)
	}
	return string(b)
}

func TestCompressMiddleware(t *testing.T) {
	t.Parallel()
	big := `{"data":"` + strings.Repeat("compressible ", 200) + `"}`
	tests := []struct {
		name        string
		accept      string
		noComp      bool
		method      string
		contentType string
		preEncoded  bool
		status      int
		body        string
		chunks      int // write the body in this many pieces
		wantEnc     string
	}{
		{"brotli preferred", "gzip, br", false, "GET", "application/json", false, 200, big, 1, "br"},
		{"gzip otherwise", "gzip", false, "GET", "application/json; charset=utf-8", false, 200, big, 1, "gzip"},
		{"many small writes", "br", false, "GET", "text/plain", false, 200, big, 50, "br"},
		{"error status compressed too", "gzip", false, "GET", "application/json", false, 404, big, 1, "gzip"},
		{"under 1 KiB", "br", false, "GET", "application/json", false, 200, strings.Repeat("x", compressMinBytes-1), 3, ""},
		{"exactly 1 KiB", "br", false, "GET", "application/json", false, 200, strings.Repeat("x", compressMinBytes), 1, "br"},
		{"x-no-compression", "br, gzip", true, "GET", "application/json", false, 200, big, 1, ""},
		{"no accept-encoding", "", false, "GET", "application/json", false, 200, big, 1, ""},
		{"incompressible type", "br", false, "GET", "image/png", false, 200, big, 1, ""},
		{"no content type", "br", false, "GET", "", false, 200, big, 1, ""},
		{"already encoded", "br", false, "GET", "application/json", true, 200, big, 1, ""},
		{"HEAD", "br", false, "HEAD", "application/json", false, 200, "", 1, ""},
		{"no content", "br", false, "DELETE", "application/json", false, 204, "", 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := compress(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				}
				if tt.preEncoded {
					w.Header().Set("Content-Encoding", "identity-ish")
				}
				w.Header().Set("Content-Length", "999999")
				w.WriteHeader(tt.status)
				n := max(1, len(tt.body)/tt.chunks)
				for i := 0; i < len(tt.body); i += n {
					_, _ = w.Write([]byte(tt.body[i:min(len(tt.body), i+n)]))
				}
			}))
			req := httptest.NewRequest(tt.method, "/x", nil)
			if tt.accept != "" {
				req.Header.Set("Accept-Encoding", tt.accept)
			}
			if tt.noComp {
				req.Header.Set("x-no-compression", "1")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			gotEnc := rec.Header().Get("Content-Encoding")
			if tt.preEncoded {
				gotEnc = map[string]string{"identity-ish": ""}[gotEnc]
			}
			if rec.Code != tt.status || gotEnc != tt.wantEnc || rec.Header().Get("Vary") != "Accept-Encoding" {
				t.Fatalf("status %d, Content-Encoding %q, Vary %q; want %d, %q, Accept-Encoding",
					rec.Code, rec.Header().Get("Content-Encoding"), rec.Header().Get("Vary"), tt.status, tt.wantEnc)
			}
			if tt.wantEnc != "" {
				if rec.Header().Get("Content-Length") != "" {
					t.Error("compressed answer keeps the handler's Content-Length")
				}
				if rec.Body.Len() >= len(tt.body) {
					t.Errorf("compressed %d bytes into %d", len(tt.body), rec.Body.Len())
				}
			}
			if got := decode(t, tt.wantEnc, rec.Body.Bytes()); got != tt.body {
				t.Fatalf("body reads back as %d bytes, want %d", len(got), len(tt.body))
			}
		})
	}
}

// TestCompressibleJSONWithoutParsing: the JSON answers' Content-Type is
// compressible without mime.ParseMediaType (which allocates its
// parameters' map each call), as parsing it says.
func TestCompressibleJSONWithoutParsing(t *testing.T) {
	if mt, _, err := mime.ParseMediaType(jsonContentType); err != nil || mt != "application/json" {
		t.Fatalf("ParseMediaType(%q) = %q, %v; want application/json", jsonContentType, mt, err)
	}
	for _, tt := range []struct {
		contentType string
		want        bool
	}{
		{jsonContentType, true},
		{"application/json", true},
		{"Application/JSON; charset=utf-8", true},
		{"application/json; charset", false},
		{"image/png", false},
		{"", false},
	} {
		if got := compressible(tt.contentType); got != tt.want {
			t.Errorf("compressible(%q) = %v, want %v", tt.contentType, got, tt.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = compressible(jsonContentType) }); n != 0 {
		t.Errorf("compressible(%q) allocates %v times, want 0", jsonContentType, n)
	}
}

// BenchmarkSmallJSONThroughCompress is a short JSON answer (a campaign's
// status) to a client that takes gzip: held back, then sent as it is.
//
//	go test -run '^$' -bench SmallJSONThroughCompress -benchmem ./internal/httpapi/
func BenchmarkSmallJSONThroughCompress(b *testing.B) {
	body := []byte(`{"data":{"id":"0b8f3c1e-7d2a-4c55-9a61-2f0e8d7b6a10","state":"scheduled","total":200}}`)
	h := compress(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { writeBody(w, http.StatusOK, body) }))
	r := httptest.NewRequest(http.MethodGet, "/v1/campaigns/x/status", nil)
	r.Header.Set("Accept-Encoding", "gzip")
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
}
