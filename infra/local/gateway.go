package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// MaxPayloadBytes is API Gateway's request payload limit (10 MB).
const MaxPayloadBytes = 10 << 20

// invoker runs a function; the platform's pools are one.
type invoker func(ctx context.Context, payload []byte) ([]byte, error)

// gateway is the local API Gateway HTTP API: every route goes to one
// function, as the template's $default route does.
type gateway struct {
	function string
	invoke   invoker
	log      *slog.Logger
	now      func() time.Time
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := uuid.NewString()
	w.Header().Set("Apigw-Requestid", requestID)
	if r.ContentLength > MaxPayloadBytes {
		writeGatewayError(w, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", "request body is over API Gateway's 10 MB limit")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxPayloadBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeGatewayError(w, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", "request body is over API Gateway's 10 MB limit")
			return
		}
		writeGatewayError(w, http.StatusBadRequest, "MALFORMED_REQUEST", "could not read the request body")
		return
	}
	ev := NewHTTPRequestEvent(r, body, requestID, g.now())
	payload, err := json.Marshal(ev)
	if err != nil {
		g.log.Error("encode API Gateway event", "request_id", requestID, "err", err)
		writeGatewayError(w, http.StatusInternalServerError, "INTERNAL", "Internal Server Error")
		return
	}
	out, err := g.invoke(r.Context(), payload)
	switch {
	case errors.Is(err, ErrFunctionTimeout):
		g.log.Warn("function timed out", "function", g.function, "request_id", requestID, "path", r.URL.Path)
		writeGatewayError(w, http.StatusGatewayTimeout, "UNAVAILABLE", "the function did not answer in time")
		return
	case r.Context().Err() != nil:
		return // the client went away
	case err != nil:
		g.log.Error("invoke function", "function", g.function, "request_id", requestID, "path", r.URL.Path, "err", err)
		writeGatewayError(w, http.StatusBadGateway, "UNAVAILABLE", "the function failed")
		return
	}
	if err := WriteHTTPResponse(w, out); err != nil {
		g.log.Error("malformed function response", "function", g.function, "request_id", requestID, "err", err)
		writeGatewayError(w, http.StatusBadGateway, "UNAVAILABLE", "the function's response is malformed")
	}
}

// writeGatewayError answers with the API's error envelope.
func writeGatewayError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `{"success":false,"error":%q,"code":%q}`, msg, code)
}
