package handlers

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Index renders the chat page.
func Index() fiber.Handler {
	return func(c *fiber.Ctx) error {
		return c.Render("index", fiber.Map{"Title": "Parley"}, "layouts/main")
	}
}

// Pinger reports whether a dependency (the database, Redis) is reachable.
type Pinger func(ctx context.Context) error

// Health handles GET /healthz: 503 once shutting is set or when a
// dependency does not answer, else 200.
func Health(shutting *atomic.Bool, deps map[string]Pinger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if shutting.Load() {
			return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "shutting down"})
		}
		ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
		defer cancel()
		checks := fiber.Map{}
		ok := true
		for name, ping := range deps {
			if err := ping(ctx); err != nil {
				checks[name] = "unreachable"
				ok = false
			} else {
				checks[name] = "ok"
			}
		}
		if !ok {
			return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "degraded", "checks": checks})
		}
		return c.JSON(fiber.Map{"status": "ok", "checks": checks})
	}
}
