package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
)

// ErrFunctionTimeout means an invocation ran past the function's Timeout.
// The instance that ran it is replaced, as Lambda does.
var ErrFunctionTimeout = errors.New("function timed out")

// ErrClosed means the platform is shutting down.
var ErrClosed = errors.New("platform is closed")

// FunctionError is an error the function returned or died of: what the
// Lambda Invoke API reports with X-Amz-Function-Error.
type FunctionError struct {
	Function string
	Type     string // errorType, e.g. errorString or Runtime.ExitError
	Message  string // errorMessage
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("function %s failed: %s: %s", e.Function, e.Type, e.Message)
}

// timeoutMargin is how long past the function's Timeout the runner waits
// for RIE's own timeout answer before it gives up on the instance.
const timeoutMargin = 2 * time.Second

// pool keeps a function's instances; an idle instance waits in the channel.
type pool struct {
	fn     *function
	idle   chan *slot
	slots  []*slot
	client *http.Client
	closed chan struct{}
	once   sync.Once
}

// slot holds one instance; inst is nil while it cannot be started. Only
// the invocation holding the slot changes inst; close reads it meanwhile.
type slot struct {
	n    int
	mu   sync.Mutex
	inst *instance
}

func (s *slot) get() *instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inst
}

func (s *slot) set(inst *instance) {
	s.mu.Lock()
	s.inst = inst
	s.mu.Unlock()
}

func newPool(ctx context.Context, fn *function, size int) (*pool, error) {
	p := &pool{
		fn:     fn,
		idle:   make(chan *slot, size),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}},
		closed: make(chan struct{}),
	}
	errs := make([]error, size)
	var wg sync.WaitGroup
	for n := range size {
		s := &slot{n: n + 1}
		p.slots = append(p.slots, s)
		wg.Go(func() {
			inst, err := startInstance(ctx, fn, s.n)
			s.set(inst)
			errs[n] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, s := range p.slots {
			if inst := s.get(); inst != nil {
				wg.Go(inst.stop)
			}
		}
		wg.Wait()
		return nil, err
	}
	for _, s := range p.slots {
		p.idle <- s
	}
	return p, nil
}

// invoke runs one invocation on an idle instance, waiting for one.
func (p *pool) invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var s *slot
	select {
	case s = <-p.idle:
	case <-p.closed:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { p.idle <- s }()
	select {
	case <-p.closed:
		return nil, ErrClosed
	default:
	}
	if inst := s.get(); inst == nil || !inst.alive() || inst.killed.Load() {
		if err := p.restart(ctx, s, "instance is not running"); err != nil {
			return nil, err
		}
	}
	out, healthy, err := p.call(ctx, s.get(), payload)
	if !healthy {
		reason := "invocation did not complete"
		if err != nil {
			reason = err.Error()
		}
		if rerr := p.restart(context.WithoutCancel(ctx), s, reason); rerr != nil {
			p.fn.log.Error("restart function instance", "instance", s.n, "err", rerr)
		}
	}
	return out, err
}

// call posts the event to RIE. healthy is false when the instance must be
// replaced: it timed out, crashed, or was left mid-invocation.
func (p *pool) call(ctx context.Context, inst *instance, payload []byte) (out []byte, healthy bool, err error) {
	cctx, cancel := context.WithTimeout(ctx, p.fn.timeout+timeoutMargin)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, inst.url, bytes.NewReader(payload))
	if err != nil {
		return nil, true, fmt.Errorf("invoke %s: %w", p.fn.logicalID, err)
	}
	req.Header.Set("X-Amzn-RequestId", uuid.NewString())
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return nil, false, ctx.Err()
		case cctx.Err() != nil:
			return nil, false, ErrFunctionTimeout
		}
		return nil, false, fmt.Errorf("invoke %s: %w", p.fn.logicalID, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		if cctx.Err() != nil && ctx.Err() == nil {
			return nil, false, ErrFunctionTimeout
		}
		return nil, false, fmt.Errorf("read response of %s: %w", p.fn.logicalID, err)
	}
	if bytes.HasPrefix(body, []byte("Task timed out after")) {
		return nil, false, ErrFunctionTimeout
	}
	if fe := p.functionError(body); fe != nil {
		// A returned error leaves the runtime ready for the next event; any
		// other failure (Runtime.ExitError, ...) comes with a non-200.
		return nil, resp.StatusCode == http.StatusOK, fe
	}
	if resp.StatusCode != http.StatusOK {
		return nil, false, &FunctionError{Function: p.fn.logicalID, Type: "Runtime.Unknown", Message: fmt.Sprintf("aws-lambda-rie answered %d: %.200s", resp.StatusCode, body)}
	}
	return body, true, nil
}

// functionError recognises the error document of the Runtime API:
// {"errorMessage": ..., "errorType": ..., "stackTrace": ...} and nothing else.
func (p *pool) functionError(body []byte) *FunctionError {
	var doc map[string]json.RawMessage
	if json.Unmarshal(body, &doc) != nil {
		return nil //nolint:nilerr // not JSON: not the Runtime API's error document
	}
	if _, ok := doc["errorMessage"]; !ok {
		return nil
	}
	for k := range doc {
		switch k {
		case "errorMessage", "errorType", "stackTrace", "cause", "requestId":
		default:
			return nil
		}
	}
	var e struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	_ = json.Unmarshal(body, &e)
	return &FunctionError{Function: p.fn.logicalID, Type: e.Type, Message: e.Message}
}

// kill SIGKILLs the function processes of every instance (not RIE) and
// marks those instances for replacement before their next invocation.
func (p *pool) kill() int {
	n := 0
	for _, s := range p.slots {
		inst := s.get()
		if inst == nil || !inst.alive() {
			continue
		}
		for _, pid := range childPIDs(inst.cmd.Process.Pid) {
			if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
				inst.killed.Store(true)
				n++
			}
		}
	}
	return n
}

// restart replaces the slot's instance.
func (p *pool) restart(ctx context.Context, s *slot, reason string) error {
	if old := s.get(); old != nil {
		select {
		case <-p.closed:
		default:
			p.fn.log.Info("replacing function instance", "instance", s.n, "reason", reason)
		}
		old.stop()
		s.set(nil)
	}
	select {
	case <-p.closed:
		return ErrClosed
	default:
	}
	inst, err := startInstance(ctx, p.fn, s.n)
	if err != nil {
		return err
	}
	s.set(inst)
	return nil
}

// close stops every instance; invocations in flight fail at once, and close
// returns when each has handed its slot back, stopping whatever instance a
// racing restart may have started.
func (p *pool) close() {
	p.once.Do(func() {
		close(p.closed)
		var wg sync.WaitGroup
		for _, s := range p.slots {
			if inst := s.get(); inst != nil {
				wg.Go(inst.stop)
			}
		}
		wg.Wait()
		for range p.slots {
			if inst := (<-p.idle).get(); inst != nil {
				inst.stop()
			}
		}
		p.client.CloseIdleConnections()
	})
}

// pids returns every process of the pool's instances.
func (p *pool) pids() []int {
	var out []int
	for _, s := range p.slots {
		if inst := s.get(); inst != nil && inst.alive() {
			out = append(out, inst.pids()...)
		}
	}
	return out
}
