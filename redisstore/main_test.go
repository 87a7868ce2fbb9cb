package redisstore

import (
	"context"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestMain silences go-redis's own logger, which prints every failed dial
// while the outage tests have Redis down on purpose. (A program sets it with
// redis.SetLogger too; the Store logs an outage once through WithLogger.)
func TestMain(m *testing.M) {
	redis.SetLogger(quiet{})
	os.Exit(m.Run())
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}
