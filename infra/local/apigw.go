package local

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// NewHTTPRequestEvent turns a request into the event an API Gateway HTTP
// API (payload format 2.0, route $default) hands its integration. body is
// the request body, already read. Header names are lower-cased and repeated
// headers joined with commas; Cookie headers become Cookies; sourceIp is the
// TCP peer (r.RemoteAddr), never a forwarded header; x-forwarded-for,
// -proto and -port are set as API Gateway sets them. A body that is not
// text (see isTextContentType) is base64-encoded with IsBase64Encoded.
func NewHTTPRequestEvent(r *http.Request, body []byte, requestID string, now time.Time) events.APIGatewayV2HTTPRequest {
	sourceIP, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		sourceIP = r.RemoteAddr
	}
	host := r.Host
	domain, port, err := net.SplitHostPort(host)
	if err != nil {
		domain, port = host, "80"
	}
	headers, cookies := eventHeaders(r, body, sourceIP, port)
	headers["x-amzn-trace-id"] = traceID(requestID, now)

	ev := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       "$default",
		RawPath:        r.URL.EscapedPath(),
		RawQueryString: r.URL.RawQuery,
		Cookies:        cookies,
		Headers:        headers,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     "$default",
			AccountID:    defaultAccountID,
			Stage:        "$default",
			RequestID:    requestID,
			APIID:        "local",
			DomainName:   domain,
			DomainPrefix: strings.Split(domain, ".")[0],
			Time:         now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	ev.QueryStringParameters = queryParameters(r)
	ev.Body, ev.IsBase64Encoded = eventBody(r, body)
	return ev
}

// eventHeaders are the event's headers and cookies: names lower-cased,
// repeated headers joined with commas, Cookie headers split into cookies,
// hop-by-hop and forwarding headers replaced by API Gateway's own.
func eventHeaders(r *http.Request, body []byte, sourceIP, port string) (map[string]string, []string) {
	headers := map[string]string{}
	var cookies []string
	for name, vals := range r.Header {
		lname := strings.ToLower(name)
		switch lname {
		case "cookie":
			for _, v := range vals {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		case "x-forwarded-for", "x-forwarded-proto", "x-forwarded-port", "transfer-encoding", "connection":
			continue
		}
		headers[lname] = strings.Join(vals, ",")
	}
	headers["host"] = r.Host
	if len(body) > 0 {
		headers["content-length"] = strconv.Itoa(len(body))
	}
	xff := sourceIP
	if prev := r.Header.Values("X-Forwarded-For"); len(prev) > 0 {
		xff = strings.Join(prev, ", ") + ", " + sourceIP
	}
	headers["x-forwarded-for"] = xff
	headers["x-forwarded-proto"] = "http"
	headers["x-forwarded-port"] = port
	return headers, cookies
}

// queryParameters are the query's values joined with commas; nil without a
// query.
func queryParameters(r *http.Request) map[string]string {
	q := r.URL.Query()
	if len(q) == 0 {
		return nil
	}
	out := make(map[string]string, len(q))
	for k, v := range q {
		out[k] = strings.Join(v, ",")
	}
	return out
}

// eventBody is body as the event carries it: text as is, anything else
// base64-encoded.
func eventBody(r *http.Request, body []byte) (string, bool) {
	switch {
	case len(body) == 0:
		return "", false
	case isTextContentType(r.Header.Get("Content-Type")):
		return string(body), false
	}
	return base64.StdEncoding.EncodeToString(body), true
}

// isTextContentType reports the content types whose bodies API Gateway
// passes as text: text/*, JSON, XML, JavaScript and form data.
func isTextContentType(ct string) bool {
	if ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	if strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "+xml") {
		return true
	}
	return slices.Contains([]string{
		"application/json", "application/xml", "application/javascript",
		"application/x-www-form-urlencoded", "application/graphql",
	}, mt)
}

// WriteHTTPResponse writes a function's payload format 2.0 answer to w:
// status code, headers, multi-value headers, cookies as Set-Cookie and the
// body, decoded from base64 when IsBase64Encoded. As API Gateway does, a
// payload without a statusCode is a 200 application/json body of the
// payload itself. It fails, writing nothing, when the payload is not JSON.
func WriteHTTPResponse(w http.ResponseWriter, payload []byte) error {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(payload, &probe); err != nil || probe["statusCode"] == nil {
		if !json.Valid(payload) {
			return fmt.Errorf("function response is not JSON: %.100q", payload)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(payload)
		return nil
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(payload, &resp); err != nil {
		return fmt.Errorf("decode function response: %w", err)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			return fmt.Errorf("decode base64 response body: %w", err)
		}
	}
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return fmt.Errorf("function response has status code %d", resp.StatusCode)
	}
	h := w.Header()
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		h.Del(k)
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	if h.Get("Content-Type") == "" {
		h["Content-Type"] = nil // API Gateway does not sniff; neither do we.
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
	return nil
}

// traceID is an X-Ray style trace header derived from the request id.
func traceID(requestID string, now time.Time) string {
	id := strings.ReplaceAll(requestID, "-", "") + strings.Repeat("0", 24)
	return fmt.Sprintf("Root=1-%08x-%s", now.Unix(), id[:24])
}
