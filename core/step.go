package core

import (
	"github.com/tokensmith/tokensmith/third_party/fastjson"
)

// StepKind says what a Step asks of the host (docs/protocol.md, "Steps").
type StepKind int

const (
	StepToken   StepKind = iota + 1 // serve Step.Token (already committed)
	StepRequest                     // send Step.Request and Feed the response
	StepWait                        // sleep until Step.UntilMs, then Next
	StepLease                       // take the lease for Step.LeaseTTLMs and load the stored token; answer with Leased
	StepCommit                      // store Step.Token if the stored rev is still Step.BaseRev (or the lease is ours), release; answer with Committed
	StepRelease                     // release the lease without storing; answer with Released
	StepError                       // report Step.Err: final for this renewal (the core already retried)
	StepPending                     // another caller is driving this session
)

func (k StepKind) String() string {
	switch k {
	case StepToken:
		return "token"
	case StepRequest:
		return "request"
	case StepWait:
		return "wait"
	case StepLease:
		return "lease"
	case StepCommit:
		return "commit"
	case StepRelease:
		return "release"
	case StepError:
		return "error"
	case StepPending:
		return "pending"
	}
	return "invalid"
}

// Wait reasons.
const (
	ReasonRetry = "retry" // a retryable failure: the same request after the backoff
	ReasonLease = "lease" // another holder has the lease: ask for it again
)

// Step is the core's answer to Next, Feed, Leased, Committed and Released.
type Step struct {
	Kind       StepKind
	Token      Token   // StepToken; StepCommit: the token to store (with its new Rev)
	Changed    bool    // StepToken: differs from the last token step
	Usable     *Token  // StepRequest, StepWait, StepLease, StepError, StepPending: stale-but-valid token to serve meanwhile
	Request    Request // StepRequest (Request.TimeoutMs set)
	UntilMs    int64   // StepWait
	Reason     string  // StepWait: ReasonRetry or ReasonLease
	LeaseTTLMs int64   // StepLease
	BaseRev    int64   // StepCommit
	Err        *Error  // StepError (Err.RetryAtMs = end of hold-off)
}

// LeaseResult answers a StepLease: whether the lease was taken, and the
// stored token (nil when none), or the store's failure.
type LeaseResult struct {
	Acquired bool
	Token    *Token
	Err      *Error
}

// CommitResult answers a StepCommit: stored (OK), lost (another holder
// committed first; Token is what is stored, or nil), or the store's failure.
type CommitResult struct {
	OK    bool
	Token *Token
	Err   *Error
}

// MarshalWire encodes s as its wire step (docs/protocol.md).
func (s *Step) MarshalWire() []byte { return s.AppendWire(nil) }

// AppendWire appends the wire encoding of s to dst.
func (s *Step) AppendWire(dst []byte) []byte {
	o := newObj(dst)
	switch s.Kind {
	case StepToken:
		o.key("token")
		o.b = appendTokenObj(o.b, &s.Token)
		o.bool("changed", s.Changed)
		return o.done()
	case StepRequest:
		o.key("request")
		o.b = appendRequestObj(o.b, &s.Request)
	case StepWait:
		o.key("wait")
		w := newObj(o.b)
		w.int("until_ms", s.UntilMs)
		w.str("reason", s.Reason)
		o.b = w.done()
	case StepLease:
		o.key("lease")
		w := newObj(o.b)
		w.int("ttl_ms", s.LeaseTTLMs)
		o.b = w.done()
	case StepCommit:
		o.key("commit")
		w := newObj(o.b)
		w.key("token")
		w.b = appendTokenObj(w.b, &s.Token)
		w.int("base_rev", s.BaseRev)
		o.b = w.done()
		return o.done()
	case StepRelease:
		o.raw("release", []byte("{}"))
		return o.done()
	case StepError:
		e := s.Err
		if e == nil {
			e = &Error{Code: CodeUsage, Message: "error step without an error"}
		}
		o.key("error")
		o.b = appendErrorObj(o.b, e)
	default:
		o.bool("pending", true)
	}
	if s.Usable != nil {
		o.key("usable")
		o.b = appendTokenObj(o.b, s.Usable)
	}
	return o.done()
}

// ParseStep reads a wire-format step, as a host gets it back from the WASM
// module. Unknown keys are ignored: a later core may add some.
func ParseStep(data []byte) (Step, error) {
	var p fastjson.Parser
	v, err := p.ParseBytes(data)
	if err != nil || v.Type() != fastjson.TypeObject {
		return Step{}, wireErr("step: not a JSON object")
	}
	var st Step
	if u := v.Get("usable"); u != nil && u.Type() == fastjson.TypeObject {
		t, err := tokenFromValue(u)
		if err != nil {
			return Step{}, err
		}
		st.Usable = &t
	}
	obj := func(k string) *fastjson.Value {
		if x := v.Get(k); x != nil && x.Type() == fastjson.TypeObject {
			return x
		}
		return nil
	}
	switch {
	case obj("commit") != nil:
		c := obj("commit")
		t, err := tokenFromValue(c.Get("token"))
		if err != nil {
			return Step{}, err
		}
		return Step{Kind: StepCommit, Token: t, BaseRev: c.GetInt64("base_rev")}, nil
	case obj("lease") != nil:
		st.Kind, st.LeaseTTLMs = StepLease, obj("lease").GetInt64("ttl_ms")
	case obj("wait") != nil:
		w := obj("wait")
		st.Kind, st.UntilMs = StepWait, w.GetInt64("until_ms")
		st.Reason, _ = optString(w.Get("reason"))
	case obj("release") != nil:
		return Step{Kind: StepRelease}, nil
	case obj("request") != nil:
		r, err := requestFromValue(obj("request"))
		if err != nil {
			return Step{}, err
		}
		st.Kind, st.Request = StepRequest, r
	case obj("error") != nil:
		st.Kind, st.Err = StepError, errorFromValue(obj("error"))
	case v.GetBool("pending"):
		st.Kind = StepPending
	case obj("token") != nil:
		t, err := tokenFromValue(obj("token"))
		if err != nil {
			return Step{}, err
		}
		return Step{Kind: StepToken, Token: t, Changed: v.GetBool("changed")}, nil
	default:
		return Step{}, wireErr("step: no token, request, wait, lease, commit, release, error or pending")
	}
	return st, nil
}

// MarshalWire encodes r as the input {"lease":{…}} that answers a lease step.
func (r *LeaseResult) MarshalWire() []byte {
	o := newObj(nil)
	o.key("lease")
	w := newObj(o.b)
	if r.Err != nil {
		w.key("error")
		w.b = appendErrorObj(w.b, r.Err)
	} else {
		w.bool("acquired", r.Acquired)
		appendOptToken(&w, "token", r.Token)
	}
	o.b = w.done()
	return o.done()
}

// MarshalWire encodes r as the input {"commit":{…}} that answers a commit step.
func (r *CommitResult) MarshalWire() []byte {
	o := newObj(nil)
	o.key("commit")
	w := newObj(o.b)
	if r.Err != nil {
		w.key("error")
		w.b = appendErrorObj(w.b, r.Err)
	} else {
		w.bool("ok", r.OK)
		if !r.OK {
			appendOptToken(&w, "token", r.Token)
		}
	}
	o.b = w.done()
	return o.done()
}

// MarshalInput encodes r as the input {"response":{…}} that answers a
// request step.
func (r *Response) MarshalInput() []byte {
	o := newObj(nil)
	o.raw("response", r.MarshalWire())
	return o.done()
}

// ReleaseInput is the input that answers a release step.
var ReleaseInput = []byte(`{"release":{}}`)

func appendOptToken(w *objWriter, k string, t *Token) {
	w.key(k)
	if t == nil {
		w.b = append(w.b, "null"...)
		return
	}
	w.b = appendTokenObj(w.b, t)
}

// Input is one answer a host feeds back (docs/protocol.md, "Inputs"):
// exactly one of the fields is set.
type Input struct {
	Response *Response
	Lease    *LeaseResult
	Commit   *CommitResult
	Release  bool
}

// ParseInput reads {"response"|"lease"|"commit"|"release": …}.
func ParseInput(data []byte) (Input, error) {
	var p fastjson.Parser
	v, err := p.ParseBytes(trimBOM(data))
	if err != nil || v.Type() != fastjson.TypeObject {
		return Input{}, wireErr("input: not a JSON object")
	}
	n := 0
	var in Input
	o, _ := v.Object()
	var perr error
	o.Visit(func(k []byte, fv *fastjson.Value) {
		if perr != nil {
			return
		}
		switch string(k) {
		case "response":
			n++
			r, err := responseFromValue(fv)
			if err != nil {
				perr = err
				return
			}
			in.Response = &r
		case "lease":
			n++
			if fv.Type() != fastjson.TypeObject {
				perr = wireErr("input: lease is not an object")
				return
			}
			var lr LeaseResult
			if ev := fv.Get("error"); ev != nil && ev.Type() == fastjson.TypeObject {
				lr.Err = errorFromValue(ev)
			} else {
				lr.Acquired = fv.GetBool("acquired")
				if lr.Token, perr = optTokenValue(fv.Get("token"), "lease"); perr != nil {
					return
				}
			}
			in.Lease = &lr
		case "commit":
			n++
			if fv.Type() != fastjson.TypeObject {
				perr = wireErr("input: commit is not an object")
				return
			}
			var cr CommitResult
			if ev := fv.Get("error"); ev != nil && ev.Type() == fastjson.TypeObject {
				cr.Err = errorFromValue(ev)
			} else {
				okv := fv.Get("ok")
				if okv == nil || (okv.Type() != fastjson.TypeTrue && okv.Type() != fastjson.TypeFalse) {
					perr = wireErr("input: commit.ok must be true or false")
					return
				}
				cr.OK = okv.Type() == fastjson.TypeTrue
				if cr.Token, perr = optTokenValue(fv.Get("token"), "commit"); perr != nil {
					return
				}
			}
			in.Commit = &cr
		case "release":
			n++
			in.Release = true
		}
	})
	if perr != nil {
		return Input{}, perr
	}
	if n != 1 {
		return Input{}, wireErr("input: needs exactly one of response, lease, commit, release")
	}
	return in, nil
}

func optTokenValue(v *fastjson.Value, what string) (*Token, error) {
	if v == nil || v.Type() == fastjson.TypeNull {
		return nil, nil
	}
	t, err := tokenFromValue(v)
	if err != nil {
		return nil, wireErr(what + ": " + err.(*Error).Message)
	}
	return &t, nil
}

// String describes r without any token value.
func (r LeaseResult) String() string {
	if r.Err != nil {
		return "core.LeaseResult{error=" + r.Err.Error() + "}"
	}
	return "core.LeaseResult{acquired=" + boolText(r.Acquired) + " token=" + optTokenText(r.Token) + "}"
}

// GoString keeps %#v as safe as %v.
func (r LeaseResult) GoString() string { return r.String() }

// String describes r without any token value.
func (r CommitResult) String() string {
	if r.Err != nil {
		return "core.CommitResult{error=" + r.Err.Error() + "}"
	}
	return "core.CommitResult{ok=" + boolText(r.OK) + " token=" + optTokenText(r.Token) + "}"
}

// GoString keeps %#v as safe as %v.
func (r CommitResult) GoString() string { return r.String() }

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func optTokenText(t *Token) string {
	if t == nil {
		return "none"
	}
	return t.String()
}
