// Package hostshim is tokensmith's Go host: it drives the core (natively or
// as WebAssembly inside wazero) with net/http, caches the token, refreshes it
// once for any number of callers and attaches it to outgoing requests.
//
// One Client per configuration, shared by the whole program:
//
//	cfg, err := core.ParseConfig(configJSON)
//	c, err := hostshim.New(cfg,
//		hostshim.WithStore(hostshim.NewFileStore("token.json")), // survive restarts
//		hostshim.WithRuntime(hostshim.WASM),                    // optional: the same core as WebAssembly
//	)
//	defer c.Close()
//
//	tok, err := c.Token(ctx)                             // core.Token, fresh or being renewed
//	api := &http.Client{Transport: c.Transport(nil)}     // attaches it the vendor's way, renews on 401
//	ts := c.TokenSource(ctx)                             // golang.org/x/oauth2.TokenSource
//
// A fresh token costs an atomic load and a clock read. A stale one is served
// while one background flight renews it; an expired one makes callers wait
// for a single flight. Token requests are retried on network errors, 5xx and
// 429 (never a 4xx) with full-jitter backoff under a count and time budget,
// and every new or renewed token is saved to the Store before any caller
// sees it. Errors are *core.Error: a stable code, the HTTP status and a
// message that never holds a secret.
package hostshim
