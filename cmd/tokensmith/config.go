package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/tokensmith/tokensmith/core"
)

// envPrefix is the prefix of configuration environment variables: every
// config field can be given as TOKENSMITH_<FIELD IN UPPER CASE>, e.g.
// TOKENSMITH_PASSWORD, TOKENSMITH_CLIENT_SECRET, TOKENSMITH_KEY. A variable
// that is set and not empty overrides the file's value or fills a missing
// one, so secrets can stay out of the file. With TOKENSMITH_PROVIDER set the
// file may be left out altogether.
const envPrefix = "TOKENSMITH_"

// envOverrides returns the fields set in the environment, in the core's
// order of config fields.
func envOverrides(getenv func(string) (string, bool)) [][2]string {
	var out [][2]string
	for _, f := range core.ConfigFields() {
		if v, ok := getenv(envPrefix + strings.ToUpper(f)); ok && v != "" {
			out = append(out, [2]string{f, v})
		}
	}
	return out
}

// buildConfig lays the environment over the file's JSON and parses the
// result with core.ParseConfig, so the file and the environment obey one set
// of rules. file is nil when no file was given.
func buildConfig(file []byte, getenv func(string) (string, bool)) (core.Config, error) {
	over := envOverrides(getenv)
	if len(over) == 0 {
		if file == nil {
			return core.Config{}, &core.Error{Code: core.CodeUsage, Message: "no configuration: give --config FILE (or - for stdin), or set TOKENSMITH_PROVIDER and the other fields in the environment"}
		}
		return core.ParseConfig(file)
	}
	keys, vals := []string(nil), map[string]json.RawMessage{}
	if file != nil {
		var err error
		if keys, vals, err = readObject(file); err != nil {
			return core.Config{}, err
		}
	}
	for _, kv := range over {
		k, v := kv[0], kv[1]
		raw, _ := json.Marshal(v)
		if k == "leeway_seconds" {
			if _, err := strconv.ParseInt(v, 10, 64); err == nil {
				raw = json.RawMessage(v)
			}
		}
		if _, ok := vals[k]; !ok {
			keys = append(keys, k)
		}
		vals[k] = raw
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kj, _ := json.Marshal(k)
		b.Write(kj)
		b.WriteByte(':')
		b.Write(vals[k])
	}
	b.WriteByte('}')
	return core.ParseConfig(b.Bytes())
}

// readObject splits a JSON object into its keys (in order) and raw values,
// refusing a key given twice as core.ParseConfig does.
func readObject(data []byte) ([]string, map[string]json.RawMessage, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	notJSON := &core.Error{Code: core.CodeConfig, Field: "config", Message: "config: not valid JSON"}
	dec := json.NewDecoder(bytes.NewReader(data))
	t, err := dec.Token()
	if err != nil {
		return nil, nil, notJSON
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return nil, nil, &core.Error{Code: core.CodeConfig, Field: "config", Message: "config: must be a JSON object"}
	}
	var keys []string
	vals := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, notJSON
		}
		k, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, notJSON
		}
		if _, dup := vals[k]; dup {
			return nil, nil, &core.Error{Code: core.CodeConfig, Field: k, Message: clip(k, 40) + ": given twice"}
		}
		keys = append(keys, k)
		vals[k] = raw
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, notJSON
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, nil, notJSON
	}
	return keys, vals, nil
}
