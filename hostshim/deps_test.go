package hostshim

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The package native programs import links neither wazero nor the embedded
// module (issue 7 item 5): the WebAssembly runtime is opt-in, in
// hostshim/wazero. Checked on the package and on the smallest native
// program (bench/nativesize), whose stripped size README reports.
func TestNativeLinksNoWazero(t *testing.T) {
	for _, pkg := range []string{".", "../bench/nativesize"} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		require.NoError(t, err, string(out))
		for _, dep := range strings.Fields(string(out)) {
			if strings.Contains(dep, "tetratelabs/wazero") || dep == "github.com/tokensmith/tokensmith/wasm" ||
				dep == "github.com/tokensmith/tokensmith/internal/wasmrun" || dep == "github.com/tokensmith/tokensmith/hostshim/wazero" {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}
