package handlers

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// FuzzReadEvents: any body sent to POST /api/v1/events is either refused with a 4xx or read into
// events that account for every index of the batch exactly once (stored or refused by index), and
// once the boundary has passed the body, every field read is text PostgreSQL can store.
func FuzzReadEvents(f *testing.F) {
	for _, s := range []string{
		`{"events":[{"id":"e1","session_id":"s1","owner":"o","step":"launched","occurred_at":"2026-01-01T00:00:00Z"}]}`,
		`{"events":[null,{"id":1},{"id":"e2","extra":true},"x",[]]}`,
		`{"events":[{"id":"\u0000"},{"owner":"\ud800"}]}`, "{\"events\":[{\"id\":\"\xff\"}]}", `{"events":null}`, `[]`, `{}`, ``,
		`{"events":[{}],"events":[{},{}]}`, `{"events":[{"id":"a"}]} trailing`, `{"events":` + strings.Repeat(`{"id":"x"},`, 3) + `]}`,
	} {
		f.Add([]byte(s))
	}
	type outcome struct {
		inputs  []models.EventInput
		refused []models.EventRefusal
		err     error
	}
	var got outcome
	app := fiber.New(fiber.Config{BodyLimit: 4 << 20})
	app.Post("/", func(c *fiber.Ctx) error {
		got.inputs, got.refused, got.err = readEvents(c)
		return nil
	})
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		got = outcome{}
		if _, err := app.Test(req, -1); err != nil {
			t.Fatal(err)
		}
		if got.err != nil {
			if status, _ := classify(got.err); status < 400 || status >= 500 {
				t.Fatalf("readEvents(%q): %v answers %d", body, got.err, status)
			}
			return
		}
		n := len(got.inputs) + len(got.refused)
		if n > models.MaxEventBatch {
			t.Fatalf("readEvents(%q) read %d events", body, n)
		}
		seen := make([]bool, n)
		mark := func(i int) {
			if i < 0 || i >= n || seen[i] {
				t.Fatalf("readEvents(%q): index %d is out of range or counted twice", body, i)
			}
			seen[i] = true
		}
		for _, in := range got.inputs {
			mark(in.Index)
			if models.CheckJSONText(body) == nil {
				for _, s := range []string{in.ID, in.SessionID, in.Owner, in.Step, in.OccurredAt, in.Make, in.Error, in.Mode} {
					if !utf8.ValidString(s) || strings.Contains(s, "\x00") {
						t.Fatalf("the boundary passed %q but the event holds %q", body, s)
					}
				}
			}
		}
		for _, r := range got.refused {
			mark(r.Index)
			if r.Field != "events" || r.Code != "malformed_event" || r.Message == "" {
				t.Fatalf("refusal %+v", r)
			}
		}
	})
}
