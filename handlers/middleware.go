package handlers

import (
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/csrf"
	"github.com/valyala/fasthttp"

	"keyfob/models"
)

var errCrossSite = errors.New("cross-site request")

// Locals keys.
const (
	localUser    = "user"
	localSession = "session"
	localToken   = "session_token"
	localCSRF    = "csrf"
)

// logRequests writes one structured line per request with the status actually sent. An error from
// the chain (a recovered panic included) is answered here, as Fiber would after every middleware
// returned, because only the error handler knows the status: a /v2.0 refusal sets its own.
func (h *Handler) logRequests(c *fiber.Ctx) error {
	start := time.Now()
	if err := c.Next(); err != nil {
		if failed := c.App().ErrorHandler(c, err); failed != nil {
			h.Log.Error("error handler failed", "path", c.Path(), "request_id", requestID(c), "err", failed, "answering", err)
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	h.logRequest(c.Method(), c.Path(), c.Response().StatusCode(), start, h.clientIP(c), requestID(c))
	return nil
}

// logRequest is the access-log line. The query string is left out: it may carry credentials a client
// should not have put there.
func (h *Handler) logRequest(method, path string, status int, start time.Time, ip, id string) {
	h.Log.Info("request", "method", method, "path", path, "status", status,
		"duration_ms", float64(time.Since(start).Microseconds())/1000, "ip", ip, "request_id", id)
}

// logRefusedBeforeRouting gives requests that fasthttp refuses before any middleware runs (a body
// over the limit, a malformed request) their access-log line too, after the app's error handler
// has answered them.
func (h *Handler) logRefusedBeforeRouting(app *fiber.App) {
	srv := app.Server()
	refuse := srv.ErrorHandler
	srv.ErrorHandler = func(fctx *fasthttp.RequestCtx, err error) {
		start := time.Now()
		refuse(fctx, err)
		h.logRequest(string(fctx.Method()), string(fctx.Path()), fctx.Response.StatusCode(), start, fctx.RemoteIP().String(), "")
	}
}

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals("requestid").(string)
	return id
}

// sessionCookieName gets the __Host- prefix on https, which pins the cookie to our origin.
func (h *Handler) sessionCookieName() string {
	if h.Cfg.SecureCookies() {
		return "__Host-keyfob_session"
	}
	return "keyfob_session"
}

func (h *Handler) setSessionCookie(c *fiber.Ctx, value string, expires time.Time) {
	c.Cookie(&fiber.Cookie{Name: h.sessionCookieName(), Value: value, Path: "/", Expires: expires,
		HTTPOnly: true, Secure: h.Cfg.SecureCookies(), SameSite: fiber.CookieSameSiteLaxMode})
}

// loadConsoleSession puts the signed-in user (if any) into Locals; it never rejects.
func (h *Handler) loadConsoleSession(c *fiber.Ctx) error {
	token := c.Cookies(h.sessionCookieName())
	if token == "" {
		return c.Next()
	}
	s, user, err := models.ResumeSession(h.DB, token, models.SessionKindConsole)
	if errors.Is(err, models.ErrUnauthenticated) {
		h.setSessionCookie(c, "", time.Unix(0, 0))
		return c.Next()
	}
	if err != nil {
		return err
	}
	c.Locals(localUser, user)
	c.Locals(localSession, s)
	c.Locals(localToken, token)
	return c.Next()
}

// requireConsoleUser sends visitors who are not signed in to the sign-in page.
func (h *Handler) requireConsoleUser(c *fiber.Ctx) error {
	if _, ok := c.Locals(localUser).(models.User); !ok {
		if c.Method() == fiber.MethodGet {
			return c.Redirect(signInURL(c), fiber.StatusSeeOther)
		}
		return models.ErrUnauthenticated
	}
	return c.Next()
}

// requireAPIUser authenticates a management-API bearer token.
func (h *Handler) requireAPIUser(c *fiber.Ctx) error {
	token, ok := bearerToken(c)
	if !ok {
		return models.ErrUnauthenticated
	}
	s, user, err := models.ResumeSession(h.DB, token, models.SessionKindAPI)
	if err != nil {
		return err
	}
	c.Locals(localUser, user)
	c.Locals(localSession, s)
	c.Locals(localToken, token)
	return c.Next()
}

func bearerToken(c *fiber.Ctx) (string, bool) {
	auth := c.Get(fiber.HeaderAuthorization)
	if len(auth) < 8 || !strings.EqualFold(auth[:7], "bearer ") {
		return "", false
	}
	return strings.TrimSpace(auth[7:]), true
}

// refuseCrossSite rejects state-changing requests that the browser says came from another site,
// before the CSRF token is even looked at.
func refuseCrossSite(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	if c.Get("Sec-Fetch-Site") == "cross-site" {
		return errCrossSite
	}
	return c.Next()
}

// csrfProtection is Fiber's CSRF middleware with its tokens in the shared database, read from the
// form field _csrf (or the X-CSRF-Token header for scripts), followed by the check that the token it
// hands out was stored (see csrfStore).
func (h *Handler) csrfProtection() []fiber.Handler {
	name := "keyfob_csrf"
	if h.Cfg.SecureCookies() {
		name = "__Host-keyfob_csrf"
	}
	store := newCSRFStore(h.kv)
	extract := func(c *fiber.Ctx) (string, error) {
		if token := bodyValue(c, "_csrf"); token != "" {
			return token, nil
		}
		if token := c.Get("X-CSRF-Token"); token != "" {
			return token, nil
		}
		return "", csrf.ErrTokenNotFound
	}
	return []fiber.Handler{csrf.New(csrf.Config{
		CookieName:     name,
		CookieSecure:   h.Cfg.SecureCookies(),
		CookieHTTPOnly: true,
		CookieSameSite: "Lax",
		Expiration:     12 * time.Hour,
		Storage:        store,
		ContextKey:     localCSRF,
		KeyGenerator:   func() string { return models.NewToken("") },
		Extractor:      extract,
		ErrorHandler:   func(c *fiber.Ctx, err error) error { return store.explain(c, err, extract) },
	}), store.stored}
}

// safeNext keeps a post-sign-in redirect on our own origin: a path with a single leading slash, no
// scheme or host, and no control characters (browsers drop tabs and newlines, so "/\t/evil.com"
// would become "//evil.com").
func safeNext(next string) string {
	for _, r := range next {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return "/apps"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(next, "/") ||
		strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/signin") {
		return "/apps"
	}
	return next
}

func signInURL(c *fiber.Ctx) string {
	return "/signin?next=" + url.QueryEscape(safeNext(c.OriginalURL()))
}
