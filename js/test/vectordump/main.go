// Command vectordump runs every conformance vector against the native Go core
// (internal/vectors, the reference runner) and prints, as one JSON object,
// what the JS runners compare themselves with: the transcript of each vector
// (byte for byte, testdata/vectors/README.md "Transcript"), the counts per
// provider, the providers and the config fields the core declares secret.
// Test tooling for js/test/vectors.test.js and workerd.test.js only.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/internal/vectors"
)

type dump struct {
	Providers    []string            `json:"providers"`
	SecretFields []string            `json:"secret_fields"`
	Counts       map[string]int      `json:"counts"`
	Failed       []string            `json:"failed"`
	Transcripts  map[string][]string `json:"transcripts"`
}

func main() {
	dir, err := vectors.Dir()
	if err != nil {
		fmt.Fprintln(os.Stderr, "vectordump:", err)
		os.Exit(1)
	}
	vs, err := vectors.Load(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vectordump:", err)
		os.Exit(1)
	}
	d := dump{Providers: core.Providers(), SecretFields: core.SecretFields(), Counts: map[string]int{},
		Failed: []string{}, Transcripts: map[string][]string{}}
	for _, v := range vs {
		res := vectors.Run(&core.Handles{}, v) // a fresh engine per vector, as the README says
		d.Counts[v.Provider]++
		if len(res.Failures) > 0 {
			d.Failed = append(d.Failed, v.Name)
		}
		out := make([]string, len(res.Transcript))
		for i, b := range res.Transcript {
			out[i] = string(b)
		}
		d.Transcripts[v.Name] = out
	}
	if err := json.NewEncoder(os.Stdout).Encode(d); err != nil {
		fmt.Fprintln(os.Stderr, "vectordump:", err)
		os.Exit(1)
	}
}
