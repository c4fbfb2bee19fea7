package models

import (
	"regexp"
	"slices"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzCheckEvent: every event an API client reports is either refused, naming one documented field
// with a code and a message, or turned into a SessionEvent whose every field is usable: text ids
// without control characters, a known step, make and mode, a time inside the accepted window.
func FuzzCheckEvent(f *testing.F) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	f.Add("e1", "s1", "owner-1", StepLaunched, "2026-11-23T11:00:00Z", "", "", "", false)
	f.Add("e2", "s1", "", StepError, "2026-11-23T11:00:00.123456789+02:00", "tesla", "vehicle_incompatible", "simulated", false)
	f.Add("e3", "s2", "Zoë ＝", StepExited, "2026-11-24T11:59:59Z", "FORD", "", "live", true)
	f.Add("e\x00", "s\xff", "o\n", "nope", "yesterday", "NOPE", "Bad-Code", "prod", true)
	f.Add("", "", "", "", "", "", "", "", false)
	f.Fuzz(func(t *testing.T, id, session, owner, step, at, make, errCode, mode string, live bool) {
		env := EnvTest
		if live {
			env = EnvLive
		}
		in := EventInput{Index: 7, ID: id, SessionID: session, Owner: owner, Step: step, OccurredAt: at, Make: make, Error: errCode, Mode: mode}
		e, refusal := checkEvent(in, env, now)
		if refusal != nil {
			fields := []string{"id", "session_id", "owner", "step", "occurred_at", "error", "make", "mode"}
			if refusal.Index != 7 || refusal.ID != id || !slices.Contains(fields, refusal.Field) || refusal.Code == "" || refusal.Message == "" {
				t.Fatalf("checkEvent(%+v) refused it as %+v", in, refusal)
			}
			return
		}
		checkStoredEvent(t, in, e, env, now)
	})
}

var fuzzErrorCode = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

func checkStoredEvent(t *testing.T, in EventInput, e SessionEvent, env string, now time.Time) {
	t.Helper()
	for _, s := range []string{e.ID, e.SessionID, e.Owner} {
		if !utf8.ValidString(s) || hasControl(s) || utf8.RuneCountInString(s) > maxEventField {
			t.Fatalf("checkEvent(%+v) stored text %q", in, s)
		}
	}
	if e.ID != in.ID || e.SessionID != in.SessionID || e.ID == "" || e.SessionID == "" || e.Owner != in.Owner {
		t.Fatalf("checkEvent(%+v) = %+v", in, e)
	}
	if stepBit(e.Step) == 0 || e.OccurredAt.Location() != time.UTC || e.OccurredAt.After(now.Add(maxEventFuture)) ||
		e.OccurredAt.Before(now.Add(-maxEventPast)) {
		t.Fatalf("checkEvent(%+v) stored step %q at %v", in, e.Step, e.OccurredAt)
	}
	if m, ok := FindMake(e.Make); e.Make != "" && (!ok || m.ID != e.Make) || e.Make == "" && in.Make != "" {
		t.Fatalf("checkEvent(%+v) stored make %q", in, e.Make)
	}
	if e.ErrorCode != "" && (!fuzzErrorCode.MatchString(e.ErrorCode) || (e.Step != StepError && e.Step != StepExited)) ||
		e.Step == StepError && e.ErrorCode == "" {
		t.Fatalf("checkEvent(%+v) stored error %q on step %q", in, e.ErrorCode, e.Step)
	}
	if !modeAllowed(env, e.Mode) {
		t.Fatalf("checkEvent(%+v) stored mode %q for a %s key", in, e.Mode, env)
	}
}
