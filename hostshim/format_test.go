package hostshim

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/internal/emulator"
)

// Issue 8 item 3: no fmt verb of a host type prints a token or secret
// (%s and %q of a *Client printed both tokens from its memory store).
func TestFormatVerbsNeverPrintATokenOrSecret(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	cfg := configFor(t, srv, core.ByDesign, nil)
	st := NewMemoryStore()
	c, _ := newTestClient(t, cfg, WithStore(st))
	tok, err := c.Token(context.Background())
	require.NoError(t, err)
	require.NotEmpty(t, tok.RefreshToken)
	fsPath := t.TempDir() + "/token.json"
	fst := NewFileStore(fsPath)
	require.NoError(t, fst.Save(context.Background(), tok))

	values := map[string]any{
		"*Client":        c,
		"*MemoryStore":   st,
		"*FileStore":     fst,
		"Transport":      c.Transport(nil),
		"TokenSource":    c.TokenSource(context.Background()),
		"*redactedError": &redactedError{err: fmt.Errorf("echo %s", tok.AccessToken), msg: "echo [redacted]"},
	}
	secrets := []string{tok.AccessToken, tok.RefreshToken, cfg.Password}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X", "%10.3v"} {
			out := fmt.Sprintf(verb, v)
			for _, s := range secrets {
				assert.NotContains(t, out, s, "%s %s", name, verb)
				assert.NotContains(t, strings.ToLower(out), hex.EncodeToString([]byte(s)), "%s %s (hex)", name, verb)
			}
		}
		// slog's handlers and encoding/json.
		var b strings.Builder
		slog.New(slog.NewTextHandler(&b, nil)).Info("x", "v", v)
		slog.New(slog.NewJSONHandler(&b, nil)).Info("x", "v", v)
		js, _ := json.Marshal(v)
		b.Write(js)
		for _, s := range secrets {
			assert.NotContains(t, b.String(), s, "%s in slog/json", name)
		}
	}
	assert.Contains(t, fmt.Sprintf("%v", c), "bydesign")
	assert.Contains(t, fmt.Sprint(fst), fsPath, "the path is fine to print")
}
