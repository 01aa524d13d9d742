package benchproc_test

import (
	"os"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/internal/benchproc"
)

type figures struct {
	Echo     string `json:"echo"`
	VmHWMKiB int64  `json:"vmHWMKiB"`
}

func TestRun(t *testing.T) {
	var f figures
	out := benchproc.Run(t, "TestChild", []string{"BENCHPROC_CHILD=hello"}, &f)
	if f.Echo != "hello" || f.VmHWMKiB <= 0 {
		t.Errorf("figures = %+v, want echo hello and a positive VmHWM\n%s", f, out)
	}
}

// TestChild is the child of TestRun; it does nothing unless TestRun started it.
func TestChild(t *testing.T) {
	v := os.Getenv("BENCHPROC_CHILD")
	if v == "" {
		return
	}
	benchproc.Report(t, figures{Echo: v, VmHWMKiB: benchproc.VmHWM(t)})
}
