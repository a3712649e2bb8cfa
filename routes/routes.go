// Package routes builds Parley's Fiber application: the middleware order and
// the URL table. It holds no logic of its own.
package routes

import (
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/etag"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/template/html/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/parley-chat/parley/handlers"
	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/middleware"
)

// Deps is everything the routes need, built by main (or a test).
type Deps struct {
	Log      *slog.Logger
	Views    fs.FS // holds layouts/main.html and index.html
	Public   fs.FS // served under /static
	Accounts *auth.Accounts
	Tickets  *auth.Tickets
	Hub      *chat.Hub
	// Registry serves /metrics and receives the HTTP metrics.
	Registry *prometheus.Registry
	// AllowedOrigins in middleware.NormalizeOrigin form; empty: same origin.
	AllowedOrigins []string
	ReadLimit      int64
	PongWait       time.Duration
	WriteWait      time.Duration // bounds each socket write; 0: the handler's default
	// Health: Shutting turns /healthz to 503; Checks are pinged by it.
	Shutting *atomic.Bool
	Checks   map[string]handlers.Pinger
}

// BodyLimit caps request bodies; JSON credentials are far smaller.
const BodyLimit = 16 << 10

// New builds the application.
func New(d Deps) *fiber.App {
	app := fiber.New(fiber.Config{
		AppName:               "parley",
		Views:                 html.NewFileSystem(http.FS(d.Views), ".html"),
		ErrorHandler:          middleware.ErrorHandler(d.Log),
		BodyLimit:             BodyLimit,
		ReadBufferSize:        4 << 10, // also the longest request head; held by every WebSocket
		DisableStartupMessage: true,
		ReadTimeout:           30 * time.Second,
		IdleTimeout:           2 * time.Minute,
	})
	// The socket handler hands each upgraded connection over to a goroutine
	// of its own and returns (see handlers.Socket): fasthttp must leave the
	// connection open, and it then frees the request's context and buffers.
	app.Server().KeepHijackedConns = true
	app.Use(recover.New())
	app.Use(middleware.AccessLog(d.Log, middleware.NewHTTPMetrics(d.Registry)))
	app.Use(middleware.SecurityHeaders())

	acct := handlers.Accounts{Accounts: d.Accounts, Tickets: d.Tickets, Hub: d.Hub}
	app.Get("/", handlers.Index())
	// Static files revalidate on every use (ETag), so a deploy never mixes
	// old and new modules.
	app.Use("/static", etag.New(), func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderCacheControl, "no-cache")
		return c.Next()
	}, filesystem.New(filesystem.Config{Root: http.FS(d.Public)}))
	app.Post("/register", handlers.Register(acct))
	app.Post("/login", handlers.Login(acct))
	app.Post("/ticket", handlers.Ticket(acct))
	app.Post("/logout", handlers.Logout(acct))
	app.Get("/rooms", handlers.Rooms(acct))
	app.Get("/healthz", handlers.Health(d.Shutting, d.Checks))
	app.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{})))
	app.Get("/ws",
		middleware.Upgrade(),
		middleware.Origin(d.AllowedOrigins),
		middleware.Ticket(d.Tickets),
		middleware.Trim(),
		websocket.New(handlers.Socket(handlers.SocketConfig{
			Hub: d.Hub, Log: d.Log, ReadLimit: d.ReadLimit, PongWait: d.PongWait, WriteWait: d.WriteWait,
		}), websocket.Config{
			// Frames are read through fasthttp's buffer already, and written
			// by handlers.writeFrames: no write buffer is held per connection.
			ReadBufferSize:  256,
			WriteBufferSize: 256,
			WriteBufferPool: new(sync.Pool),
			RecoverHandler:  handlers.RecoverSocket(d.Log),
		}),
	)
	return app
}
