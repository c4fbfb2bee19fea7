package handlers

import (
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/realclientip/realclientip-go"

	"keyfob/models"
)

// Limits are the request budgets that guard security. Every one is counted in the database, so N
// replicas enforce the number once, not N times.
type Limits struct {
	LoginFailuresPerIP int // failed sign-ins per client IP and LoginWindow
	SignupsPerIP       int // sign-up attempts (taken, refused or new) per client IP and SignupWindow
	APIKeyCalls        int // Link and sandbox calls per API key and minute
	EventBatches       int // POST /api/v1/events calls per API key and minute
}

// Windows of the limits above.
const (
	loginWindow  = 15 * time.Minute
	signupWindow = time.Hour
	apiKeyWindow = time.Minute
)

// DefaultLimits are the production budgets.
var DefaultLimits = Limits{LoginFailuresPerIP: 30, SignupsPerIP: 20, APIKeyCalls: 600, EventBatches: 6000}

func (l Limits) orDefaults() Limits {
	d := DefaultLimits
	if l.LoginFailuresPerIP > 0 {
		d.LoginFailuresPerIP = l.LoginFailuresPerIP
	}
	if l.SignupsPerIP > 0 {
		d.SignupsPerIP = l.SignupsPerIP
	}
	if l.APIKeyCalls > 0 {
		d.APIKeyCalls = l.APIKeyCalls
	}
	if l.EventBatches > 0 {
		d.EventBatches = l.EventBatches
	}
	return d
}

// attemptLimit refuses a request with 429 once more than max requests with the same key arrived in
// the window. The request is counted before it runs (one atomic statement that returns the total),
// so parallel requests on any replica cannot all slip under the limit; refund decides, from the
// status sent, which requests are taken back afterwards (successful sign-ins do not count as failures).
type attemptLimit struct {
	name    string
	max     int
	window  time.Duration
	key     func(c *fiber.Ctx) string
	refund  func(status int) bool
	refusal models.RateLimitedError // Code and Message of the 429, when not the generic ones
}

func (h *Handler) limit(l attemptLimit) fiber.Handler {
	return func(c *fiber.Ctx) error {
		key := l.name + ":" + l.key(c)
		count, err := models.CountAttempt(h.DB, key, l.window)
		if err != nil {
			return err
		}
		if count > l.max {
			wait, err := models.AttemptsExceeded(h.DB, key, l.max, l.window)
			if err != nil {
				return err
			}
			refusal := l.refusal
			refusal.RetryAfter = max(wait, 1)
			return &refusal
		}
		err = c.Next()
		if err != nil {
			err = c.App().ErrorHandler(c, err) // the response, and so its status, is final from here
		}
		if l.refund != nil && l.refund(c.Response().StatusCode()) {
			if refundErr := models.RefundAttempt(h.DB, key); refundErr != nil {
				h.Log.Warn("refund rate-limit attempt", "limit", l.name, "err", refundErr)
			}
		}
		return err
	}
}

// countsAsFailure is the refund rule of failure limits: only a refusal of the caller's credentials
// or request (4xx) counts; successes and our own 5xx are taken back.
func countsAsFailure(status int) bool { return status < 400 || status >= 500 }

// loginLimiter counts failed sign-ins per client IP (the per-email lockout lives in models.Authenticate).
func (h *Handler) loginLimiter() fiber.Handler {
	return h.limit(attemptLimit{name: "login-ip", max: h.limits.LoginFailuresPerIP, window: loginWindow,
		key: h.clientIP, refund: countsAsFailure})
}

// signupLimiter counts every sign-up attempt per client IP: each one costs an argon2id run.
func (h *Handler) signupLimiter() fiber.Handler {
	return h.limit(attemptLimit{name: "signup-ip", max: h.limits.SignupsPerIP, window: signupWindow, key: h.clientIP})
}

// apiKeyLimiter bounds each API key to perMinute calls of one kind a minute, across replicas. It runs
// after apiKeyAuth.
func (h *Handler) apiKeyLimiter(kind string, perMinute int) fiber.Handler {
	return h.limit(attemptLimit{name: "api-key-" + kind, max: perMinute, window: apiKeyWindow, key: func(c *fiber.Ctx) string {
		key, _ := c.Locals("api_key").(models.APIKey)
		return key.ID
	}, refusal: models.RateLimitedError{Code: "rate_limited",
		Message: "Too many calls with this API key; wait until the minute is over (see Retry-After)."}})
}

// clientIP is the address limits and logs attribute a request to: the peer, or, when the peer is one
// of the configured trusted proxies, the rightmost X-Forwarded-For address that is not a trusted
// proxy (the leftmost ones are whatever the client chose to send).
func (h *Handler) clientIP(c *fiber.Ctx) string {
	peer := c.Context().RemoteIP()
	if h.forwarded == nil || !inRanges(peer, h.Cfg.TrustedProxies) {
		return peer.String()
	}
	header := http.Header{}
	for _, v := range c.Request().Header.PeekAll(fiber.HeaderXForwardedFor) {
		header.Add(fiber.HeaderXForwardedFor, string(v))
	}
	if ip := h.forwarded.ClientIP(header, net.JoinHostPort(peer.String(), strconv.Itoa(0))); ip != "" {
		return ip
	}
	return peer.String()
}

func inRanges(ip net.IP, ranges []net.IPNet) bool {
	for _, r := range ranges {
		if r.Contains(ip) {
			return true
		}
	}
	return false
}

// forwardedStrategy reads X-Forwarded-For from the right, skipping the trusted proxies.
func forwardedStrategy(trusted []net.IPNet) realclientip.Strategy {
	if len(trusted) == 0 {
		return nil
	}
	return realclientip.Must(realclientip.NewRightmostTrustedRangeStrategy(fiber.HeaderXForwardedFor, trusted))
}
