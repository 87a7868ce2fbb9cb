package hostshim

import (
	"errors"

	"github.com/tokensmith/tokensmith/core"
)

// newWASMEngine is replaced by the wazero-backed engine (issue 4).
func newWASMEngine(c core.Config) (engine, error) {
	return nil, errors.New("hostshim: the WASM runtime is not built yet")
}
