package handlers

import (
	"encoding/base64"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// oauthError writes an RFC 6749 §5.2 error body.
func oauthError(c *fiber.Ctx, status int, code, description string) error {
	return c.Status(status).JSON(fiber.Map{"error": code, "error_description": description})
}

// token is POST /oauth/token: it authenticates the client, then hands the grant to models.
func (h *Handler) token(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("Pragma", "no-cache")
	if c.Context().QueryArgs().Has("client_secret") {
		return oauthError(c, fiber.StatusBadRequest, "invalid_request", "Never send client_secret in the URL: use HTTP Basic or the form body.")
	}
	clientID, secret, basic, err := clientCredentials(c)
	if err != nil {
		return oauthError(c, fiber.StatusBadRequest, "invalid_request", err.Error())
	}
	app, err := models.AuthenticateClient(h.DB, clientID, secret)
	if errors.Is(err, models.ErrUnauthenticated) {
		return h.refuseClient(c, clientID, basic)
	}
	if err != nil {
		return err
	}
	var resp models.TokenResponse
	switch bodyValue(c, "grant_type") {
	case "authorization_code":
		resp, err = models.ExchangeCode(h.DB, app, bodyValue(c, "code"), bodyValue(c, "redirect_uri"), bodyValue(c, "code_verifier"))
	case "refresh_token":
		var scope []string
		if raw := bodyValue(c, "scope"); raw != "" {
			scope = strings.Fields(raw)
		}
		resp, err = models.RefreshTokens(h.DB, app, bodyValue(c, "refresh_token"), scope)
	case "":
		return oauthError(c, fiber.StatusBadRequest, "invalid_request", "grant_type is required.")
	default:
		return oauthError(c, fiber.StatusBadRequest, "unsupported_grant_type", "Use grant_type=authorization_code or refresh_token.")
	}
	var oe *models.OAuthError
	if errors.As(err, &oe) {
		return oauthError(c, oe.Status, oe.Code, oe.Description)
	}
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"access_token": resp.AccessToken, "token_type": "Bearer", "expires_in": resp.ExpiresIn,
		"refresh_token": resp.RefreshToken, "expires_at": time.Now().UTC().Add(time.Duration(resp.ExpiresIn) * time.Second).Format(time.RFC3339)})
}

// refuseClient answers a failed client authentication: 401 invalid_client, or 429 once the client_id
// has had too many failures this minute. Only failures are limited, so the real app, whose secret
// works, is never locked out by someone guessing with its public client_id.
func (h *Handler) refuseClient(c *fiber.Ctx, clientID string, basic bool) error {
	wait, err := h.countClientFailure(clientID)
	if err != nil {
		return err
	}
	if wait > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(wait))
		return oauthError(c, fiber.StatusTooManyRequests, "slow_down", "Too many failed authentications for this client; wait a minute.")
	}
	if basic {
		c.Set(fiber.HeaderWWWAuthenticate, `Basic realm="keyfob", charset="UTF-8"`)
	}
	return oauthError(c, fiber.StatusUnauthorized, "invalid_client", "Client authentication failed: check the client_id and client_secret.")
}

// countClientFailure counts a failed client authentication, wherever the client authenticated (/oauth/token,
// the compatibility API), against one budget per client_id; past it, it returns the seconds to wait.
func (h *Handler) countClientFailure(clientID string) (wait int, err error) {
	exists, err := models.ClientExists(h.DB, clientID)
	if err != nil || !exists {
		// Unreadable is not unknown: a database failure is an error (503), never invalid_client. An
		// unregistered client has nothing to protect, and no counter row to grow the table with.
		return 0, err
	}
	key := "token-client:" + clientID
	failures, err := models.CountAttempt(h.DB, key, clientFailureWindow)
	if err != nil || failures < maxClientFailures {
		return 0, err
	}
	wait, err = models.AttemptsExceeded(h.DB, key, maxClientFailures, clientFailureWindow)
	return max(wait, 1), err
}

// clientCredentials reads HTTP Basic (RFC 6749 §2.3.1: form-encoded id and secret) or the form
// fields; sending the secret both ways is refused.
func clientCredentials(c *fiber.Ctx) (id, secret string, basic bool, err error) {
	auth := c.Get(fiber.HeaderAuthorization)
	if len(auth) > 6 && strings.EqualFold(auth[:6], "basic ") {
		raw, decodeErr := base64.StdEncoding.DecodeString(strings.TrimSpace(auth[6:]))
		user, pass, ok := strings.Cut(string(raw), ":")
		if decodeErr != nil || !ok {
			return "", "", true, errors.New("The Basic Authorization header is malformed.")
		}
		if bodyValue(c, "client_secret") != "" {
			return "", "", true, errors.New("Send the client secret once: either HTTP Basic or the form body.")
		}
		id, _ = url.QueryUnescape(user)
		secret, _ = url.QueryUnescape(pass)
		return id, secret, true, nil
	}
	return bodyValue(c, "client_id"), bodyValue(c, "client_secret"), false, nil
}

// Failed client authentications allowed per client_id and minute before /token answers 429.
const (
	maxClientFailures   = 50
	clientFailureWindow = time.Minute
)
