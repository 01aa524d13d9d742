// Command testsummary reads `go test -json` on stdin, prints the output of
// failed tests and build errors, and ends with one "N passed, N failed" line.
// It exits 1 when anything failed, so `make test` fails too.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

func main() {
	passed, failed, skipped := 0, 0, 0
	output := map[string]*strings.Builder{} // package/test -> output
	var failures []string
	var other []string // lines that are not JSON: build errors
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			other = append(other, string(line))
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			b := output[key]
			if b == nil {
				b = &strings.Builder{}
				output[key] = b
			}
			b.WriteString(e.Output)
		case "pass":
			if e.Test != "" {
				passed++
			}
			delete(output, key)
		case "skip":
			if e.Test != "" {
				skipped++
			}
		case "fail":
			if e.Test != "" {
				failed++
			}
			failures = append(failures, key)
		}
	}
	sort.Strings(failures)
	for _, k := range failures {
		fmt.Printf("=== FAIL %s\n", k)
		if b := output[k]; b != nil {
			fmt.Print(b.String())
		}
	}
	for _, l := range other {
		fmt.Println(l)
	}
	fmt.Printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped)
	if len(failures) > 0 {
		os.Exit(1)
	}
}
