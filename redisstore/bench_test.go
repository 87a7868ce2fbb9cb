package redisstore_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/hostshim"
	"github.com/tokensmith/tokensmith/internal/emulator"
	"github.com/tokensmith/tokensmith/internal/redistest"
	"github.com/tokensmith/tokensmith/redisstore"
)

// BenchmarkFleet: N processes x 10 callers start with no token (MoversConnect,
// where every grant voids the tokens before it). One op is one fleet run
// from "go" until every process holds a token and called the API once: the
// time to token. Metrics: grants per run (the token requests of one token
// lifetime), API calls refused because a later grant had voided the token,
// and API calls that still failed after the Transport's one retry with a
// new token. "alone" is the same fleet with a memory store per process.
func BenchmarkFleet(b *testing.B) {
	emu := emulator.New(emulator.Options{})
	if err := emu.Start(""); err != nil {
		b.Fatal(err)
	}
	defer emu.Close()
	srv := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	cfg := emu.Config(emulator.MoversConnect)
	for _, store := range []string{"redis", "alone"} {
		for _, n := range []int{1, 8, 32} {
			b.Run(fmt.Sprintf("store=%s/procs=%d", store, n), func(b *testing.B) {
				grants, voided, failed := 0, 0, 0
				for range b.N {
					b.StopTimer()
					emu.Reset()
					rdb.FlushDB(context.Background())
					kind := store
					if kind == "alone" {
						kind = "memory"
					}
					f := startFleet(b, n, cfg, srv.URL(), "-goroutines", "10", "-api", "-store", kind)
					b.StartTimer()
					f.goAll()
					rs := f.results()
					b.StopTimer()
					for _, r := range rs {
						// Alone at MoversConnect, a process's token is voided by
						// the next process's grant: its API calls fail, which is
						// what this benchmark shows. With Redis none may fail.
						if r.Failed != 0 || (store == "redis" && r.APIFail != 0) {
							b.Fatalf("%s: %d failed calls (%s)", r.Instance, r.Failed+r.APIFail, r.FirstErr)
						}
						failed += r.APIFail
					}
					c := emu.Fleet(emulator.MoversConnect)
					grants += c.Grants
					for _, k := range c.Refused {
						voided += k
					}
					f.stop()
				}
				b.ReportMetric(float64(grants)/float64(b.N), "grants/lifetime")
				b.ReportMetric(float64(voided)/float64(b.N), "voided-calls/run")
				b.ReportMetric(float64(failed)/float64(b.N), "failed-api-calls/run")
			})
		}
	}
}

// BenchmarkCachedToken is the hot path with each store: a fresh token in the
// Client's cache. With Redis it must cost the same atomic load as without:
// redis-cmds/op counts the commands Redis processed meanwhile.
func BenchmarkCachedToken(b *testing.B) {
	emu := emulator.New(emulator.Options{})
	if err := emu.Start(""); err != nil {
		b.Fatal(err)
	}
	defer emu.Close()
	srv := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	cfg, err := core.ParseConfig([]byte(emu.Config(emulator.MoversConnect)))
	if err != nil {
		b.Fatal(err)
	}
	for _, kind := range []string{"memory", "redis"} {
		b.Run("store="+kind, func(b *testing.B) {
			var store hostshim.Store = hostshim.NewMemoryStore()
			if kind == "redis" {
				s, err := redisstore.New(rdb, cfg)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				store = s
			}
			c, err := hostshim.New(cfg, hostshim.WithStore(store))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			if _, err := c.Token(ctx); err != nil {
				b.Fatal(err)
			}
			before := redisCommands(b, rdb)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := c.Token(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			// INFO itself is one command.
			b.ReportMetric(float64(redisCommands(b, rdb)-before-1)/float64(b.N), "redis-cmds/op")
		})
	}
}

func redisCommands(b *testing.B, rdb *redis.Client) int64 {
	info, err := rdb.Info(context.Background(), "stats").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "total_commands_processed:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	b.Fatal("no total_commands_processed in INFO")
	return 0
}
