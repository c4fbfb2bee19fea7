package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// DemoTraffic describes generated Connect traffic: how many sessions, spread over how many owners and
// the days up to now. Growth is how many times busier the last day is than the first (traffic grows
// steadily in between); 0 or 1 spreads the sessions evenly.
type DemoTraffic struct {
	Owners, Sessions, Days int
	Growth                 float64
	Seed                   uint64
}

// demoMakes are the brands demo owners pick, the popular ones more often.
var demoMakes = []string{"TESLA", "TESLA", "TESLA", "FORD", "FORD", "TOYOTA", "TOYOTA", "BMW", "VOLKSWAGEN",
	"HYUNDAI", "KIA", "CHEVROLET", "MERCEDES_BENZ", "NISSAN", "AUDI", "RIVIAN", "VOLVO", "JEEP"}

// demoErrors are the errors a demo session can end in, the common ones more often.
var demoErrors = []string{"vehicle_incompatible", "vehicle_incompatible", "no_vehicles", "no_vehicles",
	"invalid_subscription", "access_denied", "access_denied", "access_denied", "server_error"}

// demoReach is the share of sessions that get past each funnel step to the next one.
var demoReach = []float64{0.86, 0.80, 0.91, 0.93, 0.97}

// GenerateDemoEvents produces the events of t.Sessions realistic Connect sessions ending by now:
// most owners come once, a few many times; sessions drop off along the funnel, exit or fail with
// an error, some step is repeated, and the steps are seconds apart. Events are in time order.
func GenerateDemoEvents(t DemoTraffic, now time.Time) ([]EventInput, error) {
	if t.Owners < 1 || t.Sessions < 1 || t.Days < 1 || t.Days > 365 || t.Growth < 0 || t.Growth > 100 {
		return nil, fmt.Errorf("owners and sessions must be at least 1, days between 1 and 365, growth between 0 and 100")
	}
	r := rand.New(rand.NewPCG(t.Seed, t.Seed^0x9e3779b97f4a7c15))
	span := time.Duration(t.Days) * 24 * time.Hour
	var out []EventInput
	for range t.Sessions {
		// Skewed towards the first owners: most come once or twice, a few (fleets) many times.
		owner := fmt.Sprintf("driver-%05d@example.com", int(float64(t.Owners)*math.Pow(r.Float64(), 1.5))+1)
		// Start within the period, leaving the last minutes for the session to finish before now.
		at := demoGrowthPoint(r.Float64(), t.Growth) * float64(span-10*time.Minute)
		start := now.Add(-span + time.Duration(at)).Truncate(time.Second)
		out = append(out, demoSession(r, owner, start)...)
	}
	// Times are whole seconds in UTC, so their RFC 3339 text sorts as the times do.
	slices.SortStableFunc(out, func(a, b EventInput) int { return strings.Compare(a.OccurredAt, b.OccurredAt) })
	for i := range out {
		out[i].Index = i
	}
	return out, nil
}

// demoGrowthPoint maps u, uniform in [0, 1), to a point of [0, 1) whose density grows linearly to
// growth times its start (the inverse of its distribution function), so later days get more sessions.
func demoGrowthPoint(u, growth float64) float64 {
	k := growth - 1
	if growth == 0 || math.Abs(k) < 1e-9 {
		return u
	}
	return (math.Sqrt(1+2*k*u*(1+k/2)) - 1) / k
}

// demoSession is one session's events: the funnel as far as this owner gets, then maybe an ending.
func demoSession(r *rand.Rand, owner string, at time.Time) []EventInput {
	session := uuid.NewString()
	mode := "test"
	if r.IntN(5) == 0 {
		mode = "simulated"
	}
	brand := demoMakes[r.IntN(len(demoMakes))]
	var events []EventInput
	add := func(step, errorCode string, withMake bool) {
		at = at.Add(time.Duration(2+r.IntN(40)) * time.Second)
		e := EventInput{ID: uuid.NewString(), SessionID: session, Owner: owner, Step: step, Mode: mode,
			OccurredAt: at.UTC().Format(time.RFC3339), Error: errorCode}
		if withMake {
			e.Make = brand
		}
		events = append(events, e)
	}
	add(StepLaunched, "", false)
	reached := 0
	for reached < len(demoReach) && r.Float64() < demoReach[reached] {
		reached++
		add(FunnelSteps[reached], "", true)
		if reached == 1 && r.IntN(12) == 0 { // went back and picked the brand again
			add(StepBrandSelected, "", true)
		}
	}
	// The loop's last step is completed itself (FunnelSteps ends with it), so a session that got
	// through needs no ending of its own: only the others may error or exit.
	switch {
	case reached == len(demoReach):
	case reached >= 2 && r.IntN(2) == 0: // past sign-in, failures are errors
		add(StepError, demoErrors[r.IntN(len(demoErrors))], true)
	case r.IntN(3) > 0:
		add(StepExited, "user_manually_returned_to_application", reached > 0)
	}
	return events
}

// IngestDemoEvents stores generated events for appID through the events API's ingestion path, in
// batches of MaxEventBatch, calling progress after each batch with the events done so far.
func IngestDemoEvents(db *gorm.DB, appID string, events []EventInput, progress func(done int)) error {
	key := APIKey{AppID: appID, Environment: EnvTest}
	for start := 0; start < len(events); start += MaxEventBatch {
		batch := events[start:min(start+MaxEventBatch, len(events))]
		result, err := IngestEvents(db, key, "", batch, nil, time.Now().UTC())
		if err != nil {
			return err
		}
		if len(result.Refused) > 0 {
			return fmt.Errorf("demo event %d refused: %s", result.Refused[0].Index, result.Refused[0].Message)
		}
		if progress != nil {
			progress(start + len(batch))
		}
	}
	return nil
}
