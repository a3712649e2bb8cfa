package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// SessionCookie is the name of Parley's session cookie.
const SessionCookie = "parley_session"

// API calls Parley's HTTP endpoints.
type API struct {
	BaseURL string
	Client  *http.Client
	// tickets sends POST /ticket, the one call of the connect storm, on
	// fasthttp's client: net/http's costs the load tool several times more
	// CPU per request, and the storm would measure the load tool.
	tickets *fasthttp.HostClient
}

// NewAPI returns an API for baseURL with a keep-alive pool sized for
// concurrency requests in flight.
func NewAPI(baseURL string, concurrency int) *API {
	tr := &http.Transport{
		MaxIdleConns:        concurrency,
		MaxIdleConnsPerHost: concurrency,
		IdleConnTimeout:     30 * time.Second,
	}
	a := &API{BaseURL: strings.TrimRight(baseURL, "/"), Client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
	if u, err := url.Parse(a.BaseURL); err == nil {
		hc := &fasthttp.HostClient{Addr: u.Host, MaxConns: max(concurrency, 1)}
		if u.Port() == "" {
			hc.Addr = u.Host + ":80"
		}
		if u.Scheme == "https" {
			hc.IsTLS = true
			if u.Port() == "" {
				hc.Addr = u.Host + ":443"
			}
		}
		a.tickets = hc
	}
	return a
}

// Close drops the idle connections of the pool.
func (a *API) Close() {
	a.Client.CloseIdleConnections()
	if a.tickets != nil {
		a.tickets.CloseIdleConnections()
	}
}

// StatusError is a non-success HTTP answer.
type StatusError struct {
	Path   string
	Status int
	Body   string
}

// Error describes the failed call without any credential.
func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: HTTP %d: %s", e.Path, e.Status, e.Body)
}

// post sends body as JSON (nil sends no body) with an optional session
// cookie, and returns the response for the caller to close.
func (a *API) post(ctx context.Context, path string, body any, cookie string) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.BaseURL+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: SessionCookie, Value: cookie})
	}
	return a.Client.Do(req)
}

// statusErr reads a short part of a failed response into a StatusError.
func statusErr(path string, resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	return &StatusError{Path: path, Status: resp.StatusCode, Body: strings.TrimSpace(string(b))}
}

// Register creates the account; an account that exists already (409) is not
// an error, so a data folder can be reused.
func (a *API) Register(ctx context.Context, user, password string) error {
	resp, err := a.post(ctx, "/register", map[string]string{"username": user, "password": password}, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusConflict {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	return statusErr("/register", resp)
}

// Login returns the session cookie value for user.
func (a *API) Login(ctx context.Context, user, password string) (string, error) {
	resp, err := a.post(ctx, "/login", map[string]string{"username": user, "password": password}, "")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", statusErr("/login", resp)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie && c.Value != "" {
			return c.Value, nil
		}
	}
	return "", errors.New("/login: no " + SessionCookie + " cookie in the answer")
}

// Ticket exchanges a session cookie for a one-time WebSocket ticket.
func (a *API) Ticket(ctx context.Context, cookie string) (string, error) {
	if a.tickets == nil {
		return "", errors.New("/ticket: bad base URL " + a.BaseURL)
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(a.BaseURL + "/ticket")
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetCookie(SessionCookie, cookie)
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(30 * time.Second)
	}
	if err := a.tickets.DoDeadline(req, resp, deadline); err != nil {
		return "", fmt.Errorf("/ticket: %w", err)
	}
	if code := resp.StatusCode(); code != http.StatusOK {
		body := resp.Body()
		if len(body) > 200 {
			body = body[:200]
		}
		return "", &StatusError{Path: "/ticket", Status: code, Body: strings.TrimSpace(string(body))}
	}
	var out struct {
		Ticket string `json:"ticket"`
	}
	if err := json.Unmarshal(resp.Body(), &out); err != nil {
		return "", fmt.Errorf("/ticket: %w", err)
	}
	if out.Ticket == "" {
		return "", errors.New("/ticket: empty ticket")
	}
	return out.Ticket, nil
}
