package core

import (
	"github.com/tokensmith/tokensmith/third_party/fastjson"
)

// Decoders for the wire format, used where values cross a boundary: the WASM
// exports, the CLI, hosts reading a step back. Encoders are the MarshalWire
// methods on each type.

func wireErr(msg string) *Error { return &Error{Code: CodeUsage, Message: msg} }

// ParseResponse reads {"status":200,"headers":{…},"body":"…"} or, when the
// transport failed, {"error":{"code":"network","message":"…"}}.
func ParseResponse(data []byte) (Response, error) {
	var p fastjson.Parser
	v, err := p.ParseBytes(trimBOM(data))
	if err != nil {
		return Response{}, wireErr("response: not a JSON object")
	}
	return responseFromValue(v)
}

func responseFromValue(v *fastjson.Value) (Response, error) {
	if v.Type() != fastjson.TypeObject {
		return Response{}, wireErr("response: not a JSON object")
	}
	if ev := v.Get("error"); ev != nil && ev.Type() == fastjson.TypeObject {
		e := errorFromValue(ev)
		return Response{Err: e}, nil
	}
	var r Response
	sv := v.Get("status")
	if sv == nil {
		return r, wireErr("response: status missing")
	}
	n, err := sv.Int()
	if err != nil {
		return r, wireErr("response: status is not a number")
	}
	r.Status = n
	r.Header = stringMap(v.Get("headers"))
	if bv := v.Get("body"); bv != nil && bv.Type() != fastjson.TypeNull {
		if bv.Type() != fastjson.TypeString {
			return r, wireErr("response: body is not a string")
		}
		r.Body, _ = bv.StringBytes()
		r.Body = append([]byte(nil), r.Body...)
	}
	return r, nil
}

// MarshalWire encodes r as the wire-format response object.
func (r *Response) MarshalWire() []byte {
	if r.Err != nil {
		return appendErrorWire(nil, r.Err)
	}
	o := newObj(nil)
	o.int("status", int64(r.Status))
	h := r.Header
	if h == nil {
		h = map[string]string{}
	}
	o.strMap("headers", h)
	o.str("body", string(r.Body))
	return o.done()
}

// ParseRequest reads a wire-format request object.
func ParseRequest(data []byte) (Request, error) {
	var p fastjson.Parser
	v, err := p.ParseBytes(trimBOM(data))
	if err != nil || v.Type() != fastjson.TypeObject {
		return Request{}, wireErr("request: not a JSON object")
	}
	return requestFromValue(v)
}

func requestFromValue(v *fastjson.Value) (Request, error) {
	var r Request
	var ok bool
	if r.Method, ok = optString(v.Get("method")); !ok {
		return r, wireErr("request: method is not a string")
	}
	if r.URL, ok = optString(v.Get("url")); !ok || r.URL == "" {
		return r, wireErr("request: url missing")
	}
	if r.Body, ok = optString(v.Get("body")); !ok {
		return r, wireErr("request: body is not a string")
	}
	r.Header = stringMap(v.Get("headers"))
	if r.Header == nil {
		r.Header = map[string]string{}
	}
	if tv := v.Get("timeout_ms"); tv != nil && tv.Type() != fastjson.TypeNull {
		n, err := tv.Int64()
		if err != nil || n < 0 {
			return r, wireErr("request: timeout_ms is not a whole number")
		}
		r.TimeoutMs = n
	}
	return r, nil
}

// ParseError reads {"error":{…}}.
func ParseError(data []byte) (*Error, error) {
	var p fastjson.Parser
	v, err := p.ParseBytes(data)
	if err != nil || v.Get("error") == nil {
		return nil, wireErr("error: not an error object")
	}
	return errorFromValue(v.Get("error")), nil
}

func errorFromValue(v *fastjson.Value) *Error {
	e := &Error{}
	e.Code, _ = optString(v.Get("code"))
	e.Message, _ = optString(v.Get("message"))
	e.Field, _ = optString(v.Get("field"))
	e.Status = v.GetInt("status")
	e.Retryable = v.GetBool("retryable")
	e.RetryAfter = v.GetInt64("retry_after")
	e.RetryAtMs = v.GetInt64("retry_at_ms")
	if e.Code == "" {
		e.Code = CodeNetwork
	}
	return e
}

// parseAccessToken reads {"access_token":"…"}.
func parseAccessToken(data []byte) (string, error) {
	var p fastjson.Parser
	v, err := p.ParseBytes(trimBOM(data))
	if err != nil || v.Type() != fastjson.TypeObject {
		return "", wireErr("invalidate: not a JSON object")
	}
	at := v.Get("access_token")
	if at == nil {
		return "", wireErr("invalidate: access_token missing")
	}
	s, ok := stringValue(at)
	if !ok {
		return "", wireErr("invalidate: access_token is not a string")
	}
	return s, nil
}
