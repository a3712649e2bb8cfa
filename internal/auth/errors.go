// Package auth holds Parley's accounts: password hashing, registration and
// login, server-side sessions, single-use WebSocket tickets and login rate
// limits. It knows nothing about HTTP; the handlers map its error codes to
// statuses in one place.
package auth

import "errors"

// Code classifies an auth failure. The HTTP layer maps each code to a status.
type Code string

// The codes an auth operation can fail with.
const (
	CodeInvalid      Code = "invalid"      // the request breaks a rule (400)
	CodeConflict     Code = "conflict"     // the username is taken (409)
	CodeUnauthorized Code = "unauthorized" // wrong credentials, no session, bad ticket (401)
	CodeRateLimited  Code = "rate_limited" // too many attempts (429)
	CodeUnavailable  Code = "unavailable"  // the database cannot be reached (503)
)

// Error is a coded error whose Message is safe to show to a person.
type Error struct {
	Code    Code
	Message string
	Err     error // the underlying cause, logged but never shown
}

func (e *Error) Error() string {
	if e.Err != nil {
		return string(e.Code) + ": " + e.Message + ": " + e.Err.Error()
	}
	return string(e.Code) + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// CodeOf returns the Code of err, or "" when err is not an *Error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func fail(code Code, msg string) *Error { return &Error{Code: code, Message: msg} }
