package hostshim

import (
	"context"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/tokensmith/tokensmith/core"
)

// TokenSource adapts the Client to golang.org/x/oauth2, for code written
// against oauth2.TokenSource. Each call is Client.Token under ctx
// (context.Background() when nil): the same cache, single flight and
// background renewal. No extra ReuseTokenSource is needed on top.
//
// The oauth2.Token carries AccessToken, TokenType, Expiry and, as Extra, the
// vendor fields (ByDesign userName…, CRM.COM claims). RefreshToken is left
// empty on purpose: the Client alone renews. A second party using the refresh
// token would race the Client, and at MoversConnect a competing grant voids
// every other token.
//
// Mind that oauth2.Transport always sends "Authorization: Bearer", which is
// right for ByDesign only. For the other vendors use Client.Transport, which
// attaches the token where each vendor wants it.
func (c *Client) TokenSource(ctx context.Context) oauth2.TokenSource {
	if ctx == nil {
		ctx = context.Background()
	}
	return tokenSource{c: c, ctx: ctx, last: new(atomic.Pointer[converted])}
}

type tokenSource struct {
	c    *Client
	ctx  context.Context
	last *atomic.Pointer[converted]
}

// converted remembers the oauth2.Token made for one published token, so the
// cached path allocates nothing. Like oauth2.ReuseTokenSource, callers share
// the returned *oauth2.Token and must not modify it.
type converted struct {
	src *core.Token
	tok *oauth2.Token
}

func (s tokenSource) Token() (*oauth2.Token, error) {
	t, err := s.c.token(s.ctx, false)
	if err != nil {
		return nil, err
	}
	if l := s.last.Load(); l != nil && l.src == t {
		return l.tok, nil
	}
	ot := toOAuth2(t)
	s.last.Store(&converted{src: t, tok: ot})
	return ot, nil
}

func toOAuth2(t *core.Token) *oauth2.Token {
	ot := &oauth2.Token{AccessToken: t.AccessToken, TokenType: t.TokenType}
	if t.ExpiresAt != 0 {
		ot.Expiry = time.Unix(t.ExpiresAt, 0)
	}
	if len(t.Extra) > 0 {
		extra := make(map[string]any, len(t.Extra))
		for k, v := range t.Extra {
			extra[k] = v
		}
		ot = ot.WithExtra(extra)
	}
	return ot
}
