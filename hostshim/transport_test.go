package hostshim

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/internal/emulator"
)

// The API forgets every token (as after a vendor-side revocation): the
// Transport gets 401, renews once and retries once, bodies included.
func TestTransportRenewsOn401(t *testing.T) {
	// ByDesign refreshes, but the refresh token died too: the renewal is a
	// refused refresh, then a new grant. MoversConnect's activation can only
	// extend a token we hold: with it refused, the Client logs in directly.
	for _, tc := range []struct {
		provider, variant string
		requests          int
	}{
		{core.MoversConnect, "post", 1},
		{core.DQEIDMobile, "get", 1},
		{core.DQEIDMobile, "post", 1},
		{core.ByDesign, "get", 2},
		{core.CRMCOM, "get", 1},
		{core.CRMCOM, "post", 1},
	} {
		t.Run(tc.provider+"/"+tc.variant, func(t *testing.T) {
			srv := startEmulator(t, emulator.Options{})
			c, _ := newTestClient(t, configFor(t, srv, tc.provider, nil))
			_, err := c.Token(context.Background())
			require.NoError(t, err)
			srv.Reset() // every issued token is gone, counters at zero
			assert.Equal(t, http.StatusOK, call(t, c, protectedRequest(t, srv, tc.provider, tc.variant)))
			assert.Equal(t, tc.requests, srv.TokenRequests(tc.provider), "one renewal")
		})
	}
}

// Many requests refused with the same old token cause one renewal.
func TestTransportConcurrent401sRenewOnce(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	c, _ := newTestClient(t, configFor(t, srv, core.CRMCOM, nil))
	_, err := c.Token(context.Background())
	require.NoError(t, err)
	srv.Reset()
	done := make(chan int, 20)
	for range 20 {
		go func() { done <- call(t, c, protectedRequest(t, srv, core.CRMCOM, "get")) }()
	}
	for range 20 {
		assert.Equal(t, http.StatusOK, <-done)
	}
	// Requests that got 401 before the renewal published may each trigger
	// an invalidation, but only of the token they used: the old one. The
	// renewed token is never dropped, so one grant serves them all.
	assert.Equal(t, 1, srv.TokenRequests(core.CRMCOM))
}

// A streamed body without GetBody cannot be sent twice: the 401 is returned.
func TestTransportDoesNotReplayAStreamedBody(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	c, _ := newTestClient(t, configFor(t, srv, core.MoversConnect, nil))
	_, err := c.Token(context.Background())
	require.NoError(t, err)
	srv.Reset()
	r := protectedRequest(t, srv, core.MoversConnect, "post")
	r.Body = io.NopCloser(strings.NewReader(`{"ZipCode":"10001"}`))
	r.GetBody = nil
	assert.Equal(t, http.StatusUnauthorized, call(t, c, r))
	assert.Equal(t, 0, srv.TokenRequests(core.MoversConnect), "no renewal for a request that cannot be retried")
}

// What the Transport sends, seen by a recording server: the caller's request
// is not modified, the body is rewritten only when the token goes inside it.
func TestTransportAttachShapes(t *testing.T) {
	var got atomic.Pointer[http.Request]
	var gotBody atomic.Pointer[string]
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s := string(b)
		got.Store(r.Clone(context.Background()))
		gotBody.Store(&s)
	}))
	defer api.Close()
	srv := startEmulator(t, emulator.Options{})

	dqe, _ := newTestClient(t, configFor(t, srv, core.DQEIDMobile, nil))
	tok, err := dqe.Token(context.Background())
	require.NoError(t, err)

	// GET: token and licence in the query, the caller's parameters kept.
	r, _ := http.NewRequest(http.MethodGet, api.URL+"/IDMOBILE/?number=1", nil)
	call(t, dqe, r)
	q := got.Load().URL.Query()
	assert.Equal(t, "1", q.Get("number"))
	assert.Equal(t, tok.AccessToken, q.Get("token"))
	assert.Equal(t, emulator.DQELicence, q.Get("licence"))
	assert.Equal(t, "/IDMOBILE/?number=1", r.URL.RequestURI(), "caller's request untouched")

	// POST form: token and licence appended to the form body.
	r, _ = http.NewRequest(http.MethodPost, api.URL+"/IDMOBILE/", strings.NewReader("number=2"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	call(t, dqe, r)
	assert.Equal(t, "number=2&token="+tok.AccessToken+"&licence="+emulator.DQELicence, *gotBody.Load())
	assert.Empty(t, got.Load().URL.RawQuery)

	// Header attach streams the body through unchanged.
	mv, _ := newTestClient(t, configFor(t, srv, core.MoversConnect, nil))
	mt, err := mv.Token(context.Background())
	require.NoError(t, err)
	r, _ = http.NewRequest(http.MethodPost, api.URL+"/x", strings.NewReader(`{"a":1}`))
	r.Header.Set("Content-Type", "application/json")
	call(t, mv, r)
	assert.Equal(t, mt.AccessToken, got.Load().Header.Get("Token"))
	assert.Equal(t, `{"a":1}`, *gotBody.Load())
	assert.Empty(t, r.Header.Get("Token"), "caller's header map untouched")

	// JSON body: a "token" field is added, the others kept.
	crm, _ := newTestClient(t, configFor(t, srv, core.CRMCOM, nil))
	ct, err := crm.Token(context.Background())
	require.NoError(t, err)
	r, _ = http.NewRequest(http.MethodPost, api.URL+"/show", strings.NewReader(`{"a":"b"}`))
	r.Header.Set("Content-Type", "application/json")
	call(t, crm, r)
	assert.JSONEq(t, `{"a":"b","token":"`+ct.AccessToken+`"}`, *gotBody.Load())
}

func TestTransportTokenErrorIsReturned(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	c, _ := newTestClient(t, configFor(t, srv, core.DQEIDMobile, map[string]any{"licence": "000000"}))
	_, err := (&http.Client{Transport: c.Transport(nil)}).Do(protectedRequest(t, srv, core.DQEIDMobile, "get"))
	var ce *core.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, core.CodeInvalidClient, ce.Code)
}

// DQE's older API refuses a token with HTTP 200 and error_id 30: the
// Transport recognises it through core.Refused, renews once and retries,
// and the caller reads the whole second answer.
func TestTransportRenewsOnDQELegacyRefusal(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	srv.SetDQELegacyErrors(true)
	c, _ := newTestClient(t, configFor(t, srv, core.DQEIDMobile, nil))
	old, err := c.Token(context.Background())
	require.NoError(t, err)
	srv.Reset() // every issued token is gone: the API answers 200 error_id 30
	srv.SetDQELegacyErrors(true)
	resp, err := (&http.Client{Transport: c.Transport(nil)}).Do(protectedRequest(t, srv, core.DQEIDMobile, "get"))
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), `"status":"success"`)
	assert.Equal(t, 1, srv.TokenRequests(core.DQEIDMobile), "one renewal")
	tok, err := c.Token(context.Background())
	require.NoError(t, err)
	assert.NotEqual(t, old.AccessToken, tok.AccessToken)
}

// A 2xx JSON answer that is not a refusal reaches the caller whole, though
// the Transport read its head.
func TestTransportPeekKeepsTheBody(t *testing.T) {
	big := `{"status":"success","pad":"` + strings.Repeat("x", 100<<10) + `"}`
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, big)
	}))
	defer api.Close()
	srv := startEmulator(t, emulator.Options{})
	c, _ := newTestClient(t, configFor(t, srv, core.DQEIDMobile, nil))
	r, _ := http.NewRequest(http.MethodGet, api.URL+"/IDMOBILE/?number=1", nil)
	resp, err := (&http.Client{Transport: c.Transport(nil)}).Do(r)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, big, string(body))
}
