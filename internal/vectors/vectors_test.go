package vectors

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/tokensmith/tokensmith/core"
)

// The runner's rules (testdata/vectors/README.md) are what every other
// runner copies: each rule is checked here to fail when it should.

func TestMatchRules(t *testing.T) {
	m := func(expect, got string) string { return match(gjson.Parse(expect), gjson.Parse(got), "") }
	assert.Empty(t, m(`{"a":1}`, `{"a":1,"b":2}`), "subset: extra keys ignored")
	assert.NotEmpty(t, m(`{"a":1,"c":3}`, `{"a":1}`), "a named key must be present")
	assert.Empty(t, m(`{"a":null}`, `{}`), "null = absent")
	assert.Empty(t, m(`{"a":null}`, `{"a":null}`))
	assert.NotEmpty(t, m(`{"a":null}`, `{"a":0}`))
	assert.NotEmpty(t, m(`{"a":[1,2]}`, `{"a":[1,2,3]}`), "arrays match whole")
	assert.Empty(t, m(`{"a":[{"x":1}]}`, `{"a":[{"x":1,"y":2}]}`), "elements are subsets too")
	assert.Empty(t, m(`{"n":1.0}`, `{"n":1}`), "numbers by value")
	assert.NotEmpty(t, m(`{"s":"1"}`, `{"s":1}`), "types must agree")
	assert.NotEmpty(t, m(`{"b":false}`, `{}`), "false is not absent")
}

func TestBodyPad(t *testing.T) {
	b := responseBytes(gjson.Parse(`{"status":200,"body":"ab","body_pad":5}`))
	assert.Equal(t, `{"status":200,"headers":{},"body":"ab   "}`, string(b))
	raw := `{"status":200,"body":"abcdef","body_pad":3}`
	assert.Contains(t, string(responseBytes(gjson.Parse(raw))), `"body":"abcdef"`, "never cut")
	assert.Equal(t, `{"error":{"code":"network"}}`, string(responseBytes(gjson.Parse(`{"error":{"code":"network"}}`))))
}

const dqeCfg = `{"provider":"dqe-idmobile","base_url":"https://dqe.example","licence":"LIC-4711","client_secret":"s3cret-pass"}`

func run(t *testing.T, vector string) Result {
	t.Helper()
	return Run(&core.Handles{}, Vector{Name: "dqe-idmobile/t", Provider: "dqe-idmobile", Raw: []byte(vector)})
}

// The auto host answers lease, commit and release; the expect sees the
// first other output, and every output is in the transcript.
func TestAutoHost(t *testing.T) {
	res := run(t, `{"config":`+dqeCfg+`,"steps":[
		{"op":"next","now":1700000000000,"expect":{"request":{"method":"POST"}}},
		{"op":"feed","now":1700000000000,"response":{"status":200,"body":"{\"access_token\":\"TK0123456789\",\"expires_in\":\"300\"}"},"expect":{"token":{"rev":1},"changed":true}},
		{"op":"store","token":{"access_token":"TK9999999999","expires_at":1700000900,"rev":7}},
		{"op":"next","now":1700000250000,"expect":{"token":{"access_token":"TK9999999999"}}}]}`)
	assert.Empty(t, res.Failures)
	var kinds []string
	for _, out := range res.Transcript {
		g := gjson.ParseBytes(out)
		for _, k := range []string{"session", "lease", "request", "commit", "token", "release"} {
			if g.Get(k).Exists() {
				kinds = append(kinds, k)
				break
			}
		}
	}
	assert.Equal(t, []string{"session", "lease", "request", "commit", "token", "lease", "release", "token"}, kinds)
}

func TestManualHostAndFailures(t *testing.T) {
	res := run(t, `{"host":"manual","config":`+dqeCfg+`,"steps":[
		{"op":"next","now":1700000000000,"expect":{"lease":{"ttl_ms":150000}}},
		{"op":"feed","now":1700000000000,"lease":{"acquired":true,"token":null},"expect":{"request":{"method":"GET"}}},
		{"op":"bogus"}]}`)
	require.Len(t, res.Failures, 2, "%v", res.Failures)
	assert.Contains(t, res.Failures[0], "request.method")
	assert.Contains(t, res.Failures[1], "unknown op")
}

func TestLeakCheck(t *testing.T) {
	// A usage error that quotes nothing passes; the check itself is proven
	// by feeding an error whose message the runner sees as a leak.
	res := run(t, `{"config":`+dqeCfg+`,"steps":[
		{"op":"next","now":1700000000000},
		{"op":"feed","now":1700000000000,"response":{"error":{"code":"network","message":"boom s3cret-pass"}}}]}`)
	for _, f := range res.Failures {
		assert.NotContains(t, f, "s3cret-pass", "failure texts never print the secret either")
	}
	assert.Empty(t, res.Failures, "the core masks the host's text, so nothing leaks")
	secrets := secretsOf(gjson.Parse(`{"config":` + dqeCfg + `,"steps":[{"op":"restore","token":{"access_token":"TKrestored1"}}]}`))
	assert.ElementsMatch(t, []string{"LIC-4711", "s3cret-pass", "TKrestored1"}, secrets)
	assert.True(t, strings.Contains(strings.Join(core.SecretFields(), ","), "licence"))
}

// leaky answers an error that quotes the configured secret.
type leaky struct{ *core.Handles }

func (leaky) Next(int32, int64) []byte {
	return []byte(`{"error":{"code":"network","message":"GET ?client_secret=s3cret-pass"}}`)
}

func TestLeakCheckCatchesALeak(t *testing.T) {
	res := Run(leaky{&core.Handles{}}, Vector{Name: "dqe-idmobile/t", Provider: "dqe-idmobile", Raw: []byte(`{"config":` + dqeCfg + `,"steps":[{"op":"next","now":1700000000000}]}`)})
	require.Len(t, res.Failures, 1)
	assert.Contains(t, res.Failures[0], "leaks a secret")
	assert.NotContains(t, res.Failures[0], "s3cret-pass")
}
