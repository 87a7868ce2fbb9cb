package core

import (
	"strconv"

	"github.com/tokensmith/tokensmith/third_party/fastjson"
)

// Options is the session's lifecycle policy (docs/protocol.md, "Session
// options"). The zero value of every field means its default, so Options{}
// is the documented policy with seed 0; hosts pass a random Seed.
type Options struct {
	Seed          uint64 // seeds the session's PRNG (jitter); same seed, same schedule
	MaxAttempts   int    // vendor requests per renewal for retryable failures, the first included; 0 = 4
	BackoffBaseMs int64  // first backoff ceiling; 0 = 200
	BackoffCapMs  int64  // largest backoff ceiling; 0 = 10000
	BudgetMs      int64  // no retry starts later than this after a renewal's first request; 0 = 30000
	TimeoutMs     int64  // each request's timeout, carried on the request step; 0 = 60000
	HoldOffMs     int64  // after a failed renewal, no new attempt before now + HoldOffMs; 0 = 10000
	LeasePollMs   int64  // a follower's poll interval (jittered 50–150 %); 0 = 500
	// StoreRequired: never renew without the store's lease. By default a
	// session whose store is unreachable and that holds nothing usable
	// renews alone, once per hold-off window; a one-shot process (the CLI)
	// that would do so on every run sets this and fails instead.
	StoreRequired bool
}

// Option defaults and bounds. The bounds keep every sum of times far from
// int64 overflow and a hostile option from parking a session for years.
const (
	defaultMaxAttempts = 4
	defaultBackoffBase = 200
	defaultBackoffCap  = 10000
	defaultBudget      = 30000
	defaultTimeout     = 60000
	defaultHoldOff     = 10000
	defaultLeasePoll   = 500

	maxOptionMs       = 86400000 // one day
	maxOptionAttempts = 100
)

// withDefaults fills every zero field.
func (o Options) withDefaults() Options {
	def := func(v *int64, d int64) {
		if *v == 0 {
			*v = d
		}
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = defaultMaxAttempts
	}
	def(&o.BackoffBaseMs, defaultBackoffBase)
	def(&o.BackoffCapMs, defaultBackoffCap)
	def(&o.BudgetMs, defaultBudget)
	def(&o.TimeoutMs, defaultTimeout)
	def(&o.HoldOffMs, defaultHoldOff)
	def(&o.LeasePollMs, defaultLeasePoll)
	return o
}

// validate refuses negative and absurd values, naming the wire key.
func (o *Options) validate() error {
	if o.MaxAttempts < 0 || o.MaxAttempts > maxOptionAttempts {
		return optionError("max_attempts", "must be between 1 and "+strconv.Itoa(maxOptionAttempts))
	}
	for _, f := range []struct {
		k string
		v int64
	}{{"backoff_base_ms", o.BackoffBaseMs}, {"backoff_cap_ms", o.BackoffCapMs}, {"budget_ms", o.BudgetMs},
		{"timeout_ms", o.TimeoutMs}, {"hold_off_ms", o.HoldOffMs}, {"lease_poll_ms", o.LeasePollMs}} {
		if f.v < 0 || f.v > maxOptionMs {
			return optionError(f.k, "must be between 1 and "+strconv.Itoa(maxOptionMs)+" ms")
		}
	}
	return nil
}

func optionError(key, msg string) *Error {
	return &Error{Code: CodeConfig, Field: "options." + key, Message: "options." + key + ": " + msg}
}

// ParseOptions reads the wire object of docs/protocol.md. Every key is
// optional; empty input or {} gives the defaults. Unknown keys are refused
// (a misspelt option must not be ignored), as ParseConfig does.
func ParseOptions(data []byte) (Options, error) {
	var o Options
	data = trimBOM(data)
	if len(trimSpace(data)) == 0 {
		return o, nil
	}
	var p fastjson.Parser
	v, err := p.ParseBytes(data)
	if err != nil || v.Type() != fastjson.TypeObject {
		return o, optionError("options", "must be a JSON object")
	}
	obj, _ := v.Object()
	var perr *Error
	obj.Visit(func(k []byte, fv *fastjson.Value) {
		if perr != nil {
			return
		}
		key := string(k)
		if fv.Type() == fastjson.TypeNull {
			return
		}
		if key == "seed" {
			// A seed is a u64; JSON numbers past 2^53 lose bits in JS, so
			// a decimal string is accepted too.
			if s, ok := stringValue(fv); ok {
				n, err := strconv.ParseUint(s, 10, 64)
				if err != nil {
					perr = optionError(key, "must be an unsigned integer")
				}
				o.Seed = n
				return
			}
			n, err := fv.Uint64()
			if err != nil {
				perr = optionError(key, "must be an unsigned integer")
			}
			o.Seed = n
			return
		}
		if key == "store_required" {
			b, err := fv.Bool()
			if err != nil {
				perr = optionError(key, "must be true or false")
			}
			o.StoreRequired = b
			return
		}
		n, err := fv.Int64()
		if err != nil {
			perr = optionError(clip(key, 40), "must be a whole number")
			return
		}
		switch key {
		case "max_attempts":
			if n < 0 || n > maxOptionAttempts {
				perr = optionError(key, "must be between 1 and "+strconv.Itoa(maxOptionAttempts))
				return
			}
			o.MaxAttempts = int(n)
		case "backoff_base_ms":
			o.BackoffBaseMs = n
		case "backoff_cap_ms":
			o.BackoffCapMs = n
		case "budget_ms":
			o.BudgetMs = n
		case "timeout_ms":
			o.TimeoutMs = n
		case "hold_off_ms":
			o.HoldOffMs = n
		case "lease_poll_ms":
			o.LeasePollMs = n
		default:
			perr = optionError(clip(key, 40), "unknown option")
		}
	})
	if perr != nil {
		return Options{}, perr
	}
	if err := o.validate(); err != nil {
		return Options{}, err
	}
	return o, nil
}

// MarshalWire encodes o as the wire object, defaults filled in.
func (o Options) MarshalWire() []byte {
	d := o.withDefaults()
	w := newObj(nil)
	w.key("seed")
	w.b = strconv.AppendUint(w.b, d.Seed, 10)
	w.int("max_attempts", int64(d.MaxAttempts))
	w.int("backoff_base_ms", d.BackoffBaseMs)
	w.int("backoff_cap_ms", d.BackoffCapMs)
	w.int("budget_ms", d.BudgetMs)
	w.int("timeout_ms", d.TimeoutMs)
	w.int("hold_off_ms", d.HoldOffMs)
	w.int("lease_poll_ms", d.LeasePollMs)
	w.bool("store_required", d.StoreRequired)
	return w.done()
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// prng is splitmix64 (Steele, Lea, Flood 2014): 8 bytes of state, one
// multiply-xorshift per draw, and the same sequence in Go, WASM and any
// port. math/rand would do, but costs bytes in the WASM module and its
// sequence is not a documented contract.
type prng struct{ s uint64 }

func (p *prng) next() uint64 {
	p.s += 0x9e3779b97f4a7c15
	z := p.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// upTo answers a uniform integer in [0, n] (n ≥ 0). The modulo bias is
// below 2^-40 for the n a schedule uses (≤ a day in ms).
func (p *prng) upTo(n int64) int64 {
	if n <= 0 {
		return 0
	}
	return int64(p.next() % uint64(n+1))
}
