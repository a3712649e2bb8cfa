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

// Trim drops, once the ticket is redeemed, the cookies and the query (the
// ticket itself): the socket handler never reads them, and contrib/websocket
// would copy them into maps of a pooled connection object, where the
// session cookie and the ticket would linger until the object is reused.
// Headers are left alone: dropping them costs about as much as contrib's
// copy of them, which is garbage as soon as the connection is handed over.
func Trim() fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Request().Header.DelAllCookies()
		c.Request().URI().QueryArgs().Reset()
		return c.Next()
	}
}
