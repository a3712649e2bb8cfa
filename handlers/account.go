// Package handlers builds Parley's Fiber handlers: the JSON account routes,
// the pages, health and room listing, and the WebSocket read and write pumps.
// Each constructor takes what it needs and returns a handler.
package handlers

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/chat"
)

// SessionCookie is the name of the session cookie.
const SessionCookie = "parley_session"

// Accounts are the account routes' dependencies.
type Accounts struct {
	Accounts *auth.Accounts
	Tickets  *auth.Tickets
	Hub      *chat.Hub
}

type credentials struct {
	Username string
	Password string
}

// readCredentials parses {"username","password"}: a JSON object with both
// fields as strings, sent as application/json (which a cross-site form
// cannot send, so login and register cannot be forged from another site).
func readCredentials(c *fiber.Ctx) (credentials, error) {
	bad := fiber.NewError(fiber.StatusBadRequest, "Send a JSON object with \"username\" and \"password\" as strings, as Content-Type: application/json.")
	ct := strings.ToLower(strings.TrimSpace(strings.SplitN(c.Get(fiber.HeaderContentType), ";", 2)[0]))
	if ct != fiber.MIMEApplicationJSON {
		return credentials{}, bad
	}
	body := bytes.TrimSpace(c.Body())
	if len(body) == 0 || body[0] != '{' {
		return credentials{}, bad
	}
	var raw struct {
		Username *string `json:"username"`
		Password *string `json:"password"`
	}
	if err := json.Unmarshal(body, &raw); err != nil || raw.Username == nil || raw.Password == nil {
		return credentials{}, bad
	}
	return credentials{Username: *raw.Username, Password: *raw.Password}, nil
}

// Register handles POST /register: 201 {"username"}.
func Register(d Accounts) fiber.Handler {
	return func(c *fiber.Ctx) error {
		cr, err := readCredentials(c)
		if err != nil {
			return err
		}
		if err := d.Accounts.Register(c.UserContext(), cr.Username, cr.Password, c.IP()); err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(fiber.Map{"username": cr.Username})
	}
}

type ticketResponse struct {
	Ticket    string `json:"ticket"`
	ExpiresIn int    `json:"expires_in"`
	Username  string `json:"username"`
}

func issueTicket(c *fiber.Ctx, d Accounts, user, session string) error {
	t, err := d.Tickets.Issue(c.UserContext(), user, session)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(ticketResponse{Ticket: t, ExpiresIn: int(d.Tickets.TTL().Round(time.Second) / time.Second), Username: user})
}

func setSessionCookie(c *fiber.Ctx, value string, maxAge time.Duration) {
	c.Cookie(&fiber.Cookie{
		Name:     SessionCookie,
		Value:    value,
		Path:     "/",
		MaxAge:   int(maxAge / time.Second),
		HTTPOnly: true,
		Secure:   c.Protocol() == "https",
		SameSite: fiber.CookieSameSiteLaxMode,
	})
}

// Login handles POST /login: it starts a session (the cookie) and answers
// with a first ticket.
func Login(d Accounts) fiber.Handler {
	return func(c *fiber.Ctx) error {
		cr, err := readCredentials(c)
		if err != nil {
			return err
		}
		u, err := d.Accounts.Login(c.UserContext(), cr.Username, cr.Password, c.IP())
		if err != nil {
			return err
		}
		cookie, err := d.Accounts.CreateSession(c.UserContext(), u.Name)
		if err != nil {
			return err
		}
		setSessionCookie(c, cookie, auth.SessionMaxIdle)
		return issueTicket(c, d, u.Name, auth.SessionID(cookie))
	}
}

// Ticket handles POST /ticket: a fresh ticket for the session's user.
func Ticket(d Accounts) fiber.Handler {
	return func(c *fiber.Ctx) error {
		cookie := c.Cookies(SessionCookie)
		user, id, err := d.Accounts.Session(c.UserContext(), cookie)
		if err != nil {
			return err
		}
		setSessionCookie(c, strings.Clone(cookie), auth.SessionMaxIdle)
		return issueTicket(c, d, user, id)
	}
}

// Logout handles POST /logout: 204; the session ends and its sockets close
// with 1008.
func Logout(d Accounts) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := d.Accounts.EndSession(c.UserContext(), c.Cookies(SessionCookie))
		if err != nil {
			return err
		}
		if id != "" {
			// Void the session's unused tickets, then close its sockets; the
			// hub also refuses sockets whose ticket was redeemed meanwhile.
			if err := d.Tickets.DropSession(c.UserContext(), id); err != nil {
				return err
			}
			d.Hub.CloseSession(c.UserContext(), id)
		}
		setSessionCookie(c, "", -time.Second)
		return c.SendStatus(fiber.StatusNoContent)
	}
}

// Rooms handles GET /rooms: the rooms with members now, for a logged-in user.
func Rooms(d Accounts) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if _, _, err := d.Accounts.Session(c.UserContext(), c.Cookies(SessionCookie)); err != nil {
			return err
		}
		return c.JSON(fiber.Map{"rooms": d.Hub.Rooms(c.UserContext())})
	}
}
