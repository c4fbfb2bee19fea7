package handlers

import (
	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// oauthMetadata is RFC 8414 authorization server metadata, so strict clients can discover the endpoints
// and check the issuer (which every authorization response repeats as iss, RFC 9207).
func (h *Handler) oauthMetadata(c *fiber.Ctx) error {
	scopes := make([]string, 0, len(models.Permissions))
	for _, p := range models.Permissions {
		scopes = append(scopes, p.Name)
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*") // public metadata; browser-based clients fetch it too
	return c.JSON(fiber.Map{
		"issuer":                                         h.Cfg.BaseURL,
		"authorization_endpoint":                         h.Cfg.BaseURL + "/oauth/authorize",
		"token_endpoint":                                 h.Cfg.BaseURL + "/oauth/token",
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query"},
		"grant_types_supported":                          []string{"authorization_code", "refresh_token"},
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":               []string{"S256"},
		"scopes_supported":                               scopes,
		"authorization_response_iss_parameter_supported": true,
	})
}
