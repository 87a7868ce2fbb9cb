// Package vectors loads and runs the conformance vectors in testdata/vectors
// against any engine that speaks the core's JSON wire format: the Go core
// directly, the WASM module in wazero, and (through their own runners) Node,
// Chromium and workerd. Every runtime must produce the same transcript.
//
// A vector file is one JSON object:
//
//	{
//	  "name": "dqe-idmobile/post-grant",      // unique; provider id first
//	  "provider": "dqe-idmobile",
//	  "description": "why this case exists",
//	  "config": {…wire-format config…},
//	  "create": {"error": {"code": "config", "field": "licence"}},  // optional
//	  "steps": [
//	    {"op": "next", "now": 1700000000, "expect": {"request": {…}}},
//	    {"op": "feed", "now": 1700000000, "response": {…}, "expect": {"token": {…}}},
//	    {"op": "restore", "token": {…}}, {"op": "attach", "request": {…}},
//	    {"op": "token"}, {"op": "invalidate"}, {"op": "cancel"}
//	  ]
//	}
//
// "expect" is matched as a subset of the step's output: every key it names
// must be present with an equal value (objects recursively, arrays element by
// element); null matches null or absent. Without "create", creation must
// succeed. A response may carry "body_pad": N to be padded with spaces to N
// bytes, so oversized bodies need no megabyte files. Besides expectations,
// every output that is an error is checked to contain none of the config's
// secrets nor any token the vector's responses hand out.
package vectors

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// Engine is anything that runs the core behind the JSON wire format.
// Methods mirror core.Handles.
type Engine interface {
	New(config []byte) (h int32, out []byte)
	Next(h int32, now int64) []byte
	Feed(h int32, now int64, resp []byte) []byte
	Restore(h int32, tok []byte) []byte
	Token(h int32) []byte
	Attach(h int32, req []byte) []byte
	Invalidate(h int32) []byte
	Cancel(h int32) []byte
	Free(h int32) []byte
}

// Vector is one loaded case.
type Vector struct {
	Name     string
	Provider string
	File     string
	Raw      []byte
}

// Dir finds testdata/vectors from any package directory in the module.
func Dir() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(d, "testdata", "vectors")
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("testdata/vectors not found above the working directory")
		}
		d = parent
	}
}

// Load reads every *.json below dir, sorted by name, and checks each is a
// well-formed vector.
func Load(dir string) ([]Vector, error) {
	var out []Vector
	seen := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !gjson.ValidBytes(b) {
			return fmt.Errorf("%s: not valid JSON", p)
		}
		r := gjson.ParseBytes(b)
		v := Vector{Name: r.Get("name").String(), Provider: r.Get("provider").String(), File: p, Raw: b}
		if v.Name == "" || v.Provider == "" || !r.Get("config").IsObject() || !r.Get("steps").IsArray() {
			return fmt.Errorf("%s: a vector needs name, provider, config and steps", p)
		}
		if !strings.HasPrefix(v.Name, v.Provider+"/") {
			return fmt.Errorf("%s: name %q must start with the provider id", p, v.Name)
		}
		if other, dup := seen[v.Name]; dup {
			return fmt.Errorf("%s: name %q already used by %s", p, v.Name, other)
		}
		seen[v.Name] = p
		out = append(out, v)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// Result is one vector's run: every output in order, and what did not match.
type Result struct {
	Transcript [][]byte
	Failures   []string
}

// Run drives e through v.
func Run(e Engine, v Vector) Result {
	var res Result
	r := gjson.ParseBytes(v.Raw)
	secrets := secretsOf(r)
	record := func(label string, out []byte, expect gjson.Result) {
		res.Transcript = append(res.Transcript, out)
		if !gjson.ValidBytes(out) {
			res.Failures = append(res.Failures, fmt.Sprintf("%s: output is not JSON: %.200s", label, out))
			return
		}
		got := gjson.ParseBytes(out)
		if expect.Exists() {
			if msg := match(expect, got, ""); msg != "" {
				res.Failures = append(res.Failures, fmt.Sprintf("%s: %s\n    got: %.600s", label, msg, out))
			}
		}
		if e := got.Get("error"); e.Exists() {
			for _, s := range secrets {
				if strings.Contains(e.Raw, s) {
					res.Failures = append(res.Failures, fmt.Sprintf("%s: error output leaks a secret (%d bytes)", label, len(s)))
				}
			}
		}
	}
	h, out := e.New([]byte(r.Get("config").Raw))
	record("create", out, r.Get("create"))
	if h == 0 {
		if !r.Get("create").Exists() {
			res.Failures = append(res.Failures, "create failed but the vector expects success")
		}
		return res
	}
	defer e.Free(h)
	for i, st := range r.Get("steps").Array() {
		op := st.Get("op").String()
		label := fmt.Sprintf("step %d (%s)", i, op)
		var out []byte
		switch op {
		case "next":
			out = e.Next(h, st.Get("now").Int())
		case "feed":
			out = e.Feed(h, st.Get("now").Int(), responseBytes(st.Get("response")))
		case "restore":
			out = e.Restore(h, []byte(st.Get("token").Raw))
		case "token":
			out = e.Token(h)
		case "attach":
			out = e.Attach(h, []byte(st.Get("request").Raw))
		case "invalidate":
			out = e.Invalidate(h)
		case "cancel":
			out = e.Cancel(h)
		default:
			res.Failures = append(res.Failures, label+": unknown op")
			continue
		}
		record(label, out, st.Get("expect"))
	}
	return res
}

// responseBytes expands "body_pad" and hands on the rest unchanged.
func responseBytes(r gjson.Result) []byte {
	pad := r.Get("body_pad").Int()
	if pad <= 0 {
		return []byte(r.Raw)
	}
	body := r.Get("body").String()
	if n := int(pad) - len(body); n > 0 {
		body += strings.Repeat(" ", n)
	}
	var b bytes.Buffer
	b.WriteString(`{"status":`)
	b.WriteString(strconv.FormatInt(r.Get("status").Int(), 10))
	b.WriteString(`,"headers":`)
	if h := r.Get("headers"); h.Exists() {
		b.WriteString(h.Raw)
	} else {
		b.WriteString("{}")
	}
	b.WriteString(`,"body":`)
	b.WriteString(strconv.Quote(body)) // ASCII spaces: Go and JSON quoting agree
	b.WriteString("}")
	return b.Bytes()
}

var secretKeys = map[string]bool{
	"password": true, "client_secret": true, "licence": true, "key": true, "authentication_code": true,
	"pass_code": true, "jwt": true,
}

// secretsOf collects what must never appear in an error: configured
// secrets, and every token value a response or restored token carries.
func secretsOf(r gjson.Result) []string {
	var out []string
	add := func(s string) {
		if len(s) >= 6 {
			out = append(out, s)
		}
	}
	r.Get("config").ForEach(func(k, v gjson.Result) bool {
		if secretKeys[k.String()] {
			add(v.String())
		}
		return true
	})
	tokenKeys := []string{"access_token", "refresh_token", "Token", "RefreshToken", "token"}
	r.Get("steps").ForEach(func(_, st gjson.Result) bool {
		body := st.Get("response.body").String()
		if gjson.Valid(body) {
			b := gjson.Parse(body)
			for _, k := range tokenKeys {
				add(b.Get(k).String())
			}
			add(b.Get("data.token").String())
		}
		for _, k := range tokenKeys {
			add(st.Get("token." + k).String())
		}
		return true
	})
	return out
}

// match reports the first difference between expect and got, or "".
func match(expect, got gjson.Result, path string) string {
	at := path
	if at == "" {
		at = "(root)"
	}
	if expect.Type == gjson.Null {
		if got.Exists() && got.Type != gjson.Null {
			return at + ": want null or absent, got " + clip(got.Raw)
		}
		return ""
	}
	if !got.Exists() {
		return at + ": missing, want " + clip(expect.Raw)
	}
	switch {
	case expect.IsObject():
		if !got.IsObject() {
			return at + ": want an object, got " + clip(got.Raw)
		}
		var msg string
		expect.ForEach(func(k, ev gjson.Result) bool {
			p := k.String()
			if path != "" {
				p = path + "." + p
			}
			gv := got.Get(gjson.Escape(k.String()))
			msg = match(ev, gv, p)
			return msg == ""
		})
		return msg
	case expect.IsArray():
		ea, ga := expect.Array(), got.Array()
		if !got.IsArray() || len(ea) != len(ga) {
			return at + ": want " + clip(expect.Raw) + ", got " + clip(got.Raw)
		}
		for i := range ea {
			if msg := match(ea[i], ga[i], fmt.Sprintf("%s[%d]", path, i)); msg != "" {
				return msg
			}
		}
		return ""
	case expect.Type == gjson.Number:
		if got.Type != gjson.Number || got.Raw != expect.Raw && got.Num != expect.Num {
			return at + ": want " + expect.Raw + ", got " + clip(got.Raw)
		}
		return ""
	}
	if expect.Type != got.Type || expect.String() != got.String() {
		return at + ": want " + clip(expect.Raw) + ", got " + clip(got.Raw)
	}
	return ""
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
