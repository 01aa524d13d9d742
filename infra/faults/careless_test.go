package faults

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// carelessResult is what the careless tenant saw.
type carelessResult struct {
	mu             sync.Mutex
	answers        map[string]map[int]int // action → status → count
	errors         []string               // 5xx or no answer
	spintaxSlowest time.Duration          // the slowest answer to a pathological template
	wideID         string                 // the 30,000-column import (header over 64 KiB)
	wideState      string                 // its final status and error
	narrowID       string                 // 30,000 one-letter columns (header under 64 KiB)
	narrowSt       string
	hookOK         int    // a right secret's answer after the wrong ones
	hookLeft       string // the instance's RateLimit-Remaining after them
}

func (r *carelessResult) add(action string, status int, err error, body []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.answers == nil {
		r.answers = map[string]map[int]int{}
	}
	if r.answers[action] == nil {
		r.answers[action] = map[int]int{}
	}
	r.answers[action][status]++
	if status >= 500 || status == 0 {
		r.errors = append(r.errors, fmt.Sprintf("%s: %d %.200s %v", action, status, body, err))
	}
}

// spintax is "{x" repeated 28 times: before the linear parser, 26 repeats
// took 10 s and each two more characters doubled it.
var spintax = strings.Repeat("{x", 28)

// runCareless plays the careless tenant until ctx ends: NUL bytes in
// names, pathological spintax, a CSV with 30,000 header columns, and wrong
// WuzAPI webhook secrets (from another client address) against a good
// tenant's instance. Every answer must be a 4xx or a success.
func (s *suite) runCareless(ctx context.Context) {
	tn, r := s.careless, &s.bad
	r.wideID, r.narrowID = s.uploadWide(ctx, "c"), s.uploadWide(ctx, "")
	wrong := clientFrom("127.0.0.2")
	hook := s.good[0].webhookURL
	u, _ := url.Parse(hook)
	q := u.Query()
	q.Set("secret", "wrong-secret")
	u.RawQuery = q.Encode()
	actions := []struct {
		name, method, path, body string
	}{
		{"PATCH /v1/me name with NUL", "PATCH", "/v1/me", `{"name":"a\u0000b"}`},
		{"POST /v1/instances name with NUL", "POST", "/v1/instances", fmt.Sprintf(`{"name":"x\u0000y","baseUrl":%q,"token":"t"}`, s.fake.URL)},
		{"POST /v1/imports fileName with NUL", "POST", "/v1/imports", `{"fileName":"a\u0000b.csv"}`},
		{"POST /v1/campaigns {x x28 spintax", "POST", "/v1/campaigns", fmt.Sprintf(`{"instanceId":%q,"message":%q,"contacts":["5511988880001","5511988880002"]}`, tn.instanceID, spintax)},
	}
	// One action a second: the campaigns it creates (two recipients each)
	// stay within its instance's new-contact budget.
	tk := time.NewTicker(time.Second)
	defer tk.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		a := actions[n%len(actions)]
		start := time.Now()
		status, b, _, err := s.do(ctx, nil, a.method, a.path, tn.key, a.body)
		if ctx.Err() != nil {
			return
		}
		if strings.Contains(a.name, "spintax") {
			r.mu.Lock()
			r.spintaxSlowest = max(r.spintaxSlowest, time.Since(start))
			r.mu.Unlock()
		}
		r.add(a.name, status, err, b)
		for range 5 {
			status, b, _, err = s.do(ctx, wrong, "POST", u.String(), "", "jsonData=%7B%7D")
			if ctx.Err() != nil {
				return
			}
			r.add("POST /v1/webhooks/wuzapi wrong secret", status, err, b)
		}
	}
}

// uploadWide uploads a CSV whose header has 30,000 columns named prefix
// and their number (a header of about 190 KB), or, with no prefix, "x"
// each (60 KB); the import must fail with a reason, never run out of
// memory (it once did) or stay running.
func (s *suite) uploadWide(ctx context.Context, prefix string) string {
	cols := make([]string, 30000)
	for i := range cols {
		cols[i] = "x"
		if prefix != "" {
			cols[i] = fmt.Sprintf("%s%d", prefix, i)
		}
	}
	cols[0] = "phone"
	var b strings.Builder
	b.WriteString(strings.Join(cols, ",") + "\n")
	fmt.Fprintf(&b, "5511977700001%s\n", strings.Repeat(",v", len(cols)-1)) // the header alone decides
	return s.upload(ctx, s.careless, "wide"+prefix+".csv", b.String())
}

// upload creates an import for tn and uploads body through the presigned
// URL, as a client does; it returns the import's id.
func (s *suite) upload(ctx context.Context, tn *tenant, name, body string) string {
	var up struct {
		Data struct {
			ImportID  string            `json:"importId"`
			UploadURL string            `json:"uploadUrl"`
			Method    string            `json:"method"`
			Headers   map[string]string `json:"headers"`
		} `json:"data"`
	}
	s.mustJSON("POST", "/v1/imports", tn.key, fmt.Sprintf(`{"fileName":%q}`, name), 201, &up)
	req, err := http.NewRequestWithContext(ctx, up.Data.Method, up.Data.UploadURL, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	for k, v := range up.Data.Headers {
		req.Header.Set(k, v)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		s.t.Fatalf("upload %s: %v", name, err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		s.t.Fatalf("upload %s: %d", name, resp.StatusCode)
	}
	return up.Data.ImportID
}

// checkCarelessAfter waits for the wide import's outcome and posts a
// webhook with the right secret from a third address: the wrong secrets
// must not have spent the instance's allowance.
func (s *suite) checkCarelessAfter(ctx context.Context) {
	r := &s.bad
	for _, im := range []struct {
		id    string
		state *string
	}{{r.wideID, &r.wideState}, {r.narrowID, &r.narrowSt}} {
		poll(ctx, 2*time.Minute, func() bool {
			var st, msg string
			err := s.db.QueryRow(ctx, `SELECT status, coalesce(error, '') FROM imports WHERE id = $1`, im.id).Scan(&st, &msg)
			*im.state = st + ": " + msg
			return err == nil && (st == "completed" || st == "failed")
		})
	}
	right := clientFrom("127.0.0.3")
	form := "jsonData=" + url.QueryEscape(`{"type":"ReadReceipt","state":"Delivered","event":{"MessageIDs":["3EB0NOSUCHMESSAGE0000"],"Type":""}}`) + "&userID=x&instanceName=x"
	req, err := http.NewRequestWithContext(ctx, "POST", s.good[0].webhookURL, strings.NewReader(form))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := right.Do(req)
	if err != nil {
		s.t.Errorf("webhook with the right secret: %v", err)
		return
	}
	_ = resp.Body.Close()
	r.hookOK, r.hookLeft = resp.StatusCode, resp.Header.Get("RateLimit-Remaining")
}
