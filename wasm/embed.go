//go:build !wasip1

// Package wasm holds the tokensmith core compiled to WebAssembly (ABI v2,
// ABI.md) for hosts that run it in a WebAssembly runtime. The module is
// committed as wasm/tokensmith.wasm, the one copy that the Go embed here and
// the js/ package both read; `make wasm` rebuilds it from core/ and
// wasm/main.go (which is the module's source: it builds only for wasip1).
package wasm

import _ "embed"

// Module is the compiled module (wasip1 reactor: call _initialize first).
//
//go:embed tokensmith.wasm
var Module []byte

// ABIVersion is what the module's abi_version export answers. Hosts refuse
// a module that answers anything else.
const ABIVersion = 2

// GoVersion is the toolchain that built Module: builds are byte-identical
// only with the same toolchain.
//
//go:embed tokensmith.wasm.goversion
var GoVersion string
