package main

import (
	"context"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/hostshim"
)

// openState opens the store a --state spec names. Today a spec is a file
// path (a FileStore: the token file, shared between concurrent runs through
// an flock on FILE.lock).
//
// Other stores: redis://…, rediss://… and env:NAME (a Redis URL in $NAME)
// select the Redis store (state_redis.go). Anything else stays a path, so
// existing --state files keep working.
func openState(spec string, cfg core.Config, getenv func(string) (string, bool)) (hostshim.Store, error) {
	if spec == "" {
		return nil, &core.Error{Code: core.CodeUsage, Message: "--state needs a file"}
	}
	if st, ok, err := openRedisState(spec, cfg, getenv); ok { // state_redis.go
		return st, err
	}
	return hostshim.NewFileStore(spec), nil
}

// stateLoader is a Store that can be read without the lease: the command
// checks what it holds before it asks the vendor anything.
type stateLoader interface {
	Load(ctx context.Context) (core.Token, bool, error)
}

// checkState refuses a state the command cannot use: unreadable, corrupt,
// not a regular file, or another provider's token. Issue 8 item 7: such a
// file used to be discarded and overwritten (another provider's refresh
// token lost; at MoversConnect a Password grant voiding other holders). It
// is left exactly as it is, and the command stops with exit status 2.
func checkState(ctx context.Context, spec string, st hostshim.Store, provider string) error {
	l, ok := st.(stateLoader)
	if !ok {
		return nil
	}
	tok, held, err := l.Load(ctx)
	if err != nil {
		msg := err.Error()
		if ce, ok := err.(*core.Error); ok {
			msg = ce.Message
		}
		return &core.Error{Code: core.CodeConfig, Field: "state", Message: "cannot use --state " + clip(spec, 200) + ": " + clip(msg, 300) +
			"; it was left untouched: fix or remove it, or give another --state"}
	}
	if held && tok.Provider != "" && tok.Provider != provider {
		return &core.Error{Code: core.CodeConfig, Field: "state", Message: "--state " + clip(spec, 200) + " holds a " + clip(tok.Provider, 40) + " token, not " + provider +
			"; it was left untouched: give each provider its own --state file"}
	}
	return nil
}
