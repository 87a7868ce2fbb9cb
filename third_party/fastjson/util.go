package fastjson

import "unsafe"

func b2s(b []byte) string {
	return *(*string)(unsafe.Pointer(&b))
}

//go:noinline
func s2b(s string) []byte {
	// Local to tokensmith's fork: unsafe.Slice instead of reflect headers,
	// which kept reflect in the WASM build.
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

const maxStartEndStringLen = 80

func startEndString(s string) string {
	if len(s) <= maxStartEndStringLen {
		return s
	}
	start := s[:40]
	end := s[len(s)-40:]
	return start + "..." + end
}
