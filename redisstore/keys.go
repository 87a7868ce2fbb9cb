package redisstore

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/tokensmith/tokensmith/core"
)

// keys are the names one configuration uses. The {…} hash tag puts all three
// in one Redis Cluster slot, which the scripts need.
type keys struct {
	token, lease, notice string
}

func newKeys(ns string) keys {
	p := "tokensmith:{" + ns + "}:"
	return keys{token: p + "token", lease: p + "lease", notice: p + "notice"}
}

// ErrNoAccount is returned when a config has no non-secret field that tells
// one account from another (DQE IDMobile: licence and secret only; CRM.COM
// by application key and authentication code). Two such accounts at the same
// base URL would share one token, so the caller must name the account with
// WithNamespace (or ?namespace= in the URL).
var ErrNoAccount = errors.New("redisstore: the config has no non-secret account name; set a namespace")

// accountFields are the wire names of the fields namespace reads; a test
// checks that the core counts none of them as secret.
var accountFields = []string{"username", "client_id", "company_id", "user_type", "identifier", "organisation", "unit"}

// namespace hashes what identifies one token: the provider, the base URL and
// the account's non-secret fields, plus the caller's namespace. An allow-list,
// so that no secret field (present or added later) can reach the hash.
func namespace(cfg *core.Config, extra string) (string, error) {
	account := []string{cfg.Username, cfg.ClientID, cfg.CompanyID, cfg.UserType, cfg.Identifier, cfg.Organisation, cfg.Unit} // accountFields, in order
	named := extra != ""
	for _, f := range account {
		if f != "" && f != cfg.ClientID { // a client id names the application, not the account
			named = true
		}
	}
	if !named {
		return "", ErrNoAccount
	}
	h := sha256.New()
	write := func(s string) {
		// Length-prefixed, so that no two field lists hash alike.
		var n [8]byte
		for i, l := 0, uint64(len(s)); i < 8; i, l = i+1, l>>8 {
			n[i] = byte(l)
		}
		h.Write(n[:])
		h.Write([]byte(s))
	}
	write("tokensmith/redisstore/v1")
	write(cfg.Provider)
	write(strings.TrimRight(cfg.BaseURL, "/"))
	for _, f := range account {
		write(f)
	}
	write(extra)
	return hex.EncodeToString(h.Sum(nil)[:16]), nil
}
