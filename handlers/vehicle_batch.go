package handlers

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// maxBatchRequests bounds one batch. Every item reads the same vehicle, and there are fewer reads than
// this, so a longer list could only repeat them.
const maxBatchRequests = 20

// batchItem is one answer of a batch: what the single GET of its path would have answered.
type batchItem struct {
	Path    string            `json:"path"`
	Code    int               `json:"code"`
	Headers map[string]string `json:"headers"`
	Body    any               `json:"body"`
}

// scBatch is POST /vehicles/{id}/batch {"requests":[{"path":"/odometer"}, ...]}: each item runs the same
// vehicleRead as its route (permission, capability, sc-unit-system); a refused or unknown path is an item
// with its own code and Smartcar error body, never a failed batch.
func (h *Handler) scBatch(c *fiber.Ctx) error {
	paths, err := batchPaths(c)
	if err != nil {
		return err
	}
	items := make([]batchItem, 0, len(paths))
	for _, path := range paths {
		item, err := batchAnswer(c, path)
		if err != nil {
			return err
		}
		items = append(items, item)
	}
	return c.JSON(fiber.Map{"responses": items})
}

// batchPaths reads the body: 1 to maxBatchRequests requests, each a path starting with "/".
func batchPaths(c *fiber.Ctx) ([]string, error) {
	var in struct {
		Requests []struct {
			Path *string `json:"path"`
		} `json:"requests"`
	}
	const shape = `Send a JSON body {"requests": [{"path": "/odometer"}, ...]} with 1 to 20 requests.`
	if err := decodeJSON(c, &in); err != nil || len(in.Requests) == 0 || len(in.Requests) > maxBatchRequests {
		return nil, errValidation(c, shape)
	}
	paths := make([]string, 0, len(in.Requests))
	for _, r := range in.Requests {
		if r.Path == nil || !strings.HasPrefix(*r.Path, "/") {
			return nil, errValidation(c, `Each request needs a "path" starting with "/", such as "/odometer".`)
		}
		paths = append(paths, *r.Path)
	}
	return paths, nil
}

// batchAnswer answers one path; only a failure that is not Smartcar's (the database) fails the batch.
func batchAnswer(c *fiber.Ctx, path string) (batchItem, error) {
	var (
		a   readAnswer
		err = errPath(c)
	)
	if r, ok := findRead(path); ok {
		a, err = answerRead(c, r)
	}
	var refused *vehicleFailure
	if errors.As(err, &refused) {
		return batchItem{Path: path, Code: refused.status, Headers: map[string]string{}, Body: refused.body}, nil
	}
	if err != nil {
		return batchItem{}, err
	}
	return batchItem{Path: path, Code: fiber.StatusOK, Headers: a.headers, Body: a.body}, nil
}
