package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// eventJSON is one event of POST /api/v1/events, as api.md gives it (mode is Keyfob's addition).
type eventJSON struct {
	ID         string `json:"id"`
	SessionID  string `json:"session_id"`
	Owner      string `json:"owner"`
	Step       string `json:"step"`
	OccurredAt string `json:"occurred_at"`
	Make       string `json:"make"`
	Error      string `json:"error"`
	Mode       string `json:"mode"`
}

// apiIngestEvents is POST /api/v1/events: a batch of session events from another front end, stored
// in one transaction. 202 means every accepted event is committed; refused events are listed by index.
// A batch where nothing could be stored is a 422 with the same list.
func (h *Handler) apiIngestEvents(c *fiber.Ctx) error {
	inputs, refused, err := readEvents(c)
	if err != nil {
		return err
	}
	key, _ := c.Locals("api_key").(models.APIKey)
	idemKey := c.Get("Idempotency-Key")
	if !validIdempotencyKey(idemKey) {
		return models.Invalid("Idempotency-Key", "invalid", "Use an Idempotency-Key of at most 255 printable ASCII characters, such as a UUID.")
	}
	result, err := models.IngestEvents(h.DB, key, idemKey, inputs, refused, time.Now().UTC())
	if err != nil {
		return err
	}
	if result.Refused == nil {
		result.Refused = []models.EventRefusal{}
	}
	if result.Accepted == 0 && result.Duplicates == 0 {
		return c.Status(fiber.StatusUnprocessableEntity).JSON(fiber.Map{
			"error":   apiError{"invalid_events", "No event could be stored; see refused for each one.", "events"},
			"refused": result.Refused})
	}
	return c.Status(fiber.StatusAccepted).JSON(result)
}

// readEvents reads the batch. A well-formed body is decoded once; only when that fails is each event
// decoded on its own, so one malformed event is refused without the rest.
func readEvents(c *fiber.Ctx) ([]models.EventInput, []models.EventRefusal, error) {
	var whole struct {
		Events []*eventJSON `json:"events"` // pointers: a null event stays visible as nil
	}
	if decodeJSON(c, &whole) == nil && !slices.Contains(whole.Events, nil) {
		if len(whole.Events) > models.MaxEventBatch {
			return nil, nil, models.ErrTooManyEvents
		}
		inputs := make([]models.EventInput, len(whole.Events))
		for i, e := range whole.Events {
			inputs[i] = e.input(i)
		}
		return inputs, nil, nil
	}
	var body struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := decodeJSON(c, &body); err != nil {
		return nil, nil, err
	}
	if len(body.Events) > models.MaxEventBatch {
		return nil, nil, models.ErrTooManyEvents
	}
	inputs, refused := decodeEvents(body.Events)
	return inputs, refused, nil
}

func (e eventJSON) input(index int) models.EventInput {
	return models.EventInput{Index: index, ID: e.ID, SessionID: e.SessionID, Owner: e.Owner,
		Step: e.Step, OccurredAt: e.OccurredAt, Make: e.Make, Error: e.Error, Mode: e.Mode}
}

// decodeEvents reads each event on its own, so one malformed event is refused without the rest.
func decodeEvents(raw []json.RawMessage) ([]models.EventInput, []models.EventRefusal) {
	inputs := make([]models.EventInput, 0, len(raw))
	var refused []models.EventRefusal
	for i, r := range raw {
		var e eventJSON
		dec := json.NewDecoder(bytes.NewReader(r))
		dec.DisallowUnknownFields()
		err := dec.Decode(&e)
		if err == nil && !bytes.HasPrefix(bytes.TrimSpace(r), []byte("{")) { // null decodes without error
			err = errors.New("null")
		}
		if err != nil {
			refused = append(refused, models.EventRefusal{Index: i, Field: "events", Code: "malformed_event",
				Message: "This event is not an object of the documented fields: " + jsonProblem(err)})
			continue
		}
		inputs = append(inputs, e.input(i))
	}
	return inputs, refused
}

// validIdempotencyKey accepts what clients send as such keys (UUIDs, random tokens): up to 255 printable
// ASCII characters; empty means none.
func validIdempotencyKey(k string) bool {
	if len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}
