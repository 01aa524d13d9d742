package httpapi

import (
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
)

// Response compression: Brotli quality 4 when the client takes
// it, else gzip level 6; only bodies of compressible types of at least
// compressMinBytes; never when the request carries x-no-compression. Every
// answer says Vary: Accept-Encoding, compressed or not, so caches keep the
// variants apart. Through API Gateway a compressed body travels base64
// (apigw.Response sees Content-Encoding).
const (
	compressMinBytes = 1024
	brotliQuality    = 4
	gzipLevel        = 6
)

var (
	brotliPool = sync.Pool{New: func() any { return brotli.NewWriterLevel(io.Discard, brotliQuality) }}
	gzipPool   = sync.Pool{New: func() any {
		w, _ := gzip.NewWriterLevel(io.Discard, gzipLevel) // the level is valid
		return w
	}}
)

// compress wraps next with response compression.
func compress(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		enc := ""
		if r.Header.Get("X-No-Compression") == "" && r.Method != http.MethodHead {
			enc = negotiateEncoding(r.Header.Values("Accept-Encoding"))
		}
		if enc == "" {
			next.ServeHTTP(w, r)
			return
		}
		cw := &compressWriter{ResponseWriter: w, enc: enc}
		defer cw.finish()
		next.ServeHTTP(cw, r)
	})
}

// negotiateEncoding picks "br", "gzip" or "" from Accept-Encoding values:
// the highest q-value wins and Brotli wins ties; q=0 refuses an encoding.
func negotiateEncoding(values []string) string {
	qBr, qGzip := -1.0, -1.0
	qAny := -1.0
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			q := 1.0
			if k, val, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.TrimSpace(k) == "q" {
				if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
					q = f
				}
			}
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "br":
				qBr = q
			case "gzip", "x-gzip":
				qGzip = q
			case "*":
				qAny = q
			}
		}
	}
	if qBr < 0 {
		qBr = qAny
	}
	if qGzip < 0 {
		qGzip = qAny
	}
	switch {
	case qBr > 0 && qBr >= qGzip:
		return "br"
	case qGzip > 0:
		return "gzip"
	}
	return ""
}

// compressible reports whether a body of this Content-Type shrinks: text,
// JSON, JavaScript, XML and SVG; never images, archives or already
// compressed formats.
func compressible(contentType string) bool {
	if contentType == jsonContentType {
		return true // every JSON answer's, without parsing it each time
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return strings.HasPrefix(mt, "text/") || mt == "application/json" || strings.HasSuffix(mt, "+json") ||
		mt == "application/javascript" || mt == "application/xml" || strings.HasSuffix(mt, "+xml") ||
		mt == "application/x-ndjson"
}

// compressWriter holds back the first compressMinBytes of a body to decide:
// a short body goes out as it is, a longer one compressed.
type compressWriter struct {
	http.ResponseWriter
	enc     string
	status  int
	buf     []byte
	decided bool
	out     io.WriteCloser // the compressor, once compressing
}

func (c *compressWriter) WriteHeader(status int) {
	switch {
	case c.decided || status < 200: // late (superfluous) or informational: pass on
		c.ResponseWriter.WriteHeader(status)
	case c.status != 0: // superfluous before the decision: the first one counts
	default:
		c.status = status
		if !c.eligible() {
			_ = c.decide(false)
		}
	}
}

// eligible reports whether the answer may be compressed at all.
func (c *compressWriter) eligible() bool {
	h := c.Header()
	status := c.status
	if status == 0 {
		status = http.StatusOK
	}
	return status != http.StatusNoContent && status != http.StatusNotModified &&
		h.Get("Content-Encoding") == "" && compressible(h.Get("Content-Type"))
}

func (c *compressWriter) Write(p []byte) (int, error) {
	if !c.decided {
		if !c.eligible() {
			if err := c.decide(false); err != nil {
				return 0, err
			}
		} else {
			c.buf = append(c.buf, p...)
			if len(c.buf) >= compressMinBytes {
				if err := c.decide(true); err != nil {
					return 0, err
				}
			}
			return len(p), nil
		}
	}
	if c.out != nil {
		return c.out.Write(p)
	}
	return c.ResponseWriter.Write(p)
}

// decide sends the header, compressed or not, then what was held back.
func (c *compressWriter) decide(compress bool) error {
	c.decided = true
	h := c.Header()
	if compress {
		h.Set("Content-Encoding", c.enc)
		h.Del("Content-Length")
		switch c.enc {
		case "br":
			bw := brotliPool.Get().(*brotli.Writer)
			bw.Reset(c.ResponseWriter)
			c.out = bw
		default:
			gw := gzipPool.Get().(*gzip.Writer)
			gw.Reset(c.ResponseWriter)
			c.out = gw
		}
	}
	if c.status != 0 {
		c.ResponseWriter.WriteHeader(c.status)
	}
	buf := c.buf
	c.buf = nil
	if len(buf) == 0 {
		return nil
	}
	var err error
	if c.out != nil {
		_, err = c.out.Write(buf)
	} else {
		_, err = c.ResponseWriter.Write(buf)
	}
	return err
}

// finish ends the body: a held-back short body goes out uncompressed, a
// compressed one is closed and its compressor pooled.
func (c *compressWriter) finish() {
	if !c.decided {
		_ = c.decide(false)
	}
	switch w := c.out.(type) {
	case *brotli.Writer:
		_ = w.Close()
		w.Reset(io.Discard)
		brotliPool.Put(w)
	case *gzip.Writer:
		_ = w.Close()
		w.Reset(io.Discard)
		gzipPool.Put(w)
	}
	c.out = nil
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (c *compressWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
