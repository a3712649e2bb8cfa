package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/store"
)

// SessionMaxIdle is how long a session lasts unused.
const SessionMaxIdle = 30 * 24 * time.Hour

// Accounts registers users, checks logins and manages sessions.
type Accounts struct {
	st      store.Store
	limiter Limiter
	now     func() time.Time
}

// NewAccounts returns the account service. limiter counts /login and
// /register attempts per client address and per username. now may be nil.
func NewAccounts(st store.Store, limiter Limiter, now func() time.Time) *Accounts {
	if now == nil {
		now = time.Now
	}
	return &Accounts{st: st, limiter: limiter, now: now}
}

// allow charges one attempt to the client address and to the username.
func (a *Accounts) allow(ctx context.Context, clientAddr, name string) error {
	for _, key := range []string{"addr:" + clientAddr, "user:" + strings.ToLower(name)} {
		ok, err := a.limiter.Allow(ctx, key)
		if err != nil {
			return &Error{Code: CodeUnavailable, Message: "The service is unavailable; try again shortly.", Err: err}
		}
		if !ok {
			return fail(CodeRateLimited, "Too many attempts; wait a minute and try again.")
		}
	}
	return nil
}

// Register creates an account.
func (a *Accounts) Register(ctx context.Context, name, password, clientAddr string) error {
	if err := a.allow(ctx, clientAddr, name); err != nil {
		return err
	}
	if err := checkCredentials(name, password); err != nil {
		return err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return &Error{Code: CodeUnavailable, Message: "Could not register; try again.", Err: err}
	}
	switch err := a.st.CreateUser(ctx, name, hash, a.now().UTC()); {
	case errors.Is(err, store.ErrConflict):
		return fail(CodeConflict, "That username is taken.")
	case err != nil:
		return unavailable(err)
	}
	return nil
}

// Login checks credentials and returns the user as registered. An unknown
// user and a wrong password fail alike, in about the same time.
func (a *Accounts) Login(ctx context.Context, name, password, clientAddr string) (store.User, error) {
	if err := a.allow(ctx, clientAddr, name); err != nil {
		return store.User{}, err
	}
	wrong := fail(CodeUnauthorized, "Wrong username or password.")
	if !ValidUsername(name) || len(password) > MaxPassword {
		CheckPassword(dummyHash, password)
		return store.User{}, wrong
	}
	u, err := a.st.User(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		CheckPassword(dummyHash, password)
		return store.User{}, wrong
	case err != nil:
		return store.User{}, unavailable(err)
	}
	if !CheckPassword(u.PasswordHash, password) {
		return store.User{}, wrong
	}
	return u, nil
}

// CreateSession starts a session for user and returns the cookie value. Only
// a hash of it is stored.
func (a *Accounts) CreateSession(ctx context.Context, user string) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", unavailable(err)
	}
	cookie := base64.RawURLEncoding.EncodeToString(b[:])
	if err := a.st.CreateSession(ctx, SessionID(cookie), user, a.now().UTC()); err != nil {
		return "", unavailable(err)
	}
	return cookie, nil
}

// Session returns the user and session id behind a cookie value, and marks
// the session used. CodeUnauthorized when there is none.
func (a *Accounts) Session(ctx context.Context, cookie string) (user, id string, err error) {
	if cookie == "" || len(cookie) > 128 {
		return "", "", fail(CodeUnauthorized, "Log in first.")
	}
	id = SessionID(cookie)
	user, err = a.st.TouchSession(ctx, id, a.now().UTC(), SessionMaxIdle)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", "", fail(CodeUnauthorized, "Log in first.")
	case err != nil:
		return "", "", unavailable(err)
	}
	return user, id, nil
}

// EndSession deletes the session behind cookie and returns its id (empty
// when the cookie was empty).
func (a *Accounts) EndSession(ctx context.Context, cookie string) (string, error) {
	if cookie == "" {
		return "", nil
	}
	id := SessionID(cookie)
	if err := a.st.DeleteSession(ctx, id); err != nil {
		return "", unavailable(err)
	}
	return id, nil
}

// SessionID is the key a session is stored under: the SHA-256 of the cookie
// value, so that a copy of the database does not hand out live sessions.
func SessionID(cookie string) string {
	sum := sha256.Sum256([]byte(cookie))
	return hex.EncodeToString(sum[:])
}

func unavailable(err error) *Error {
	return &Error{Code: CodeUnavailable, Message: "The service is unavailable; try again shortly.", Err: err}
}
