package core

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 8 item 2: every exported type × every renderer a host may log it
// with. json.Marshal, slog's JSON and text handlers and every fmt verb
// printed passwords, tokens and licences from Config, Request, Step and
// Token; the renderings in render.go must never.

// renderSecrets are put in every field of the samples that may hold a
// secret; none may appear in any rendering, raw or hex-encoded.
var renderSecrets = []string{
	"pw-S3cr3t-1", "cs-S3cr3t-2", "lic-S3cr3t-3", "key-S3cr3t-4", "ac-S3cr3t-5", "pc-S3cr3t-6", "jwt-S3cr3t-7",
	"at-T0k3n-8", "rt-T0k3n-9", "claim-S3cr3t-10", "hdr-S3cr3t-11", "body-S3cr3t-12",
}

// renderSamples are values of every exported type, holding the secrets in
// every field that can, pointers too, in every Step kind.
func renderSamples(t *testing.T) []any {
	sec := renderSecrets
	cfg := Config{Provider: DQEIDMobile, BaseURL: "https://dqe.example/base", LeewaySeconds: 30, Username: "bob", Password: sec[0],
		ClientID: "cid", ClientSecret: sec[1], Licence: sec[2], Key: sec[3], AuthenticationCode: sec[4], Identifier: "ident",
		PassCode: sec[5], JWT: sec[6], Organisation: "org", Unit: "unit", Method: "POST", Encoding: "json", CompanyID: "ACME",
		TokenHeader: "Token", UserType: "rep"}
	tok := Token{Provider: DQEIDMobile, AccessToken: sec[7], TokenType: "Bearer", RefreshToken: sec[8], ExpiresAt: 1700000300,
		RefreshAt: 1700000240, IssuedAt: 1700000000, ReceivedAt: 1700000000, Rev: 3,
		Attach:  Attach{In: "header", Name: "Authorization", Value: "Bearer " + sec[7], Params: map[string]string{"licence": sec[2]}},
		Extra:   map[string]string{"claim": sec[9]},
		Learned: map[string]string{"hint": sec[9]}}
	req := Request{Method: "POST", URL: "https://bob:" + sec[0] + "@dqe.example/ACCESS_TOKEN/?client_secret=" + sec[1] + "#" + sec[1],
		Header: map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(sec[3]+":")), "X-Key": sec[10]},
		Body:   "password=" + sec[0] + "&licence=" + sec[2], TimeoutMs: 60000}
	resp := Response{Status: 200, Header: map[string]string{"Set-Cookie": sec[10]}, Body: []byte(`{"access_token":"` + sec[7] + `","x":"` + sec[11] + `"}`)}
	// A host's network error may quote the URL, query and all, and carry
	// anything in Field.
	hostErr := &Error{Code: CodeNetwork, Message: `Post "https://dqe.example/ACCESS_TOKEN/?client_secret=` + sec[1] + `": dial tcp: connection refused`, Field: sec[0], Retryable: true}
	netResp := Response{Err: hostErr}
	coreErr := &Error{Code: CodeInvalidGrant, Status: 400, Message: "HTTP 400: [redacted]", Field: sec[0], RetryAtMs: 1700000010000}
	steps := []Step{
		{Kind: StepToken, Token: tok, Changed: true},
		{Kind: StepRequest, Request: req, Usable: &tok},
		{Kind: StepWait, UntilMs: 1700000001000, Reason: ReasonRetry, Usable: &tok},
		{Kind: StepLease, LeaseTTLMs: 60000, Usable: &tok},
		{Kind: StepCommit, Token: tok, BaseRev: 2},
		{Kind: StepRelease},
		{Kind: StepError, Err: coreErr, Usable: &tok},
		{Kind: StepPending, Usable: &tok},
		{Kind: StepKind(99), Token: tok, Request: req, Err: coreErr},
	}
	lease := LeaseResult{Acquired: true, Token: &tok}
	leaseErr := LeaseResult{Err: hostErr}
	commit := CommitResult{OK: false, Token: &tok}
	commitErr := CommitResult{Err: hostErr}
	in := Input{Response: &resp, Lease: &lease, Commit: &commit, Release: true}

	sess, err := NewSession(Config{Provider: DQEIDMobile, BaseURL: "https://dqe.example", Licence: sec[2], ClientSecret: sec[1]}, testOptions)
	require.NoError(t, err)
	require.NoError(t, sess.Restore(Token{AccessToken: sec[7], RefreshToken: sec[8], ExpiresAt: 1700000300}))
	var hs Handles
	h, out := hs.New([]byte(`{"provider":"dqe-idmobile","base_url":"https://dqe.example","licence":"`+sec[2]+`","client_secret":"`+sec[1]+`"}`), nil)
	require.NotZero(t, h, "%s", out)
	require.Contains(t, string(hs.Restore(h, tok.MarshalWire())), `"ok":true`)

	vals := []any{cfg, &cfg, tok, &tok, tok.Attach, &tok.Attach, req, &req, resp, &resp, netResp, &netResp,
		*coreErr, coreErr, *hostErr, hostErr, lease, &lease, leaseErr, commit, &commit, commitErr, in, &in,
		sess, *sess, hs, &hs, Options{Seed: 7}, &Options{}, Fresh, StepLease}
	for i := range steps {
		vals = append(vals, steps[i], &steps[i])
	}
	return vals
}

type renderer struct {
	name string
	fn   func(v any) (string, error)
}

func renderers() []renderer {
	rs := []renderer{
		{"json.Marshal", func(v any) (string, error) { b, err := json.Marshal(v); return string(b), err }},
		{"json.Marshal nested", func(v any) (string, error) {
			b, err := json.Marshal(struct{ V any }{v})
			return string(b), err
		}},
		{"json.Encoder", func(v any) (string, error) {
			var b bytes.Buffer
			err := json.NewEncoder(&b).Encode([]any{v})
			return b.String(), err
		}},
		{"slog JSON", func(v any) (string, error) {
			var b bytes.Buffer
			slog.New(slog.NewJSONHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug})).Debug("m", "v", v, slog.Group("g", "w", v))
			return b.String(), nil
		}},
		{"slog text", func(v any) (string, error) {
			var b bytes.Buffer
			slog.New(slog.NewTextHandler(&b, nil)).Info("m", slog.Any("v", v), "list", []any{v})
			return b.String(), nil
		}},
	}
	// Not %p: fmt prints the address of a pointer, and for any other value
	// reports the bad verb with the value's methods switched off
	// (%!p(core.Config={…})), which no method can change; go vet reports
	// such a call.
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X", "%10.3s", "%#q", "%b", "%t", "%e", "%c", "%U"} {
		verb := verb
		rs = append(rs, renderer{"fmt " + verb, func(v any) (string, error) { return fmt.Sprintf(verb, v), nil }},
			renderer{"fmt " + verb + " nested", func(v any) (string, error) {
				return fmt.Sprintf(verb, struct {
					V any
					L []any
				}{v, []any{v}}), nil
			}})
	}
	return rs
}

func TestLeakEveryTypeEveryRenderer(t *testing.T) {
	vals := renderSamples(t)
	var forbidden []string
	for _, s := range renderSecrets {
		forbidden = append(forbidden, s, hex.EncodeToString([]byte(s)), strings.ToUpper(hex.EncodeToString([]byte(s))))
	}
	for _, v := range vals {
		for _, r := range renderers() {
			out, err := r.fn(v)
			require.NoError(t, err, "%s of %T", r.name, v)
			for _, s := range forbidden {
				if strings.Contains(out, s) {
					t.Errorf("%s of %T shows %q: %s", r.name, v, s, out)
				}
			}
			if strings.HasPrefix(r.name, "json") {
				assert.True(t, json.Valid([]byte(out)), "%s of %T: %s", r.name, v, out)
			}
		}
	}

	// Every exported type of the package is among the samples: a new type
	// that can hold a secret cannot be left out of this test.
	covered := map[string]bool{}
	for _, v := range vals {
		covered[strings.TrimPrefix(fmt.Sprintf("%T", v), "*")] = true
	}
	for _, name := range exportedTypes(t) {
		assert.True(t, covered["core."+name], "exported type %s has no sample in renderSamples", name)
	}
}

// exportedTypes lists the exported types declared in the package's non-test
// files.
func exportedTypes(t *testing.T) []string {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	var out []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		af, err := parser.ParseFile(fset, f, src, parser.SkipObjectResolution)
		require.NoError(t, err)
		for _, d := range af.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.TYPE {
				for _, s := range g.Specs {
					if ts := s.(*ast.TypeSpec); ts.Name.IsExported() {
						out = append(out, ts.Name.Name)
					}
				}
			}
		}
	}
	sort.Strings(out)
	require.NotEmpty(t, out)
	return out
}

// TestRenderingsStayUseful: redacted, a rendering still says what a log
// reader needs.
func TestRenderingsStayUseful(t *testing.T) {
	vals := renderSamples(t)
	cfg, tok, req, netResp := vals[0].(Config), vals[2].(Token), vals[6].(Request), vals[10].(Response)

	j, _ := json.Marshal(cfg)
	assert.JSONEq(t, `{"provider":"dqe-idmobile","base_url":"https://dqe.example/base","leeway_seconds":30,"username":"bob",
		"password":"[redacted]","client_id":"cid","client_secret":"[redacted]","encoding":"json","company_id":"ACME","token_header":"Token",
		"licence":"[redacted]","method":"POST","user_type":"rep","key":"[redacted]","authentication_code":"[redacted]","identifier":"ident",
		"pass_code":"[redacted]","jwt":"[redacted]","organisation":"org","unit":"unit"}`, string(j))
	j, _ = json.Marshal(tok)
	assert.JSONEq(t, `{"provider":"dqe-idmobile","access_token":"[redacted 10 bytes]","token_type":"Bearer","refresh_token":"[redacted 10 bytes]",
		"expires_at":1700000300,"refresh_at":1700000240,"issued_at":1700000000,"received_at":1700000000,"rev":3,
		"attach":{"in":"header","name":"Authorization","value":"[redacted 17 bytes]","params":"licence"},"extra":"claim","learned":"hint"}`, string(j))
	j, _ = json.Marshal(req)
	assert.JSONEq(t, `{"method":"POST","url":"https://[redacted]@dqe.example/ACCESS_TOKEN/?[redacted]","headers":"Authorization,X-Key",
		"body":"[redacted 41 bytes]","timeout_ms":60000}`, string(j))
	// A host's error text: queries and opaque runs (here the URL's path) masked.
	assert.Equal(t, "core.Response{error=tokensmith: network: Post \"https:[redacted]?[redacted]\": dial tcp: connection refused}", fmt.Sprint(netResp))
	assert.Equal(t, "tokensmith: network: Post \"https://dqe.example/ACCESS_TOKEN/?[redacted]\": dial tcp: connection refused", fmt.Sprint(netResp.Err))

	var b bytes.Buffer
	slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})).Info("renewed", "step", Step{Kind: StepWait, UntilMs: 5, Reason: ReasonRetry})
	assert.Equal(t, "level=INFO msg=renewed step.kind=wait step.until_ms=5 step.reason=retry\n", b.String())

	assert.Equal(t, "core.Step{wait until_ms=5 reason=retry}", fmt.Sprintf("%d", Step{Kind: StepWait, UntilMs: 5, Reason: ReasonRetry}))
	assert.Equal(t, `"core.Step{release}"`, fmt.Sprintf("%q", &Step{Kind: StepRelease}))
	assert.Equal(t, "core.LeaseResult{acquired=false}", fmt.Sprint(LeaseResult{}))
	assert.Equal(t, "tokensmith: invalid_grant (HTTP 400): x", fmt.Sprintf("%+v", Error{Code: CodeInvalidGrant, Status: 400, Message: "x"}))
	j, _ = json.Marshal(&Error{Code: CodeConfig, Message: "base_url: missing", Field: "base_url"})
	assert.JSONEq(t, `{"code":"config","message":"base_url: missing","field":"base_url","retryable":false}`, string(j))
	// The wire format is untouched: MarshalWire still carries the secrets
	// a store and the WASM boundary need.
	assert.Contains(t, string(tok.MarshalWire()), renderSecrets[7])
	assert.Contains(t, string(cfg.MarshalWire()), renderSecrets[1])
}
