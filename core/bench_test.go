package core

import (
	"testing"

	"github.com/tokensmith/tokensmith/third_party/fastjson"
)

// Benchmarks of the hot paths: building the DQE request, reading its 200
// answer, serving a cached token and encoding a step for the WASM boundary.
// Run: go test -run '^$' -bench . -benchmem ./core/

func benchDQESession(b *testing.B) *Session {
	b.Helper()
	s, err := newTestSession(Config{Provider: DQEIDMobile, BaseURL: "https://dqe.example", Licence: "LIC-4711", ClientSecret: "s3cret-pass"})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

var benchDQEBody = []byte(`{"access_token":"TK948869a6f873adb622enhoaGeVY2iRaptqlmpplGeWZA","token_type":"Bearer","expires_in":"300","refresh_token":"*TK9bdd05f8e9d3c905834bdeqaUlGFll2iRaplll29mZmtkZQ"}`)

func BenchmarkDQEIDMobileBuild(b *testing.B) {
	s := benchDQESession(b)
	b.ReportAllocs()
	for b.Loop() {
		s.Cancel()
		if st := nextS(s, coreT0); st.Kind != StepRequest {
			b.Fatal(st.Kind)
		}
	}
}

func BenchmarkDQEIDMobileParse(b *testing.B) {
	s := benchDQESession(b)
	r := Response{Status: 200, Header: map[string]string{"Content-Type": "application/json"}, Body: benchDQEBody}
	ex := exchange{}
	b.ReportAllocs()
	for b.Loop() {
		s.ph, s.ex = phSend, ex // what Next sets, without building a request
		if st := feedS(s, coreT0, r); st.Kind != StepToken {
			b.Fatal(st.Err)
		}
	}
}

func BenchmarkSessionNextFresh(b *testing.B) {
	s := benchDQESession(b)
	if err := s.Restore(Token{AccessToken: "TK948869a6f873adb622enhoaGeVY2iRaptqlmpplGeWZA", ExpiresAt: coreT0 + 300, IssuedAt: coreT0}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if st := nextS(s, coreT0); st.Kind != StepToken {
			b.Fatal(st.Kind)
		}
	}
}

func BenchmarkStepMarshalWire(b *testing.B) {
	st := Step{Kind: StepToken, Token: wireToken(), Changed: true}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = st.AppendWire(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkDQEIDMobileParseBaseline is the floor under DQEIDMobileParse: the
// same body through a bare fastjson parse and four lookups. On a noisy
// machine compare the two ratios rather than absolute times.
func BenchmarkDQEIDMobileParseBaseline(b *testing.B) {
	var p fastjson.Parser
	b.ReportAllocs()
	for b.Loop() {
		v, err := p.ParseBytes(benchDQEBody)
		if err != nil || v.GetStringBytes("access_token") == nil || v.Get("token_type") == nil ||
			v.Get("expires_in") == nil || v.Get("refresh_token") == nil {
			b.Fatal(err)
		}
	}
}
