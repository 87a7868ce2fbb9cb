package core_test

import (
	"fmt"

	"github.com/tokensmith/tokensmith/core"
)

// The host loop: the core asks for a request, the host sends it with its own
// HTTP client (faked here) and feeds the answer back; then the token is used.
func Example() {
	cfg, err := core.ParseConfig([]byte(`{"provider":"dqe-idmobile","base_url":"https://dqe.example","licence":"LIC-4711","client_secret":"s3cret-pass"}`))
	if err != nil {
		panic(err)
	}
	s, err := core.NewSession(cfg)
	if err != nil {
		panic(err)
	}
	now := int64(1700000000) // the host's clock, in unix seconds

	send := func(r core.Request) core.Response { // stands in for the host's HTTP client
		fmt.Println(r.Method, r.URL)
		return core.Response{Status: 200, Body: []byte(`{"access_token":"TK948869a6f873adb622enhoaGeVY2iRaptqlmpplGeWZA","token_type":"Bearer","expires_in":"300"}`)}
	}

	step := s.Next(now)
	for step.Kind == core.StepRequest {
		step = s.Feed(now, send(step.Request))
	}
	if step.Kind == core.StepError {
		fmt.Println("error:", step.Err)
		return
	}
	// step.Changed: a new token, to hand to the store before use.
	fmt.Println("changed:", step.Changed, "expires_at:", step.Token.ExpiresAt)

	api := core.Request{Method: "GET", URL: "https://dqe.example/IDMOBILE/?number=0612345678"}
	if err := step.Token.Apply(&api); err != nil {
		panic(err)
	}
	fmt.Println(api.URL == "https://dqe.example/IDMOBILE/?number=0612345678&token=TK948869a6f873adb622enhoaGeVY2iRaptqlmpplGeWZA&licence=LIC-4711")

	// Later calls are served from the session without a request.
	fmt.Println(s.Next(now+100).Kind, s.Next(now+240).Kind)
	// Output:
	// POST https://dqe.example/ACCESS_TOKEN/
	// changed: true expires_at: 1700000300
	// true
	// token request
}
