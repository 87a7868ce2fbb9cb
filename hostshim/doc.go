// Package hostshim is tokensmith's Go host: it drives the core (natively or
// as WebAssembly inside wazero) with net/http, caches the token, refreshes it
// once for any number of callers and attaches it to outgoing requests.
package hostshim
