package local

import (
	"net/http"
	"strings"
)

// The embedded emulator answers no CORS, so a browser cannot PUT a CSV to a
// presigned URL from the dashboard's origin, which real S3 allows through the
// bucket's CorsConfiguration. withBucketCORS answers as S3 does with
// template.yaml's rule for ImportsBucket (any origin, GET and PUT, any
// header, max age 3000): preflights are answered here, and answers to
// requests that carry an Origin get Access-Control-Allow-Origin. Requests
// without an Origin (the AWS SDKs) pass through untouched.
func withBucketCORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			method := strings.ToUpper(r.Header.Get("Access-Control-Request-Method"))
			if method != http.MethodPut && method != http.MethodGet && method != http.MethodHead {
				http.Error(w, "CORSResponse: This CORS request is not allowed.", http.StatusForbidden)
				return
			}
			h.Set("Access-Control-Allow-Origin", "*")
			h.Set("Access-Control-Allow-Methods", "PUT, GET")
			if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
				h.Set("Access-Control-Allow-Headers", req)
			}
			h.Set("Access-Control-Max-Age", "3000")
			h.Add("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
			w.WriteHeader(http.StatusOK)
			return
		}
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Expose-Headers", "ETag")
		h.Add("Vary", "Origin")
		next.ServeHTTP(w, r)
	})
}
