package middleware

import (
	"log/slog"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// HTTPMetrics counts requests by route pattern and status.
type HTTPMetrics struct {
	requests *prometheus.CounterVec
}

// NewHTTPMetrics registers parley_http_requests_total with reg.
func NewHTTPMetrics(reg prometheus.Registerer) *HTTPMetrics {
	m := &HTTPMetrics{requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_http_requests_total",
		Help: "HTTP requests by route and status.",
	}, []string{"route", "status"})}
	if reg != nil {
		reg.MustRegister(m.requests)
	}
	return m
}

// AccessLog logs one line per request and counts it. It logs the path only,
// never the query string, so that tickets never reach a log; the route label
// is the matched pattern, so that metrics stay bounded.
func AccessLog(log *slog.Logger, m *HTTPMetrics) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		if err != nil {
			// Render the error now so the status we log is the one sent.
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				_ = c.SendStatus(fiber.StatusInternalServerError)
			}
			err = nil
		}
		status := c.Response().StatusCode()
		route := "unmatched"
		if r := c.Route(); r != nil && status != fiber.StatusNotFound {
			route = r.Path
		}
		m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
		// LogAttrs with typed attributes: no boxing per request.
		log.LogAttrs(c.Context(), slog.LevelInfo, "http",
			slog.String("method", c.Method()),
			slog.String("path", c.Path()),
			slog.Int("status", status),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			slog.String("ip", c.IP()),
		)
		return err
	}
}
