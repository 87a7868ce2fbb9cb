package core

import (
	"strconv"
	"strings"
)

// Stable error codes. They are the public contract: hosts, the CLI and the
// JS wrapper switch on them, so they never change meaning.
const (
	CodeConfig               = "config"                 // the configuration is wrong; the message names the field
	CodeInvalidRequest       = "invalid_request"        // the vendor rejected the request's shape
	CodeInvalidClient        = "invalid_client"         // wrong client id, secret, licence or key
	CodeUnauthorizedClient   = "unauthorized_client"    // the client may not use this grant
	CodeInvalidGrant         = "invalid_grant"          // wrong username/password, or a dead refresh token
	CodeUnsupportedGrantType = "unsupported_grant_type" // the vendor does not accept this grant (or body encoding)
	CodeInvalidToken         = "invalid_token"          // the token or refresh token is invalid or expired
	CodeQuotaExceeded        = "quota_exceeded"         // 429, or the vendor's credits are exhausted
	CodeServerError          = "server_error"           // 5xx or the vendor's own failure
	CodeMalformedResponse    = "malformed_response"     // the answer is not what the vendor documents
	CodeNetwork              = "network"                // no answer: connection, timeout, reset
	CodeUsage                = "usage"                  // the host drove the session out of order
	CodeStore                = "store"                  // the host's store failed (lease, load or commit); retryable
	CodeCORS                 = "cors"                   // a browser refused the answer (CORS, opaque): not retryable
)

// Error is every failure the core reports. Its text never contains a
// password, secret, key or token: messages are built from fixed strings,
// field names and redacted excerpts only.
type Error struct {
	Code       string // one of the Code constants
	Status     int    // HTTP status, 0 when there was none
	Message    string // human-readable, already redacted
	Field      string // the config field at fault (code "config"), else ""
	Retryable  bool   // network, 5xx and 429: worth trying again
	RetryAfter int64  // seconds the vendor asked us to wait (Retry-After), 0 when unsaid
	RetryAtMs  int64  // unix ms: the session makes no new attempt before this (hold-off), 0 when none
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("tokensmith: ")
	b.WriteString(e.Code)
	if e.Status != 0 {
		b.WriteString(" (HTTP ")
		b.WriteString(strconv.Itoa(e.Status))
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Is lets errors.Is match on the code: errors.Is(err, &core.Error{Code: core.CodeInvalidGrant}).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// MarshalWire encodes e as {"error":{"code","status","message",...}}.
func (e *Error) MarshalWire() []byte { return appendErrorWire(nil, e) }

func appendErrorWire(dst []byte, e *Error) []byte {
	o := newObj(dst)
	o.key("error")
	o.b = appendErrorObj(o.b, e)
	return o.done()
}

func appendErrorObj(dst []byte, e *Error) []byte {
	o := newObj(dst)
	o.str("code", e.Code)
	o.int("status", int64(e.Status))
	o.str("message", e.Message)
	o.optStr("field", e.Field)
	o.bool("retryable", e.Retryable)
	o.int("retry_after", e.RetryAfter)
	if e.RetryAtMs != 0 {
		o.int("retry_at_ms", e.RetryAtMs)
	}
	return o.done()
}

func configError(field, msg string) *Error {
	return &Error{Code: CodeConfig, Field: field, Message: field + ": " + msg}
}

func malformed(status int, msg string) *Error {
	return &Error{Code: CodeMalformedResponse, Status: status, Message: msg}
}

// httpError classifies a non-success status before any vendor-specific
// reading of the body: 429 and 5xx are retryable, every other 4xx is final.
func httpError(status int, resp *Response, now int64, excerpt string) *Error {
	e := &Error{Status: status}
	switch {
	case status == 429:
		e.Code, e.Retryable = CodeQuotaExceeded, true
	case status >= 500:
		e.Code, e.Retryable = CodeServerError, true
	case status == 401:
		e.Code = CodeInvalidClient
	case status == 403:
		e.Code = CodeUnauthorizedClient
	case status == 408:
		e.Code, e.Retryable = CodeNetwork, true
	case status == 404:
		e.Code = CodeInvalidRequest
		excerpt = "endpoint not found (check base_url); " + excerpt
	default:
		e.Code = CodeInvalidRequest
	}
	if e.Retryable {
		e.RetryAfter = retryAfter(resp.header("retry-after"), now)
	}
	e.Message = "HTTP " + strconv.Itoa(status)
	if excerpt != "" {
		e.Message += ": " + excerpt
	}
	return e
}

// retryAfter reads Retry-After as delta-seconds or an HTTP date, clamped to
// one day so a hostile header cannot park a client forever.
func retryAfter(v string, now int64) int64 {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var secs int64
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		secs = n
	} else if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
		secs = n // ±MaxInt64: clamped below rather than read as "unsaid"
	} else if t, ok := parseHTTPDate(v); ok {
		secs = t - now
	}
	if secs < 0 {
		return 0
	}
	if secs > 86400 {
		return 86400
	}
	return secs
}

// oauthCode maps an RFC 6749 error value to our code; unknown values become
// invalid_request so the set of codes stays closed.
func oauthCode(v string) string {
	switch v {
	case CodeInvalidRequest, CodeInvalidClient, CodeInvalidGrant, CodeUnauthorizedClient,
		CodeUnsupportedGrantType, CodeInvalidToken:
		return v
	case "invalid_scope", "access_denied":
		return CodeUnauthorizedClient
	case "server_error", "temporarily_unavailable":
		return CodeServerError
	}
	return CodeInvalidRequest
}
