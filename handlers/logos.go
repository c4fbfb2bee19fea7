package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// serveLogo serves a stored logo by its content hash. The name is ours (hash + extension), the type
// is the stored one, and the response cannot be sniffed into or run as anything else.
func (h *Handler) serveLogo(c *fiber.Ctx) error {
	hash, ext, _ := strings.Cut(c.Params("file"), ".")
	data, contentType, err := h.logos.Get(hash)
	if err != nil {
		return err
	}
	if want := strings.TrimPrefix(models.LogoURL(hash, contentType), "/logos/"+hash+"."); want != ext {
		return models.ErrNotFound
	}
	c.Set(fiber.HeaderContentType, contentType)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; sandbox")
	c.Set(fiber.HeaderContentDisposition, `inline; filename="logo-`+hash[:12]+`.`+ext+`"`)
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	c.Set("Cross-Origin-Resource-Policy", "cross-origin")
	return c.Send(data)
}
