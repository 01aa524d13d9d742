package apigw

import (
	"slices"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
	"github.com/wuzapi-manager/wuzapi-manager/internal/jsonstr"
)

// DecodeRequest decodes an API Gateway HTTP API (payload 2.0) event as
// encoding/json would into ev, without reflection: a status request's
// event decodes in a few microseconds instead of tens. It reads every
// field of events.APIGatewayV2HTTPRequest except the request context's
// authorizer and authentication, which it skips (the API authenticates
// requests itself); member names match exactly or, failing that, as
// encoding/json folds them. Unlike json.Decoder it refuses data after the
// event.
func DecodeRequest(payload []byte, ev *events.APIGatewayV2HTTPRequest) error {
	s := &scanner{b: payload}
	if len(payload) <= maxSharedPayload {
		// One copy of the payload; every string without escapes is a slice of it.
		s.src = string(payload)
	}
	if null, err := s.null(); null || err != nil {
		if err == nil {
			err = s.end()
		}
		return err
	}
	if err := s.object(func(key []byte) error { return s.requestMember(key, ev) }); err != nil {
		return err
	}
	return s.end()
}

// maxSharedPayload is the largest event whose strings share one copy of it.
// A string kept past the request (a label value, a remembered limit's key)
// keeps that whole copy alive, so a larger event, one with a large body,
// gets a copy per string instead.
const maxSharedPayload = 8 << 10

func (s *scanner) requestMember(key []byte, ev *events.APIGatewayV2HTTPRequest) error {
	switch string(key) {
	case "version":
		return s.setString(&ev.Version)
	case "routeKey":
		return s.setString(&ev.RouteKey)
	case "rawPath":
		return s.setString(&ev.RawPath)
	case "rawQueryString":
		return s.setString(&ev.RawQueryString)
	case "cookies":
		return s.setStrings(&ev.Cookies)
	case "headers":
		return s.setMap(&ev.Headers)
	case "queryStringParameters":
		return s.setMap(&ev.QueryStringParameters)
	case "pathParameters":
		return s.setMap(&ev.PathParameters)
	case "stageVariables":
		return s.setMap(&ev.StageVariables)
	case "requestContext":
		if null, err := s.null(); null || err != nil {
			return err
		}
		return s.object(func(key []byte) error { return s.contextMember(key, &ev.RequestContext) })
	case "body":
		return s.setString(&ev.Body)
	case "isBase64Encoded":
		v, ok, err := s.boolean()
		if ok {
			ev.IsBase64Encoded = v
		}
		return err
	}
	if n := folded(key, requestMembers); n != "" {
		return s.requestMember([]byte(n), ev)
	}
	return s.skip()
}

func (s *scanner) contextMember(key []byte, rc *events.APIGatewayV2HTTPRequestContext) error {
	switch string(key) {
	case "routeKey":
		return s.setString(&rc.RouteKey)
	case "accountId":
		return s.setString(&rc.AccountID)
	case "stage":
		return s.setString(&rc.Stage)
	case "requestId":
		return s.setString(&rc.RequestID)
	case "apiId":
		return s.setString(&rc.APIID)
	case "domainName":
		return s.setString(&rc.DomainName)
	case "domainPrefix":
		return s.setString(&rc.DomainPrefix)
	case "time":
		return s.setString(&rc.Time)
	case "timeEpoch":
		v, ok, err := s.int64()
		if ok {
			rc.TimeEpoch = v
		}
		return err
	case "http":
		if null, err := s.null(); null || err != nil {
			return err
		}
		return s.object(func(key []byte) error { return s.httpMember(key, &rc.HTTP) })
	case "authorizer", "authentication":
		return s.skip()
	}
	if n := folded(key, contextMembers); n != "" {
		return s.contextMember([]byte(n), rc)
	}
	return s.skip()
}

func (s *scanner) httpMember(key []byte, h *events.APIGatewayV2HTTPRequestContextHTTPDescription) error {
	switch string(key) {
	case "method":
		return s.setString(&h.Method)
	case "path":
		return s.setString(&h.Path)
	case "protocol":
		return s.setString(&h.Protocol)
	case "sourceIp":
		return s.setString(&h.SourceIP)
	case "userAgent":
		return s.setString(&h.UserAgent)
	}
	if n := folded(key, httpMembers); n != "" {
		return s.httpMember([]byte(n), h)
	}
	return s.skip()
}

// The member names each object decodes, by their folded form.
var (
	requestMembers = foldedNames("version", "routeKey", "rawPath", "rawQueryString", "cookies", "headers",
		"queryStringParameters", "pathParameters", "requestContext", "stageVariables", "body", "isBase64Encoded")
	contextMembers = foldedNames("routeKey", "accountId", "stage", "requestId", "authorizer", "apiId", "domainName",
		"domainPrefix", "time", "timeEpoch", "http", "authentication")
	httpMembers = foldedNames("method", "path", "protocol", "sourceIp", "userAgent")
)

func foldedNames(names ...string) map[string]string {
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[foldKey([]byte(n))] = n
	}
	return m
}

// folded is the member name key matches as encoding/json folds names, when
// it is not that name exactly; "" for none.
func folded(key []byte, names map[string]string) string {
	if n := names[foldKey(key)]; n != string(key) {
		return n
	}
	return ""
}

func (s *scanner) setString(dst *string) error {
	v, ok, err := s.str()
	if ok {
		*dst = v
	}
	return err
}

// setStrings decodes an array of strings as encoding/json does into a
// slice: replaced, nil for null, null elements "".
func (s *scanner) setStrings(dst *[]string) error {
	if null, err := s.null(); null || err != nil {
		*dst = nil
		return err
	}
	out := []string{}
	err := s.array(func() error {
		v, _, err := s.str()
		out = append(out, v)
		return err
	})
	*dst = out
	return err
}

// setMap decodes an object of strings as encoding/json does into a map:
// added to an existing map, nil for null, null values "".
func (s *scanner) setMap(dst *map[string]string) error {
	if null, err := s.null(); null || err != nil {
		*dst = nil
		return err
	}
	if *dst == nil {
		*dst = make(map[string]string, 8)
	}
	m := *dst
	return s.object(func(key []byte) error {
		k := s.string(key)
		v, _, err := s.str()
		m[k] = v
		return err
	})
}

// AppendResponse appends r's JSON, byte for byte what encoding/json's
// encoder with HTML escaping off (aws-lambda-go's) writes, to dst.
func AppendResponse(dst []byte, r events.APIGatewayV2HTTPResponse) []byte {
	dst = append(dst, `{"statusCode":`...)
	dst = strconv.AppendInt(dst, int64(r.StatusCode), 10)
	dst = append(dst, `,"headers":`...)
	dst = appendMap(dst, r.Headers)
	dst = append(dst, `,"multiValueHeaders":`...)
	if r.MultiValueHeaders == nil {
		dst = append(dst, "null"...)
	} else {
		keys := sortedKeys(nil, r.MultiValueHeaders)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonstr.Append(dst, k)
			dst = append(dst, ':')
			dst = appendStrings(dst, r.MultiValueHeaders[k])
		}
		dst = append(dst, '}')
	}
	dst = append(dst, `,"body":`...)
	dst = jsonstr.Append(dst, r.Body)
	if r.IsBase64Encoded {
		dst = append(dst, `,"isBase64Encoded":true`...)
	}
	dst = append(dst, `,"cookies":`...)
	dst = appendStrings(dst, r.Cookies)
	return append(dst, '}')
}

// sortedKeys appends m's keys to keys in encoding/json's order (byte-wise)
// and returns them.
func sortedKeys[V any](keys []string, m map[string]V) []string {
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func appendMap(dst []byte, m map[string]string) []byte {
	if m == nil {
		return append(dst, "null"...)
	}
	var arr [16]string // a response's headers, without allocating
	dst = append(dst, '{')
	for i, k := range sortedKeys(arr[:0], m) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonstr.Append(dst, k)
		dst = append(dst, ':')
		dst = jsonstr.Append(dst, m[k])
	}
	return append(dst, '}')
}

func appendStrings(dst []byte, v []string) []byte {
	if v == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, s := range v {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonstr.Append(dst, s)
	}
	return append(dst, ']')
}
