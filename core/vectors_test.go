package core_test

import (
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/internal/vectors"
)

// minVectorsPerProvider is the floor the conformance suite promises.
const minVectorsPerProvider = 15

// TestVectors runs every conformance vector against the Go core directly.
// The WASM, Node, browser and edge runners read the same files.
func TestVectors(t *testing.T) {
	dir, err := vectors.Dir()
	require.NoError(t, err)
	vs, err := vectors.Load(dir)
	require.NoError(t, err)
	require.NotEmpty(t, vs)

	counts := map[string]int{}
	for _, v := range vs {
		counts[v.Provider]++
		t.Run(v.Name, func(t *testing.T) {
			res := vectors.Run(&core.Handles{}, v)
			if len(res.Failures) > 0 {
				t.Errorf("%s:\n  %s", v.File, strings.Join(res.Failures, "\n  "))
			}
		})
	}
	var ids []string
	for id := range counts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		t.Logf("vectors %-14s %d", id, counts[id])
	}
	for _, id := range core.Providers() {
		require.Contains(t, counts, id, "provider %s has no vectors", id)
		require.GreaterOrEqualf(t, counts[id], minVectorsPerProvider, "provider %s has too few vectors", id)
	}
}
