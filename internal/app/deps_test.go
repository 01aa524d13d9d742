package app

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestFunctionsLinkNoIdleInit lists what the function binaries link (as
// make build builds them) and fails on a package that would run costly
// package initialisation at every cold start for code no function calls.
// Each entry says what linked it before.
func TestFunctionsLinkNoIdleInit(t *testing.T) {
	t.Parallel()
	forbidden := map[string]string{
		"github.com/aws/aws-sdk-go-v2/service/dynamodb": "otelaws: use appendAWSTracing",
		"github.com/aws/aws-sdk-go-v2/service/sns":      "otelaws: use appendAWSTracing",
		"golang.org/x/text/language/display":            "phonenumbers' geocoding, left out of third_party/phonenumbers",
	}
	out, err := exec.Command("go", "list", "-tags", "lambda.norpc", "-deps", "../../functions/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/nyaruka/phonenumbers") {
		t.Fatalf("go list -deps printed no github.com/nyaruka/phonenumbers among %d packages: not the functions' graph", len(deps))
	}
	for _, d := range deps {
		if why, ok := forbidden[d]; ok {
			t.Errorf("the functions link %s (%s)", d, why)
		}
	}
}
