package hostshim

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/internal/emulator"
)

// The hot path: a fresh cached token, many goroutines.
func BenchmarkCachedToken(b *testing.B) {
	srv := startEmulator(b, emulator.Options{})
	c, _ := newTestClient(b, configFor(b, srv, core.DQEIDMobile, nil))
	if _, err := c.Token(context.Background()); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Token(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.StopTimer()
	if n := srv.TokenRequests(core.DQEIDMobile); n != 1 {
		b.Fatalf("%d token requests, want 1", n)
	}
}

// The same through the oauth2.TokenSource adapter.
func BenchmarkCachedTokenSource(b *testing.B) {
	srv := startEmulator(b, emulator.Options{})
	c, _ := newTestClient(b, configFor(b, srv, core.DQEIDMobile, nil))
	ts := c.TokenSource(context.Background())
	if _, err := ts.Token(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := ts.Token(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Reference: golang.org/x/oauth2's cache (a mutex around a validity check).
func BenchmarkOAuth2ReuseTokenSource(b *testing.B) {
	ts := oauth2.ReuseTokenSource(nil, oauth2.StaticTokenSource(&oauth2.Token{
		AccessToken: "TKabcdef", TokenType: "Bearer", Expiry: time.Now().Add(time.Hour),
	}))
	if _, err := ts.Token(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := ts.Token(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Floor: an atomic load and a clock read, nothing else.
func BenchmarkAtomicLoadAndClock(b *testing.B) {
	var p atomic.Pointer[core.Token]
	p.Store(&core.Token{AccessToken: "x", ExpiresAt: time.Now().Unix() + 3600})
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if t := p.Load(); t.ExpiresAt <= time.Now().Unix() {
				b.Fatal("expired")
			}
		}
	})
}

// A full token round trip on loopback: request built by the core, sent,
// answered by the emulator, parsed, stored, published.
func BenchmarkTokenRoundTrip(b *testing.B) {
	for _, p := range []string{core.DQEIDMobile, core.CRMCOM} {
		b.Run(p, func(b *testing.B) {
			srv := startEmulator(b, emulator.Options{})
			c, _ := newTestClient(b, configFor(b, srv, p, nil))
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				tok, err := c.Token(ctx)
				if err != nil {
					b.Fatal(err)
				}
				c.Invalidate(tok.AccessToken) // the next call goes to the vendor again
			}
		})
	}
}
