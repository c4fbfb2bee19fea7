package handlers

import (
	"cmp"
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/csrf"
	"github.com/gofiber/fiber/v2/utils"
	"github.com/jackc/pgx/v5/pgconn"

	"keyfob/models"
)

// apiError is the management API's error body: {"error": {"code", "message", "field"}}.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// classify maps an error to a status code and the apiError a person may see. 5xx details stay in the log.
func classify(err error) (int, apiError) {
	var (
		validation *models.ValidationError
		conflict   *models.ConflictError
		limited    *models.RateLimitedError
		busy       *models.BusyError
		tooLarge   *models.TooLargeError
		badType    *models.UnsupportedTypeError
		fe         *fiber.Error
		badText    *models.TextError
	)
	switch {
	case errors.As(err, &badText):
		return fiber.StatusBadRequest, apiError{"invalid_text", badText.Message(), badText.Field}
	case errors.As(err, &tooLarge):
		return fiber.StatusRequestEntityTooLarge, apiError{"too_large", tooLarge.Message, ""}
	case errors.As(err, &badType):
		return fiber.StatusUnsupportedMediaType, apiError{"unsupported_type", badType.Message, ""}
	case errors.As(err, &validation):
		return fiber.StatusUnprocessableEntity, apiError{validation.Code, validation.Message, validation.Field}
	case errors.As(err, &conflict):
		return fiber.StatusConflict, apiError{conflict.Code, conflict.Message, conflict.Field}
	case errors.As(err, &limited):
		return fiber.StatusTooManyRequests, apiError{cmp.Or(limited.Code, "too_many_attempts"), limited.Error(), ""}
	case errors.As(err, &busy):
		return fiber.StatusServiceUnavailable, apiError{"busy", busy.Message, ""}
	case errors.Is(err, models.ErrNotFound), errors.Is(err, fiber.ErrNotFound):
		return fiber.StatusNotFound, apiError{"not_found", "Not found.", ""}
	case errors.Is(err, models.ErrForbidden):
		return fiber.StatusForbidden, apiError{"forbidden", "Your role in this organisation does not allow this.", ""}
	case errors.Is(err, models.ErrBadCredentials):
		return fiber.StatusUnauthorized, apiError{"invalid_credentials", err.Error(), ""}
	case errors.Is(err, models.ErrUnauthenticated):
		return fiber.StatusUnauthorized, apiError{"unauthenticated", "Sign in first: send Authorization: Bearer <token>.", ""}
	case errors.Is(err, csrf.ErrTokenNotFound), errors.Is(err, csrf.ErrTokenInvalid),
		errors.Is(err, csrf.ErrNoReferer), errors.Is(err, csrf.ErrBadReferer), errors.Is(err, errCrossSite):
		return fiber.StatusForbidden, apiError{"csrf", "This form expired or came from another site. Reload the page and try again.", ""}
	case errors.As(err, &fe):
		if fe.Code == fiber.StatusRequestEntityTooLarge {
			return fe.Code, apiError{"too_large", "The upload is larger than 1 MB. Logos can be at most 1 MB: export a smaller PNG or JPG (512×512 pixels is plenty).", ""}
		}
		if fe.Code >= 500 {
			return fe.Code, apiError{"server_error", "Something went wrong on our side.", ""}
		}
		return fe.Code, apiError{strings.ReplaceAll(strings.ToLower(fiberStatusText(fe.Code)), " ", "_"), fe.Message, ""}
	case textRefusedByDatabase(err):
		// A backstop: the boundary (text_guard.go) should have refused this text already.
		return fiber.StatusBadRequest, apiError{"invalid_text", "The request holds text that is not valid UTF-8 or contains a NUL character. Send text as UTF-8 without NUL characters.", ""}
	case models.DatabaseUnavailable(err):
		return fiber.StatusServiceUnavailable, apiError{"unavailable", "Keyfob cannot reach its database right now. Nothing was changed; try again in a moment.", ""}
	default:
		return fiber.StatusInternalServerError, apiError{"server_error", "Something went wrong on our side. It has been logged.", ""}
	}
}

// textRefusedByDatabase recognises PostgreSQL refusing a text value: a NUL or a byte sequence that is
// not UTF-8 (SQLSTATE 22021 character_not_in_repertoire, 22P05 untranslatable_character).
func textRefusedByDatabase(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "22021" || pgErr.Code == "22P05")
}

func fiberStatusText(code int) string {
	if t := utils.StatusMessage(code); t != "" {
		return t
	}
	return "error"
}

// handleError is the one place where errors become responses: JSON under /api, an HTML page elsewhere.
func (h *Handler) handleError(c *fiber.Ctx, err error) error {
	status, body := classify(err)
	var vf *vehicleFailure
	if errors.As(err, &vf) {
		status = vf.status
	}
	if status >= 500 && vf == nil {
		h.Log.Error("request failed", "method", c.Method(), "path", c.Path(), "request_id", requestID(c), "err", err)
	}
	var limited *models.RateLimitedError
	if errors.As(err, &limited) {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(limited.RetryAfter))
	}
	var busy *models.BusyError
	if errors.As(err, &busy) {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(busy.RetryAfter))
	}
	if status == fiber.StatusServiceUnavailable && c.GetRespHeader(fiber.HeaderRetryAfter) == "" {
		c.Set(fiber.HeaderRetryAfter, retryAfterUnavailable)
	}
	if strings.HasPrefix(c.Path(), "/v2.0") {
		return writeVehicleError(c, err, status, body.Message)
	}
	// A chunked upload over the body limit is reset while it is read, losing its path: only API
	// clients send chunked bodies (browsers send a length), so answer those in JSON.
	lostUpload := status == fiber.StatusRequestEntityTooLarge && c.Path() == "/"
	if strings.HasPrefix(c.Path(), "/oauth/token") {
		code := "server_error"
		if status == fiber.StatusServiceUnavailable {
			code = "temporarily_unavailable"
		} else if status < 500 {
			code = "invalid_request" // RFC 6749 §5.2: a malformed request
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Status(status).JSON(fiber.Map{"error": code, "error_description": body.Message})
	}
	if isAPI(c) || lostUpload {
		return c.Status(status).JSON(fiber.Map{"error": body})
	}
	if status == fiber.StatusUnauthorized && c.Method() == fiber.MethodGet {
		return c.Redirect(signInURL(c), fiber.StatusSeeOther)
	}
	if status >= 500 && isConnect(c) {
		// A car owner mid-flow gets Connect's own page (no console chrome, no referrer), not the console's.
		return h.connectErrorPage(c, status, "Connect cannot continue right now", body.Message)
	}
	c.Status(status)
	return h.renderPage(c, "console/error", fiber.Map{"Title": fiberStatusText(status), "Status": status, "Message": body.Message}, true)
}

// retryAfterUnavailable is the Retry-After of a 503, in seconds: a restarting database is usually back
// within a few seconds, and the pool reconnects on the next request.
const retryAfterUnavailable = "5"

// isConnect reports whether the request is a car owner's: the authorize link, Connect's steps, the Link widget.
func isConnect(c *fiber.Ctx) bool {
	p := c.Path()
	return p == "/oauth/authorize" || strings.HasPrefix(p, "/connect/") || strings.HasPrefix(p, "/link/")
}

func isAPI(c *fiber.Ctx) bool {
	p := c.Path()
	return strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/sandbox/") || p == "/user" || p == "/link/token"
}

// smartcarType names a status in Smartcar's v2 error vocabulary.
func smartcarType(status int) string {
	switch status {
	case fiber.StatusBadRequest, fiber.StatusUnprocessableEntity:
		return "VALIDATION"
	case fiber.StatusUnauthorized:
		return "AUTHENTICATION"
	case fiber.StatusForbidden:
		return "PERMISSION"
	case fiber.StatusNotFound:
		return "RESOURCE_NOT_FOUND"
	case fiber.StatusTooManyRequests:
		return "RATE_LIMIT"
	}
	return "SERVER"
}
