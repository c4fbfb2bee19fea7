package handlers

import (
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// refuseHostileText answers 400 when any text a request carries (a path segment, a query parameter's
// name or value, a form field, a JSON string) is not valid UTF-8 or holds NUL, before any handler or
// the database sees it: PostgreSQL would refuse such text with an error (a 500), SQLite would store it.
// File parts of uploads are bytes, not text, and are judged by the logo rules instead.
func refuseHostileText(c *fiber.Ctx) error {
	if err := checkRequestText(c); err != nil {
		return err
	}
	return c.Next()
}

func checkRequestText(c *fiber.Ctx) error {
	if err := checkPathText(c.Path()); err != nil {
		return err
	}
	if err := checkArgs(models.TextInQuery, c.Context().QueryArgs()); err != nil {
		return err
	}
	if len(c.Body()) == 0 {
		return nil
	}
	// The media type as the readers judge it (by prefix), so a malformed parameter cannot slip a body past.
	mediaType, _, _ := strings.Cut(strings.ToLower(c.Get(fiber.HeaderContentType)), ";")
	switch mediaType = strings.TrimSpace(mediaType); {
	case strings.HasPrefix(mediaType, fiber.MIMEApplicationForm):
		return checkArgs(models.TextInForm, c.Context().PostArgs())
	case strings.HasPrefix(mediaType, fiber.MIMEMultipartForm):
		return checkMultipartText(c)
	case strings.HasPrefix(mediaType, fiber.MIMEApplicationJSON) || strings.HasSuffix(mediaType, "+json"):
		return models.CheckJSONText(c.Body())
	}
	return nil
}

// checkPathText checks each segment as handlers read it: percent-decoded (Fiber leaves params
// encoded; the owner id is decoded), or as sent when it does not decode.
func checkPathText(path string) error {
	for segment := range strings.SplitSeq(path, "/") {
		if decoded, err := url.PathUnescape(segment); err == nil {
			segment = decoded
		}
		if err := models.CheckText(models.TextInPath, "", segment); err != nil {
			return err
		}
	}
	return nil
}

// argsVisitor is what query strings and urlencoded bodies have in common.
type argsVisitor interface {
	VisitAll(func(key, value []byte))
}

func checkArgs(source string, args argsVisitor) error {
	var first error
	args.VisitAll(func(k, v []byte) {
		if first == nil {
			first = models.CheckTextPair(source, k, v)
		}
	})
	return first
}

// checkMultipartText checks the text fields of a multipart form; a form that does not parse is left to
// the handler, which refuses it in its own words.
func checkMultipartText(c *fiber.Ctx) error {
	form, err := c.MultipartForm()
	if err != nil {
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(form.Value)) { // sorted: the same form names the same field
		for _, v := range form.Value[name] {
			if err := models.CheckTextPair(models.TextInForm, []byte(name), []byte(v)); err != nil {
				return err
			}
		}
	}
	return nil
}
