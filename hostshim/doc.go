// Package hostshim is tokensmith's Go host: it runs the core's lifecycle
// (docs/protocol.md) with net/http and a Store, caches the token, renews it
// once for any number of callers and attaches it to outgoing requests.
//
// One Client per configuration, shared by the whole program:
//
//	cfg, err := core.ParseConfig(configJSON)
//	c, err := hostshim.New(cfg,
//		hostshim.WithStore(hostshim.NewFileStore("token.json")), // shared between processes
//	)
//	defer c.Close()
//
//	tok, err := c.Token(ctx)                             // core.Token, fresh or being renewed
//	api := &http.Client{Transport: c.Transport(nil)}     // attaches it the vendor's way, renews when refused
//	ts := c.TokenSource(ctx)                             // golang.org/x/oauth2.TokenSource
//
// The Client is an effect runner: the core decides when to renew, retry,
// wait, hold off, lease, adopt a stored token and commit; the Client reads
// the clock, sleeps, sends HTTP requests and calls the Store. A fresh token
// costs an atomic load and a clock read. Errors are *core.Error: a stable
// code, the HTTP status and a message that never holds a secret.
//
// The core runs natively. The WebAssembly runtime is opt-in, in package
// hostshim/wazero (hostshim.WithRuntime(tswazero.Runtime())), so that a
// program importing only hostshim links neither wazero nor the module.
package hostshim
