package lambdaruntime

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"strings"
)

// invokeError is the error document of the Runtime API, as aws-lambda-go
// writes it: {"errorMessage", "errorType", "stackTrace"}.
type invokeError struct {
	Message    string       `json:"errorMessage"`
	Type       string       `json:"errorType"`
	StackTrace []stackFrame `json:"stackTrace,omitempty"`
	panicked   bool
}

type stackFrame struct {
	Path  string `json:"path"`
	Line  int32  `json:"line"`
	Label string `json:"label"`
}

func (e *invokeError) document() []byte {
	b, err := json.Marshal(e)
	if err != nil {
		// Unreachable for strings and frames; keep the API's shape anyway.
		return []byte(`{"errorMessage":"unencodable error","errorType":"Runtime.SerializationError"}`)
	}
	return b
}

// call runs h (appending to dst when h is an AppendHandler), turning a
// returned error or a panic into an invokeError.
func call(ctx context.Context, h Handler, payload, dst []byte) (out []byte, ie *invokeError) {
	defer func() {
		if v := recover(); v != nil {
			ie = &invokeError{Message: fmt.Sprint(v), Type: typeName(v), StackTrace: panicStack(), panicked: true}
		}
	}()
	var err error
	if a, ok := h.(AppendHandler); ok {
		out, err = a.InvokeAppend(ctx, payload, dst)
	} else {
		out, err = h.Invoke(ctx, payload)
	}
	if err != nil {
		return nil, &invokeError{Message: err.Error(), Type: typeName(err)}
	}
	return out, nil
}

// typeName is the name of v's type without its package, a pointer's
// element's: errorString for errors.New, the errorType aws-lambda-go
// reports.
func typeName(v any) string {
	t := reflect.TypeOf(v)
	if t == nil {
		return "nil"
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// panicStack is the panicking goroutine's stack from where it panicked (the
// frames above runtime.gopanic: this package's deferred recovery), at most
// 32 frames.
func panicStack() []stackFrame {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(3, pcs) // runtime.Callers, panicStack, the deferred func
	frames := runtime.CallersFrames(pcs[:n])
	var out []stackFrame
	for {
		f, more := frames.Next()
		if f.Function == "runtime.gopanic" {
			out = out[:0]
		} else if len(out) < 32 {
			fn := f.Function[strings.LastIndex(f.Function, "/")+1:]
			// The path from the import path's root, the label without its package.
			out = append(out, stackFrame{Path: trimPath(f.File, f.Function), Line: int32(f.Line), Label: fn[strings.Index(fn, ".")+1:]})
		}
		if !more {
			break
		}
	}
	return out
}

// trimPath keeps as many trailing elements of file as its function's
// import path has, plus the file's name.
func trimPath(file, function string) string {
	i := len(file)
	for n := strings.Count(function, "/") + 2; n > 0; n-- {
		i = strings.LastIndex(file[:i], "/")
		if i < 0 {
			return file
		}
	}
	return file[i+1:]
}
