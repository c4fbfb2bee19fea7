package models

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// EventInput is one event as a front end reports it through the events API, before it is checked.
// Index is its position in the batch, so refusals can point at it.
type EventInput struct {
	Index      int
	ID         string
	SessionID  string
	Owner      string
	Step       string
	OccurredAt string
	Make       string
	Error      string
	Mode       string
}

// EventRefusal says why one event of a batch was not stored.
type EventRefusal struct {
	Index   int    `json:"index"`
	ID      string `json:"id,omitempty"`
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// IngestResult is what a batch came to: events stored, events already known, events refused.
type IngestResult struct {
	Accepted   int            `json:"accepted"`
	Duplicates int            `json:"duplicates"`
	Refused    []EventRefusal `json:"refused"`
}

// MaxEventBatch is the most events one request may carry; they are stored in one transaction.
const MaxEventBatch = 1000

// ErrTooManyEvents refuses a batch over MaxEventBatch.
var ErrTooManyEvents = Invalid("events", "too_many_events", "Send at most 1000 events per request.")

// Event times must fall within this window around now: later is a broken clock, earlier is not analytics.
const (
	maxEventFuture = 24 * time.Hour
	maxEventPast   = 365 * 24 * time.Hour
	maxEventField  = 200
)

// errorCodePattern is the shape of Connect's error codes (vehicle_incompatible, access_denied, ...).
var errorCodePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// IdempotencyWindow is how long an Idempotency-Key is remembered.
const IdempotencyWindow = 24 * time.Hour

// IngestEvents checks a batch reported with key (an API key of appID) and stores the valid events in
// one transaction, with the summaries and rollups they change: a nil error means they are committed.
// Resending an event id is a duplicate, never counted twice. idemKey, when set, makes the whole request
// repeatable: the same key with the same events answers the first result again; with other events it
// is refused. refused are events the caller already found malformed; they are reported with the rest.
func IngestEvents(db *gorm.DB, key APIKey, idemKey string, inputs []EventInput, refused []EventRefusal, now time.Time) (IngestResult, error) {
	if len(inputs)+len(refused) > MaxEventBatch {
		return IngestResult{}, ErrTooManyEvents
	}
	if len(inputs)+len(refused) == 0 {
		return IngestResult{}, Invalid("events", "no_events", "Send at least one event.")
	}
	result := IngestResult{Refused: slices.Clone(refused)}
	var events []SessionEvent
	for _, in := range inputs {
		e, refusal := checkEvent(in, key.Environment, now)
		if refusal != nil {
			result.Refused = append(result.Refused, *refusal)
			continue
		}
		events = append(events, e)
	}
	slices.SortFunc(result.Refused, func(a, b EventRefusal) int { return a.Index - b.Index })
	if len(events) == 0 && idemKey == "" {
		return result, nil
	}
	requestHash := hashInputs(key.ID, inputs, refused)
	err := retryDeadlock(db, func(tx *gorm.DB) error {
		if idemKey != "" {
			earlier, err := claimIdempotencyKey(tx, key.AppID, idemKey, requestHash, now)
			if err != nil || earlier != nil {
				if earlier != nil {
					result = *earlier
				}
				return err
			}
		}
		stored, err := ingestBatch(tx, key.AppID, events, false) // nothing to do when all were refused
		if err != nil {
			return err
		}
		result.Accepted, result.Duplicates = len(stored), len(events)-len(stored)
		if idemKey == "" {
			return nil
		}
		return rememberResult(tx, key.AppID, idemKey, requestHash, result, now)
	})
	return result, err
}

// checkEvent turns one reported event into a SessionEvent, or says what is wrong with it.
func checkEvent(in EventInput, environment string, now time.Time) (SessionEvent, *EventRefusal) {
	refuse := func(field, code, message string) (SessionEvent, *EventRefusal) {
		return SessionEvent{}, &EventRefusal{Index: in.Index, ID: in.ID, Field: field, Code: code, Message: message}
	}
	for _, f := range []struct{ name, value string }{{"id", in.ID}, {"session_id", in.SessionID}, {"owner", in.Owner}} {
		switch {
		case f.value == "" && f.name != "owner":
			return refuse(f.name, "missing", "Give every event its "+f.name+".")
		case utf8.RuneCountInString(f.value) > maxEventField || !utf8.ValidString(f.value) || hasControl(f.value):
			return refuse(f.name, "invalid", "Use at most 200 printable characters for "+f.name+".")
		}
	}
	if stepBit(in.Step) == 0 {
		return refuse("step", "unknown_step", "Use one of the steps: "+strings.Join(AnalyticsSteps, ", ")+".")
	}
	at, err := time.Parse(time.RFC3339Nano, in.OccurredAt)
	switch {
	case err != nil:
		return refuse("occurred_at", "invalid_time", "Give occurred_at as an RFC 3339 time, such as 2026-11-23T17:00:00Z.")
	case at.After(now.Add(maxEventFuture)):
		return refuse("occurred_at", "time_in_future", "occurred_at is more than a day in the future; check the clock.")
	case at.Before(now.Add(-maxEventPast)):
		return refuse("occurred_at", "time_too_old", "occurred_at is more than a year in the past.")
	}
	e := SessionEvent{ID: in.ID, SessionID: in.SessionID, Owner: in.Owner, Step: in.Step, OccurredAt: at.UTC()}
	switch {
	case in.Step == StepError && in.Error == "":
		return refuse("error", "missing", "An error event needs its error code.")
	case in.Error != "" && in.Step != StepError && in.Step != StepExited:
		return refuse("error", "unexpected", "Only error and exited events carry an error code.")
	case in.Error != "" && !errorCodePattern.MatchString(in.Error):
		return refuse("error", "invalid_error_code", "Error codes are lower-case words joined by underscores, such as vehicle_incompatible.")
	}
	e.ErrorCode = in.Error
	if in.Make != "" {
		m, ok := FindMake(in.Make)
		if !ok {
			return refuse("make", "unknown_make", "Unknown make; use an id such as TESLA or FORD.")
		}
		e.Make = m.ID
	}
	if e.Mode = in.Mode; e.Mode == "" {
		e.Mode = environment
	}
	if !modeAllowed(environment, e.Mode) {
		return refuse("mode", "invalid_mode", "A "+environment+" key reports "+strings.Join(modesOf(environment), " or ")+" sessions.")
	}
	return e, nil
}

// modesOf are the Connect modes an API key's environment may report: test keys test and simulated
// sessions, live keys live ones, so test traffic never inflates live figures.
func modesOf(environment string) []string {
	if environment == EnvLive {
		return []string{"live"}
	}
	return []string{"test", "simulated"}
}

func modeAllowed(environment, mode string) bool { return slices.Contains(modesOf(environment), mode) }

// hashInputs fingerprints a request (the API key sending it and its events), to tell a retry from a
// different request under one Idempotency-Key: the same key sent with a test and a live API key is
// two requests.
func hashInputs(apiKeyID string, inputs []EventInput, refused []EventRefusal) string {
	b, _ := json.Marshal(struct {
		APIKey  string
		Inputs  []EventInput
		Refused []EventRefusal
	}{apiKeyID, inputs, refused})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

type idempotencyRecord struct {
	AppID       string
	IdemKey     string
	RequestHash string
	Status      int
	Response    string
	CreatedAt   time.Time
}

func (idempotencyRecord) TableName() string { return "idempotency_keys" }

// claimIdempotencyKey takes idemKey for this request, or returns the answer it already gave. The key's
// row is inserted (or, when it exists, locked) first, so concurrent retries under one key wait for the
// first to commit and then answer what it answered; a key past its window is taken over.
func claimIdempotencyKey(tx *gorm.DB, appID, idemKey, requestHash string, now time.Time) (*IngestResult, error) {
	err := tx.Exec(`INSERT INTO idempotency_keys (app_id, idem_key, request_hash, status, response, created_at)
		VALUES (?, ?, ?, 0, '', ?) ON CONFLICT (app_id, idem_key) DO NOTHING`, appID, idemKey, requestHash, now).Error
	if err != nil {
		return nil, err
	}
	q := tx.Where("app_id = ? AND idem_key = ?", appID, idemKey)
	if IsPostgres(tx) {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var rec idempotencyRecord
	switch err := q.Take(&rec).Error; {
	case err != nil:
		return nil, err
	case rec.Status == 0 || rec.CreatedAt.Before(now.Add(-IdempotencyWindow)):
		return nil, nil // ours: just inserted, or forgotten
	case rec.RequestHash != requestHash:
		return nil, Invalid("Idempotency-Key", "idempotency_key_reused",
			"This Idempotency-Key was used for a different request; use a new key for new events.")
	}
	var out IngestResult
	err = json.Unmarshal([]byte(rec.Response), &out)
	return &out, err
}

// rememberResult stores the answer under the key claimed by claimIdempotencyKey.
func rememberResult(tx *gorm.DB, appID, idemKey, requestHash string, result IngestResult, now time.Time) error {
	body, err := json.Marshal(result)
	if err != nil {
		return err
	}
	return tx.Model(&idempotencyRecord{}).Where("app_id = ? AND idem_key = ?", appID, idemKey).
		Updates(map[string]any{"request_hash": requestHash, "status": 202, "response": string(body), "created_at": now}).Error
}

// PurgeIdempotencyKeys deletes the Idempotency-Keys remembered before before.
func PurgeIdempotencyKeys(db *gorm.DB, before time.Time) error {
	return db.Where("created_at < ?", before).Delete(&idempotencyRecord{}).Error
}
