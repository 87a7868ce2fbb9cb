package hostshim

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/internal/emulator"
)

func TestOAuth2TokenSource(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	c, _ := newTestClient(t, configFor(t, srv, core.ByDesign, nil))
	ts := c.TokenSource(context.Background())
	ot, err := ts.Token()
	require.NoError(t, err)
	tok, err := c.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, tok.AccessToken, ot.AccessToken)
	assert.Equal(t, "Bearer", ot.Type())
	assert.Empty(t, ot.RefreshToken, "the Client alone renews")
	assert.Equal(t, time.Unix(tok.ExpiresAt, 0), ot.Expiry)
	assert.True(t, ot.Valid())
	assert.Equal(t, "-->r_"+emulator.ByDesignRepID, ot.Extra("userName"))
	assert.Equal(t, 1, srv.TokenRequests(core.ByDesign))

	// ByDesign's Bearer header is what oauth2.Transport sends.
	hc := oauth2.NewClient(context.Background(), ts)
	resp, err := hc.Do(protectedRequest(t, srv, core.ByDesign, "get"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, 1, srv.TokenRequests(core.ByDesign))

	// The same *oauth2.Token while the token is the same; a new one after
	// a renewal.
	again, err := ts.Token()
	require.NoError(t, err)
	assert.Same(t, ot, again)
	c.Invalidate(tok.AccessToken)
	renewed, err := ts.Token()
	require.NoError(t, err)
	assert.NotEqual(t, ot.AccessToken, renewed.AccessToken)
}

func TestOAuth2TokenSourceError(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	c, _ := newTestClient(t, configFor(t, srv, core.ByDesign, map[string]any{"password": "nope-nope"}))
	_, err := c.TokenSource(nil).Token() //nolint:staticcheck // nil ctx is documented as Background
	var ce *core.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, core.CodeInvalidGrant, ce.Code)
}
