package core

import (
	"sort"
	"strconv"
	"unicode/utf8"
)

// The wire format is written by hand rather than with encoding/json: it keeps
// encoding/json, reflect-heavy code and fmt out of the WASM build (about
// 200 KB gzipped) and makes the output byte-for-byte deterministic (sorted
// keys, one escaping rule) on every runtime.

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as JSON.stringify and encoding/json do.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0 // s[start:i] is plain and not yet copied: runs go in one append
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < 0x7f {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			// Valid JSON, but not valid JavaScript source before ES2019.
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// objWriter appends one JSON object, field by field.
type objWriter struct {
	b     []byte
	first bool
}

func newObj(dst []byte) objWriter { return objWriter{b: append(dst, '{'), first: true} }

func (w *objWriter) key(k string) {
	if !w.first {
		w.b = append(w.b, ',')
	}
	w.first = false
	w.b = appendJSONString(w.b, k)
	w.b = append(w.b, ':')
}

func (w *objWriter) str(k, v string) { w.key(k); w.b = appendJSONString(w.b, v) }

// optStr writes v, or nothing when v is empty.
func (w *objWriter) optStr(k, v string) {
	if v != "" {
		w.str(k, v)
	}
}

// strOrNull writes v, or null when v is empty.
func (w *objWriter) strOrNull(k, v string) {
	if v == "" {
		w.key(k)
		w.b = append(w.b, "null"...)
		return
	}
	w.str(k, v)
}

func (w *objWriter) int(k string, v int64) { w.key(k); w.b = strconv.AppendInt(w.b, v, 10) }

// unixOrNull writes v, or null when v is 0 (unknown).
func (w *objWriter) unixOrNull(k string, v int64) {
	if v == 0 {
		w.key(k)
		w.b = append(w.b, "null"...)
		return
	}
	w.int(k, v)
}

func (w *objWriter) bool(k string, v bool) {
	w.key(k)
	w.b = strconv.AppendBool(w.b, v)
}

func (w *objWriter) raw(k string, v []byte) { w.key(k); w.b = append(w.b, v...) }

// strMap writes a string map with sorted keys.
func (w *objWriter) strMap(k string, m map[string]string) {
	w.key(k)
	w.b = appendStrMap(w.b, m)
}

//go:noinline
func (w *objWriter) done() []byte { return append(w.b, '}') }

func appendStrMap(dst []byte, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	o := newObj(dst)
	for _, k := range keys {
		o.str(k, m[k])
	}
	return o.done()
}
