package phone_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// maxLibraryInitBytes bounds what github.com/nyaruka/phonenumbers may
// allocate in its package initialisation, which every function pays at cold
// start whether or not it handles a phone number. Upstream v1.8.1 parses all
// of its metadata and compiles 20 regular expressions there (2.5 MB in
// 35,500 allocations); the copy in third_party/phonenumbers does both on
// first use and keeps only its protobuf registration (10 KB).
const maxLibraryInitBytes = 64 << 10

// TestLibraryInitDefersMetadata runs this test binary again with
// GODEBUG=inittrace=1 and reads the library's line of the trace: allocated
// bytes, which do not depend on the machine's speed or load.
func TestLibraryInitDefersMetadata(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("run %s: %v\n%s", os.Args[0], err, stderr.String())
	}
	got, ok := initBytes(stderr.Bytes(), "github.com/nyaruka/phonenumbers")
	if !ok {
		t.Fatalf("no init line for github.com/nyaruka/phonenumbers in:\n%s", stderr.String())
	}
	if got > maxLibraryInitBytes {
		t.Errorf("github.com/nyaruka/phonenumbers allocates %d bytes at init, want at most %d: "+
			"its metadata must be parsed on first use, not at package initialisation", got, maxLibraryInitBytes)
	}
}

// initBytes finds pkg's line in an inittrace ("init pkg @0.5 ms, 2.1 ms
// clock, 292424 bytes, 1724 allocs") and returns its bytes.
func initBytes(trace []byte, pkg string) (int, bool) {
	sc := bufio.NewScanner(bytes.NewReader(trace))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[0] != "init" || f[1] != pkg || f[8] != "bytes," {
			continue
		}
		n, err := strconv.Atoi(f[7])
		return n, err == nil
	}
	return 0, false
}
