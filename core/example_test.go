package core_test

import (
	"fmt"

	"github.com/tokensmith/tokensmith/core"
)

// The host loop: the core answers steps, the host performs each (its own
// HTTP client, faked here; a memory store) and feeds the outcome back. A
// fresh token is served by the host itself (FreshAt), without the core.
func Example() {
	cfg, err := core.ParseConfig([]byte(`{"provider":"dqe-idmobile","base_url":"https://dqe.example","licence":"LIC-4711","client_secret":"s3cret-pass"}`))
	if err != nil {
		panic(err)
	}
	s, err := core.NewSession(cfg, core.Options{Seed: 42}) // hosts pass a random seed
	if err != nil {
		panic(err)
	}
	now := int64(1700000000000) // the host's clock, in unix milliseconds

	send := func(r core.Request) core.Response { // stands in for the host's HTTP client
		fmt.Println(r.Method, r.URL)
		return core.Response{Status: 200, Body: []byte(`{"access_token":"TK948869a6f873adb622enhoaGeVY2iRaptqlmpplGeWZA","token_type":"Bearer","expires_in":"300"}`)}
	}
	var stored *core.Token // a memory store: the trivial host of docs/protocol.md

	step := s.Next(now)
loop:
	for {
		switch step.Kind {
		case core.StepLease:
			step = s.Leased(now, core.LeaseResult{Acquired: true, Token: stored})
		case core.StepRequest:
			step = s.Feed(now, send(step.Request))
		case core.StepCommit:
			t := step.Token
			stored = &t
			step = s.Committed(now, core.CommitResult{OK: true})
		case core.StepRelease:
			step = s.Released(now)
		case core.StepWait:
			now = step.UntilMs // a real host sleeps
			step = s.Next(now)
		default:
			break loop
		}
	}
	if step.Kind == core.StepError {
		fmt.Println("error:", step.Err)
		return
	}
	fmt.Println("changed:", step.Changed, "expires_at:", step.Token.ExpiresAt, "rev:", step.Token.Rev)

	api := core.Request{Method: "GET", URL: "https://dqe.example/IDMOBILE/?number=0612345678"}
	if err := step.Token.Apply(&api); err != nil {
		panic(err)
	}
	fmt.Println(api.URL == "https://dqe.example/IDMOBILE/?number=0612345678&token=TK948869a6f873adb622enhoaGeVY2iRaptqlmpplGeWZA&licence=LIC-4711")

	// The host's cache serves the token while it is fresh; once stale, the
	// session renews it (a lease first) and offers it as usable meanwhile.
	fmt.Println(step.Token.FreshAt(now+100000), step.Token.FreshAt(now+240000))
	next := s.Next(now + 240000)
	fmt.Println(next.Kind, next.Usable != nil)
	// Output:
	// POST https://dqe.example/ACCESS_TOKEN/
	// changed: true expires_at: 1700000300 rev: 1
	// true
	// true false
	// lease true
}
