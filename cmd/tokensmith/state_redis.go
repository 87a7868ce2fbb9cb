package main

import (
	"context"
	"errors"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/hostshim"
	"github.com/tokensmith/tokensmith/redisstore"
)

// envStatePrefix names an environment variable that holds the --state
// spec: a Redis URL may carry a password, which a command line shows to
// every user of the machine (ps) and keeps in shell history.
const envStatePrefix = "env:"

// openRedisState opens the --state specs that name a Redis: redis://…,
// rediss://… and env:NAME (the URL read from $NAME). ok is false for any
// other spec, which stays a file path. Errors never quote the URL.
func openRedisState(spec string, cfg core.Config, getenv func(string) (string, bool)) (st hostshim.Store, ok bool, err error) {
	if name, isEnv := strings.CutPrefix(spec, envStatePrefix); isEnv {
		v, set := getenv(name)
		if !set || v == "" {
			return nil, true, &core.Error{Code: core.CodeUsage, Message: "--state " + clip(spec, 80) + ": the environment variable " + clip(name, 60) + " is not set"}
		}
		if !isRedisURL(v) {
			return nil, true, &core.Error{Code: core.CodeUsage, Message: "--state " + clip(spec, 80) + ": " + clip(name, 60) + " must hold a redis:// or rediss:// URL"}
		}
		spec = v
	} else if !isRedisURL(spec) {
		return nil, false, nil
	}
	// go-redis prints every failed dial itself; the command's stderr is
	// one sentence, and the store's error already says what failed.
	redis.SetLogger(quietRedis{})
	s, err := redisstore.Open(spec, cfg)
	if errors.Is(err, redisstore.ErrNoAccount) {
		return nil, true, &core.Error{Code: core.CodeConfig, Field: "state", Message: "this " + cfg.Provider + " config names its account by secrets only: add ?namespace=NAME to the Redis URL so that two accounts never share a token"}
	}
	if err != nil {
		return nil, true, &core.Error{Code: core.CodeUsage, Field: "state", Message: strings.TrimPrefix(err.Error(), "redisstore: ")}
	}
	return s, true, nil
}

func isRedisURL(s string) bool {
	return strings.HasPrefix(s, "redis://") || strings.HasPrefix(s, "rediss://")
}

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}
