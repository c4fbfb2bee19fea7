// Package handlers turns HTTP requests into calls to models and renders the answers: HTML for the
// console, JSON for the management API. Handlers parse, call models, and respond; rules live in models.
package handlers

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/template/html/v2"
	"github.com/realclientip/realclientip-go"
	"gorm.io/gorm"

	"keyfob/models"
	"keyfob/views"
)

// Config is what handlers need from the environment.
type Config struct {
	BaseURL        string // public origin, e.g. https://keyfob.example.com
	SignupOpen     bool
	UploadsDir     string
	Limits         Limits      // zero fields take DefaultLimits
	TrustedProxies []net.IPNet // peers whose X-Forwarded-For names the client
}

// SecureCookies is true when the public origin is https: cookies then get Secure and the __Host- prefix.
func (c Config) SecureCookies() bool { return strings.HasPrefix(c.BaseURL, "https://") }

// Handler carries the dependencies every handler uses. There are no package globals, so each test
// builds its own Handler on its own database.
type Handler struct {
	DB        *gorm.DB
	Cfg       Config
	Log       *slog.Logger
	kv        models.KVStore
	logos     models.LogoCache
	limits    Limits
	forwarded realclientip.Strategy // nil without trusted proxies
	draining  atomic.Bool
}

// New builds a Handler.
func New(db *gorm.DB, cfg Config, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	return &Handler{DB: db, Cfg: cfg, Log: log, kv: models.KVStore{DB: db}, logos: models.LogoCache{Dir: cfg.UploadsDir, DB: db},
		limits: cfg.Limits.orDefaults(), forwarded: forwardedStrategy(cfg.TrustedProxies)}
}

// Drain marks the server as shutting down: readiness fails so load balancers stop sending traffic.
func (h *Handler) Drain() { h.draining.Store(true) }

// App builds the Fiber application with templates, middleware and every route. extra mounts more
// routes before the final 404 (tests use it to exercise the error paths).
func (h *Handler) App(extra ...func(fiber.Router)) *fiber.App {
	engine := html.NewFileSystem(http.FS(views.FS), ".html")
	engine.AddFuncMap(templateFuncs)
	app := fiber.New(fiber.Config{
		Views:                 engine,
		ViewsLayout:           "layouts/main",
		ErrorHandler:          h.handleError,
		DisableStartupMessage: true,
		// The largest body is a 1 MiB logo plus its multipart envelope; fasthttp stops reading past this.
		BodyLimit:    models.MaxLogoBytes + 64*1024,
		ReadTimeout:  30 * time.Second,
		WriteTimeout: 30 * time.Second,
		IdleTimeout:  60 * time.Second,
		AppName:      "keyfob",
	})
	h.logRefusedBeforeRouting(app)
	h.routes(app)
	for _, mount := range extra {
		mount(app)
	}
	app.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })
	return app
}

// PurgeExpiredState deletes expired CSRF and limiter entries and compacts finished days of the analytics
// rollups every few minutes until ctx ends.
func (h *Handler) PurgeExpiredState(ctx context.Context) {
	ticker := time.NewTicker(5 * time.Minute)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			if err := h.kv.PurgeExpired(); err != nil {
				h.Log.Warn("purge expired state", "err", err)
			}
			if err := models.PurgeRateCounters(h.DB, time.Now().Add(-time.Hour)); err != nil {
				h.Log.Warn("purge rate counters", "err", err)
			}
			if err := models.PurgeIdempotencyKeys(h.DB, time.Now().Add(-models.IdempotencyWindow)); err != nil {
				h.Log.Warn("purge idempotency keys", "err", err)
			}
			// Days before yesterday are over: their rollup shards fold into one row per cell.
			if _, err := models.CompactRollups(h.DB, time.Now().UTC().AddDate(0, 0, -1)); err != nil {
				h.Log.Warn("compact analytics rollups", "err", err)
			}
		}
	}
}
