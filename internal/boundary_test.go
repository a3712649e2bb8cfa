package internal_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestInternalDoesNotKnowFiber fails if any package under internal/ depends,
// directly or not, on Fiber or fasthttp.
func TestInternalDoesNotKnowFiber(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list returned too little to judge: %q", out)
	}
	for _, dep := range deps {
		if strings.Contains(dep, "gofiber") || strings.Contains(dep, "valyala") {
			t.Errorf("internal/ depends on %s", dep)
		}
	}
}
