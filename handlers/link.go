package handlers

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// linkUser is POST /user: register an app's end user (idempotent per client_user_id).
func (h *Handler) linkUser(c *fiber.Ctx) error {
	var in struct {
		ClientUserID string `json:"client_user_id"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	app, _ := c.Locals("api_app").(models.App)
	user, created, err := models.CreateLinkUser(h.DB, app, in.ClientUserID)
	if err != nil {
		return err
	}
	status := fiber.StatusOK
	if created {
		status = fiber.StatusCreated
	}
	return c.Status(status).JSON(fiber.Map{"user_id": user.ID, "client_user_id": user.ClientUserID})
}

// linkToken is POST /link/token: a 10-minute, single-use token that opens the hosted widget.
func (h *Handler) linkToken(c *fiber.Ctx) error {
	var in struct {
		UserID      string   `json:"user_id"`
		RedirectURL string   `json:"redirect_url"`
		Make        string   `json:"make"`
		Scope       []string `json:"scope"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	app, _ := c.Locals("api_app").(models.App)
	token, expires, err := models.CreateLinkToken(h.DB, app, models.LinkTokenRequest{UserID: in.UserID, RedirectURL: in.RedirectURL, Make: in.Make, Scope: in.Scope})
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"link_token": token, "link_web_url": h.Cfg.BaseURL + "/link/" + token, "expires_at": rfc3339(expires)})
}

// linkOpen is the widget's entry (link_web_url): it spends the token and starts a Connect session
// whose flow ends on the Link result page.
func (h *Handler) linkOpen(c *fiber.Ctx) error {
	linkHeaders(c)
	req, _, err := models.OpenLinkToken(h.DB, c.Params("token"))
	var linkErr *models.LinkError
	if errors.As(err, &linkErr) {
		c.Status(linkRefusalStatus(linkErr))
		return h.renderLinkResult(c, linkResult{LinkOutcome: models.LinkOutcome{Event: "error", ErrorType: linkErr.Type, ErrorMessage: linkErr.Message},
			Origins: []string{"*"}, Message: linkMessages["error"]})
	}
	if err != nil {
		return err
	}
	return h.launchConnect(c, req)
}

// linkRefusalStatus says why a link token cannot open the widget: a token that worked once (used, or
// past its 10 minutes) is gone for good, 410; one never issued is unknown, 404. The page is the same.
func linkRefusalStatus(e *models.LinkError) int {
	if e.Type == "token_invalid" {
		return fiber.StatusNotFound
	}
	return fiber.StatusGone
}

// linkResult is what the result page reports to the app's page and where it sends the browser.
type linkResult struct {
	models.LinkOutcome
	Origins []string
	Message string
}

var linkMessages = map[string]string{"success": "Your vehicle is connected.", "exit": "You left without connecting a vehicle.",
	"error": "Your vehicle could not be connected."}

// linkResultPage is where every Link session's flow ends (the Connect "redirect URI" of Link).
func (h *Handler) linkResultPage(c *fiber.Ctx) error {
	linkHeaders(c)
	row, err := models.FindLinkTokenByHash(h.DB, c.Query("state"))
	if err != nil {
		return err
	}
	origins, err := models.LinkOrigins(h.DB, row.AppID)
	if err != nil {
		return err
	}
	outcome := models.LinkOutcomeOf(row, c.Query("code"), c.Query("error"), c.Query("error_description"))
	r := linkResult{LinkOutcome: outcome, Origins: origins, Message: linkMessages[outcome.Event]}
	return h.renderLinkResult(c, r)
}

func (h *Handler) renderLinkResult(c *fiber.Ctx, r linkResult) error {
	message := map[string]any{"source": "keyfob-link", "event": r.Event, "metadata": map[string]any{}}
	switch r.Event {
	case "success":
		message["public_token"] = r.PublicToken
	case "error":
		message["error"] = map[string]string{"type": r.ErrorType, "message": r.ErrorMessage}
	}
	raw, _ := json.Marshal(message)
	origins, _ := json.Marshal(r.Origins)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Render("connect/link_result", fiber.Map{"Title": "Keyfob Link", "Result": r, "MessageJSON": string(raw),
		"OriginsJSON": string(origins)}, "layouts/plain")
}

// linkHeaders: the widget reports to the page that opened it, so it must keep window.opener
// (COOP unsafe-none); it never sends a Referer (the URL holds a token or a code).
func linkHeaders(c *fiber.Ctx) {
	c.Set("Cross-Origin-Opener-Policy", "unsafe-none")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	c.Set(fiber.HeaderCacheControl, "no-store")
}

// linkFrameAncestors allows the Link widget's Connect pages to be framed by the app's own origins
// (the overlay mode of link.js); every other Connect page refuses framing.
func linkFrameAncestors(origins []string) string {
	if len(origins) == 0 {
		return "'none'"
	}
	return strings.Join(origins, " ")
}
