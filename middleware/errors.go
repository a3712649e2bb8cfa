package middleware

import (
	"errors"
	"log/slog"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/parley-chat/parley/internal/auth"
)

// StatusOf maps an auth error code to its HTTP status: the one place this
// mapping is made.
func StatusOf(code auth.Code) int {
	switch code {
	case auth.CodeInvalid:
		return fiber.StatusBadRequest
	case auth.CodeConflict:
		return fiber.StatusConflict
	case auth.CodeUnauthorized:
		return fiber.StatusUnauthorized
	case auth.CodeRateLimited:
		return fiber.StatusTooManyRequests
	case auth.CodeUnavailable:
		return fiber.StatusServiceUnavailable
	}
	return fiber.StatusInternalServerError
}

// plainStatus replaces Fiber's terse default texts with sentences.
var plainStatus = map[int]string{
	fiber.StatusNotFound:                    "There is nothing at this address.",
	fiber.StatusMethodNotAllowed:            "This address does not accept that method.",
	fiber.StatusRequestEntityTooLarge:       "The request body is too large.",
	fiber.StatusRequestURITooLong:           "The request address is too long.",
	fiber.StatusRequestHeaderFieldsTooLarge: "The request headers are too large.",
}

// ErrorHandler renders every error as {"error": "<a sentence>"} with the
// right status. Internal errors are logged and shown only as a generic
// sentence.
func ErrorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		status, msg := fiber.StatusInternalServerError, "Something went wrong on our side."
		var fe *fiber.Error
		var ae *auth.Error
		switch {
		case errors.As(err, &ae):
			status, msg = StatusOf(ae.Code), ae.Message
			if ae.Err != nil {
				log.Error("request failed", "path", c.Path(), "code", string(ae.Code), "err", ae.Err)
			}
		case errors.As(err, &fe):
			status, msg = fe.Code, fe.Message
			if friendly, ok := plainStatus[fe.Code]; ok && (fe.Message == utils.StatusMessage(fe.Code) || strings.HasPrefix(fe.Message, "Cannot ")) {
				msg = friendly
			}
		default:
			log.Error("request failed", "path", c.Path(), "err", err)
		}
		if status == fiber.StatusTooManyRequests {
			c.Set(fiber.HeaderRetryAfter, "60")
		}
		return c.Status(status).JSON(fiber.Map{"error": msg})
	}
}
