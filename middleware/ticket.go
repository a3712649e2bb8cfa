package middleware

import (
	"strings"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/parley-chat/parley/internal/auth"
)

// Locals keys set by Ticket for the socket handler.
const (
	LocalUser    = "parley.user"
	LocalSession = "parley.session"
)

// Upgrade answers 426 to anything but a WebSocket upgrade.
func Upgrade() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !websocket.IsWebSocketUpgrade(c) {
			return fiber.NewError(fiber.StatusUpgradeRequired, "This endpoint only accepts WebSocket upgrades.")
		}
		return c.Next()
	}
}

// Ticket redeems the `ticket` query parameter (401 when it is missing,
// unknown, expired or used) and hands the ticket's user and session to the
// socket handler as copied strings, never aliases of fasthttp's buffers.
func Ticket(tickets *auth.Tickets) fiber.Handler {
	return func(c *fiber.Ctx) error {
		token := strings.Clone(c.Query("ticket"))
		t, err := tickets.Redeem(c.UserContext(), token)
		if err != nil {
			return err
		}
		c.Locals(LocalUser, strings.Clone(t.User))
		c.Locals(LocalSession, strings.Clone(t.Session))
		return c.Next()
	}
}

// upgradeHeaders are the request headers the WebSocket upgrade reads (and
// the proxy headers the access log may).
var upgradeHeaders = map[string]bool{
	"Host": true, "Upgrade": true, "Connection": true, "Origin": true,
	"Sec-Websocket-Key": true, "Sec-Websocket-Version": true,
	"Sec-Websocket-Extensions": true, "Sec-Websocket-Protocol": true,
	"X-Forwarded-For": true, "X-Forwarded-Proto": true, "X-Real-Ip": true,
}

// Trim drops, once the ticket is redeemed, what the socket handler never
// reads: cookies, the query (the ticket itself) and the headers the
// upgrade does not need. contrib/websocket copies all of them into maps
// that live as long as the connection: the session cookie and the ticket
// would sit in memory for the connection's life, and a browser's headers
// cost every idle connection about a kilobyte.
func Trim() fiber.Handler {
	return func(c *fiber.Ctx) error {
		h := &c.Request().Header
		h.DelAllCookies()
		c.Request().URI().QueryArgs().Reset()
		var drop []string
		h.VisitAll(func(k, _ []byte) {
			if !upgradeHeaders[string(k)] {
				drop = append(drop, string(k))
			}
		})
		for _, k := range drop {
			h.Del(k)
		}
		return c.Next()
	}
}
