// Package middleware holds Parley's Fiber middleware: the WebSocket guards
// (upgrade, origin, ticket), security headers, the access log with metrics,
// and the one error handler that turns errors into JSON.
package middleware

import (
	"errors"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// NormalizeOrigin parses an origin (scheme://host[:port]) and returns it in
// canonical form: lower-case scheme and host, default port dropped. Paths,
// queries, user info and schemes other than http and https are refused.
func NormalizeOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return "", err
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", errors.New("an origin's scheme is http or https")
	}
	if u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", errors.New("an origin is scheme://host[:port] and nothing more")
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		return scheme + "://" + host + ":" + port, nil
	}
	return scheme + "://" + host, nil
}

// Origin refuses, with 403, a WebSocket upgrade whose Origin header is not
// allowed. allowed holds origins in NormalizeOrigin form; when it is empty
// only the server's own origin is allowed: the request's scheme (https under
// TLS or behind a proxy that says X-Forwarded-Proto: https) with its Host
// header. Browsers do not let a page set either header on a WebSocket, so a
// cross-site page cannot forge its way in. A request with no Origin header is not from a browser
// and passes: the ticket alone judges it. It never consumes a ticket.
func Origin(allowed []string) fiber.Handler {
	set := make(map[string]struct{}, len(allowed))
	for _, o := range allowed {
		set[o] = struct{}{}
	}
	return func(c *fiber.Ctx) error {
		raw := c.Get(fiber.HeaderOrigin)
		if raw == "" {
			return c.Next()
		}
		if originAllowed(raw, c.Protocol()+"://"+string(c.Request().Host()), set) {
			return c.Next()
		}
		return fiber.NewError(fiber.StatusForbidden, "This origin may not open a chat connection.")
	}
}

func originAllowed(raw, own string, set map[string]struct{}) bool {
	origin, err := NormalizeOrigin(raw)
	if err != nil {
		return false // includes "null"
	}
	if len(set) > 0 {
		_, ok := set[origin]
		return ok
	}
	want, err := NormalizeOrigin(own)
	return err == nil && want == origin
}
