// Package vectors loads and runs the conformance vectors in testdata/vectors
// against any engine that speaks the core's JSON wire format: the Go core
// directly, the WASM module in wazero, and (through their own runners) Node,
// Chromium and workerd. Every runtime must produce the same transcript.
//
// The format and the matching rules are specified in
// testdata/vectors/README.md, which other runners implement from alone;
// this file is the reference implementation of that README.
package vectors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/tokensmith/tokensmith/core"
)

// Engine is anything that runs the core behind the JSON wire format.
// Methods mirror core.Handles (ABI v2).
type Engine interface {
	New(config, options []byte) (h int32, out []byte)
	Next(h int32, nowMs int64) []byte
	Feed(h int32, nowMs int64, input []byte) []byte
	Restore(h int32, tok []byte) []byte
	Token(h int32) []byte
	Attach(h int32, req []byte) []byte
	Invalidate(h int32, in []byte) []byte
	Refused(h int32, resp []byte) []byte
	Redact(h int32, text []byte) []byte
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
		if h := r.Get("host"); h.Exists() && h.String() != "auto" && h.String() != "manual" {
			return fmt.Errorf("%s: host must be \"auto\" or \"manual\"", p)
		}
		if o := r.Get("options"); o.Exists() && !o.IsObject() {
			return fmt.Errorf("%s: options must be an object", p)
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

// maxAutoAnswers bounds the store answers an auto host gives for one op: a
// session that keeps asking for leases without ever answering otherwise is
// a failure, not a hang.
const maxAutoAnswers = 16

// Run drives e through v.
func Run(e Engine, v Vector) Result {
	var res Result
	r := gjson.ParseBytes(v.Raw)
	secrets := secretsOf(r)
	auto := r.Get("host").String() != "manual"
	var store []byte // the auto host's memory store: a wire token, or nil
	fail := func(format string, a ...any) { res.Failures = append(res.Failures, fmt.Sprintf(format, a...)) }
	record := func(label string, out []byte) (gjson.Result, bool) {
		res.Transcript = append(res.Transcript, out)
		if !gjson.ValidBytes(out) {
			fail("%s: output is not JSON: %.200s", label, out)
			return gjson.Result{}, false
		}
		got := gjson.ParseBytes(out)
		if e := got.Get("error"); e.Exists() {
			for _, s := range secrets {
				if strings.Contains(e.Raw, s) {
					fail("%s: error output leaks a secret (%d bytes)", label, len(s))
				}
			}
		}
		return got, true
	}
	check := func(label string, out []byte, got gjson.Result, expect gjson.Result) {
		if expect.Exists() {
			if msg := match(expect, got, ""); msg != "" {
				fail("%s: %s\n    got: %.600s", label, msg, out)
			}
		}
	}
	opts := r.Get("options").Raw
	if opts == "" {
		opts = "{}"
	}
	h, out := e.New([]byte(r.Get("config").Raw), []byte(opts))
	if got, ok := record("create", out); ok {
		check("create", out, got, r.Get("create"))
	}
	if h == 0 {
		if !r.Get("create").Exists() {
			fail("create failed but the vector expects success")
		}
		return res
	}
	defer e.Free(h)
	for i, st := range r.Get("steps").Array() {
		op := st.Get("op").String()
		label := fmt.Sprintf("step %d (%s)", i, op)
		now := st.Get("now").Int()
		var out []byte
		switch op {
		case "next":
			out = e.Next(h, now)
		case "feed":
			in, err := inputBytes(st)
			if err != nil {
				fail("%s: %v", label, err)
				continue
			}
			out = e.Feed(h, now, in)
		case "restore":
			out = e.Restore(h, []byte(st.Get("token").Raw))
		case "token":
			out = e.Token(h)
		case "attach":
			out = e.Attach(h, []byte(st.Get("request").Raw))
		case "invalidate":
			out = e.Invalidate(h, []byte(`{"access_token":`+quote(st.Get("access_token").String())+`}`))
		case "refused":
			out = e.Refused(h, responseBytes(st.Get("response")))
		case "redact":
			out = e.Redact(h, []byte(st.Get("text").String()))
		case "cancel":
			out = e.Cancel(h)
		case "store":
			if tk := st.Get("token"); tk.Type == gjson.Null || !tk.Exists() {
				store = nil
			} else {
				store = []byte(tk.Raw)
			}
			continue
		default:
			fail("%s: unknown op", label)
			continue
		}
		got, ok := record(label, out)
		if !ok {
			continue
		}
		// The auto host answers lease, commit and release as the trivial
		// host of docs/protocol.md does, at the op's now.
		for n := 0; auto && (op == "next" || op == "feed"); n++ {
			var in []byte
			switch {
			case got.Get("lease").IsObject():
				tok := "null"
				if store != nil {
					tok = string(store)
				}
				in = []byte(`{"lease":{"acquired":true,"token":` + tok + `}}`)
			case got.Get("commit").IsObject():
				store = []byte(got.Get("commit.token").Raw)
				in = []byte(`{"commit":{"ok":true}}`)
			case got.Get("release").IsObject():
				in = []byte(`{"release":{}}`)
			}
			if in == nil {
				break
			}
			if n == maxAutoAnswers {
				fail("%s: more than %d store steps in a row", label, maxAutoAnswers)
				break
			}
			out = e.Feed(h, now, in)
			if got, ok = record(label+" auto", out); !ok {
				break
			}
		}
		if ok {
			check(label, out, got, st.Get("expect"))
		}
	}
	return res
}

// inputBytes builds the input a feed op hands the engine: exactly one of
// response (padded, wrapped as {"response":…}), lease, commit or release.
func inputBytes(st gjson.Result) ([]byte, error) {
	for _, k := range []string{"lease", "commit", "release"} {
		if v := st.Get(k); v.Exists() {
			return []byte(`{"` + k + `":` + v.Raw + `}`), nil
		}
	}
	if v := st.Get("response"); v.Exists() {
		return append(append([]byte(`{"response":`), responseBytes(v)...), '}'), nil
	}
	return nil, fmt.Errorf("feed needs response, lease, commit or release")
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
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

// secretKeys are the config keys the core declares secret.
var secretKeys = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range core.SecretFields() {
		m[k] = true
	}
	return m
}()

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
