package handlers

import (
	"maps"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"keyfob/models"
)

// simulatorApp is an owner, their signed-in browser and an app, ready for the Simulator tab.
type simulatorApp struct {
	owner account
	b     *browser
	appID string
	base  string
}

func (s *testServer) simulatorApp(email string) simulatorApp {
	s.t.Helper()
	a := s.signup(email, "Org of "+email)
	appID := s.createApp(a, "Fleet")["id"].(string)
	return simulatorApp{owner: a, b: s.signedIn(a), appID: appID, base: "/apps/" + appID + "/simulator"}
}

// simVehicle creates a simulated vehicle directly in the models.
func (s *testServer) simVehicle(appID, makeID, model, powertrain string) models.VehicleState {
	s.t.Helper()
	v, err := models.CreateSimulatedVehicle(s.db, appID, "owner@example.com", makeID, model, 2023, "", powertrain)
	if err != nil {
		s.t.Fatalf("create simulated vehicle: %v", err)
	}
	return v
}

func (s *testServer) simState(appID, vehicleID string) models.VehicleState {
	s.t.Helper()
	v, err := models.LoadVehicleState(s.db, appID, vehicleID)
	if err != nil {
		s.t.Fatalf("load state: %v", err)
	}
	return v
}

func wantBody(t *testing.T, body string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(body, p) {
			t.Fatalf("body lacks %q: %.3000s", p, body)
		}
	}
}

func TestSimulatorListAndCreate(t *testing.T) {
	s := newTestServer(t)
	sim := s.simulatorApp("sim@example.com")

	resp, body := sim.b.get(sim.base)
	wantStatus(t, resp, body, http.StatusOK)
	wantBody(t, body, "No simulated vehicles yet", "completes Connect", "/sandbox/public_token/create",
		`href="`+sim.base+`" aria-current="page">Simulator`, "Create a vehicle", `name="_csrf"`)

	resp, body = sim.b.post(sim.base, url.Values{"owner": {"driver@example.com"}, "make": {"TESLA"}, "model": {"model 3"}, "year": {"2022"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	states, _ := models.ListVehicleStates(s.db, sim.appID)
	if len(states) != 1 || states[0].Model != "Model 3" || states[0].Powertrain != models.BEV || states[0].Owner != "driver@example.com" {
		t.Fatalf("want one catalogue Model 3 BEV, got %+v", states)
	}
	if loc := resp.Header.Get("Location"); loc != sim.base+"/"+states[0].VehicleID {
		t.Fatalf("create should open the vehicle page, went to %q", loc)
	}
	resp, body = sim.b.get(sim.base)
	wantStatus(t, resp, body, http.StatusOK)
	wantBody(t, body, "Owner: <span class=\"wrap\">driver@example.com", "Tesla Model 3 (2022)", states[0].VIN,
		`href="`+sim.base+"/"+states[0].VehicleID+`"`, "Battery ")
	if strings.Contains(body, "No simulated vehicles yet") {
		t.Fatal("the empty state must go once there is a vehicle")
	}

	failures := []struct {
		name   string
		form   url.Values
		status int
		kept   []string
		reason string
	}{
		{"bad VIN", url.Values{"owner": {"kept-owner"}, "make": {"FORD"}, "model": {"Kept Model"}, "vin": {"NOT-A-VIN"}, "powertrain": {"ICE"}, "year": {"2020"}},
			422, []string{`value="kept-owner"`, `value="Kept Model"`, `value="NOT-A-VIN"`, `value="FORD" selected`, `value="ICE" selected`}, "A VIN is 17 letters"},
		{"unknown make", url.Values{"owner": {"kept-owner"}, "make": {"NOPE"}, "model": {"Roadster"}, "year": {"2021"}},
			422, []string{`value="kept-owner"`, `value="Roadster"`, `value="2021"`}, "Choose a make from the list."},
		{"missing owner", url.Values{"owner": {"  "}, "make": {"BMW"}, "model": {"i4"}, "year": {"2023"}},
			422, []string{`value="i4"`, `value="BMW" selected`}, "Enter the owner"},
		{"year not a number", url.Values{"owner": {"kept-owner"}, "make": {"KIA"}, "model": {"EV6"}, "year": {"soon"}},
			422, []string{`value="soon"`, `value="KIA" selected`}, "Enter a model year from 1990"},
		{"duplicate VIN", url.Values{"owner": {"other@example.com"}, "make": {"TESLA"}, "model": {"Model Y"}, "vin": {strings.ToLower(states[0].VIN)}, "year": {"2022"}},
			409, []string{`value="other@example.com"`, `value="Model Y"`}, "already has this VIN"},
	}
	for _, tc := range failures {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := sim.b.post(sim.base, tc.form)
			wantStatus(t, resp, body, tc.status)
			wantBody(t, body, append(tc.kept, tc.reason, `aria-invalid="true"`)...)
		})
	}
	if states, _ := models.ListVehicleStates(s.db, sim.appID); len(states) != 1 {
		t.Fatalf("failed creations must write nothing, have %d vehicles", len(states))
	}
}

func TestSimulatorEditState(t *testing.T) {
	s := newTestServer(t)
	sim := s.simulatorApp("edit@example.com")
	ev := s.simVehicle(sim.appID, "TESLA", "Model Y", "")
	page := sim.base + "/" + ev.VehicleID

	resp, body := sim.b.get(page)
	wantStatus(t, resp, body, http.StatusOK)
	wantBody(t, body, `name="battery_percent"`, `name="plugged_in"`, `name="charging"`, `name="locked"`, `name="odometer_km"`, "No API calls",
		`name="charge_limit"`, `id="f-charge_limit" name="charge_limit" type="number" step="any" inputmode="decimal" value="100"`, "Charge limit")
	if strings.Contains(body, `name="fuel_percent"`) {
		t.Fatal("a BEV has no fuel field")
	}

	// The form as a browser sends it: every applicable field, checkboxes only when ticked.
	form := url.Values{"odometer_km": {"4321.5"}, "battery_percent": {"55"}, "latitude": {"52.52"}, "longitude": {"-13.4"},
		"plugged_in": {"on"}, "fuel_percent": {"12"}}
	resp, body = sim.b.post(page, form)
	wantStatus(t, resp, body, http.StatusSeeOther)
	got := s.simState(sim.appID, ev.VehicleID)
	if got.Locked || !got.PluggedIn || got.Charging || math.Abs(got.OdometerKm-4321.5) > 0.01 || math.Abs(got.BatteryPercent-55) > 0.01 ||
		got.Latitude != 52.52 || got.Longitude != -13.4 || got.FuelPercent != 0 {
		t.Fatalf("edit not saved as typed (and fuel must stay untouched on a BEV): %+v", got)
	}
	resp, body = sim.b.get(page)
	wantBody(t, body, "Saved the vehicle&#39;s state.", "unlocked", "plugged in, not charging")

	form.Set("locked", "on")
	form.Set("charging", "on")
	resp, body = sim.b.post(page, form)
	wantStatus(t, resp, body, http.StatusSeeOther)
	if got := s.simState(sim.appID, ev.VehicleID); !got.Locked || !got.Charging {
		t.Fatalf("lock and charge: %+v", got)
	}

	resp, body = sim.b.post(page, url.Values{"odometer_km": {"4400"}, "battery_percent": {"150"}, "locked": {"on"}})
	wantStatus(t, resp, body, http.StatusUnprocessableEntity)
	wantBody(t, body, `value="150"`, `value="4400"`, "Enter a charge level from 0 to 100 %.", `aria-describedby="f-battery_percent-error"`)
	if got := s.simState(sim.appID, ev.VehicleID); math.Abs(got.OdometerKm-4321.5) > 0.1 {
		t.Fatalf("a refused edit writes nothing: %+v", got)
	}

	// Values equal to what the page showed are left alone, so an unrelated edit does not rewind the drift.
	resp, body = sim.b.post(page, url.Values{"odometer_km": {"1"}, "shown_odometer_km": {"1"}, "locked": {""}, "shown_locked": {"on"},
		"battery_percent": {"55"}, "shown_battery_percent": {"55"}, "plugged_in": {"on"}, "shown_plugged_in": {"on"},
		"charging": {"on"}, "shown_charging": {"on"}, "latitude": {"52.52"}, "shown_latitude": {"52.52"}, "longitude": {"-13.4"}, "shown_longitude": {"-13.4"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	if got := s.simState(sim.appID, ev.VehicleID); got.Locked || got.OdometerKm < 4321 {
		t.Fatalf("only the lock changed: %+v", got)
	}

	// The charge limit is typed in percent and kept as a fraction, like the API's.
	limitForm := func(limit, shown string) url.Values {
		f := url.Values{"charge_limit": {limit}, "shown_charge_limit": {shown}}
		for _, name := range []string{"odometer_km", "battery_percent", "latitude", "longitude"} {
			value := newSimStateForm(s.simState(sim.appID, ev.VehicleID)).Values[name]
			f.Set(name, value)
			f.Set("shown_"+name, value)
		}
		return f
	}
	resp, body = sim.b.post(page, limitForm("80", "100"))
	wantStatus(t, resp, body, http.StatusSeeOther)
	if got := s.simState(sim.appID, ev.VehicleID); got.ChargeLimit != 0.8 {
		t.Fatalf("charge limit 80 %% is stored as 0.8: %v", got.ChargeLimit)
	}
	resp, body = sim.b.get(page)
	wantBody(t, body, "<dd>80 %</dd>", `value="80"`)
	resp, body = sim.b.post(page, limitForm("40", "80"))
	wantStatus(t, resp, body, http.StatusUnprocessableEntity)
	wantBody(t, body, `value="40"`, "from 0.5 to 1.0 (50 to 100 %)", `aria-describedby="f-charge_limit-error"`)
	if got := s.simState(sim.appID, ev.VehicleID); got.ChargeLimit != 0.8 {
		t.Fatalf("a refused limit writes nothing: %v", got.ChargeLimit)
	}
}

func TestSimulatorCombustionForm(t *testing.T) {
	s := newTestServer(t)
	sim := s.simulatorApp("ice@example.com")
	ice := s.simVehicle(sim.appID, "FORD", "F-150", "")
	page := sim.base + "/" + ice.VehicleID

	resp, body := sim.b.get(page)
	wantBody(t, body, `name="fuel_percent"`)
	if strings.Contains(body, `name="battery_percent"`) || strings.Contains(body, `name="plugged_in"`) || strings.Contains(body, "charge_limit") {
		t.Fatal("a combustion car has no battery or plug fields")
	}
	resp, body = sim.b.post(page, url.Values{"odometer_km": {"100"}, "fuel_percent": {"25"}, "latitude": {"1"}, "longitude": {"2"},
		"battery_percent": {"90"}, "plugged_in": {"on"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	if got := s.simState(sim.appID, ice.VehicleID); math.Abs(got.FuelPercent-25) > 0.1 || got.BatteryPercent != 0 || got.PluggedIn {
		t.Fatalf("an ICE edit sets fuel only: %+v", got)
	}
	resp, body = sim.b.post(page, url.Values{"odometer_km": {"lots"}, "fuel_percent": {"25"}, "latitude": {"1"}, "longitude": {"2"}})
	wantStatus(t, resp, body, http.StatusUnprocessableEntity)
	wantBody(t, body, `value="lots"`, "Enter an odometer reading")
}

func TestSimulatorShowsCalls(t *testing.T) {
	s := newTestServer(t)
	sim := s.simulatorApp("calls@example.com")
	v := s.simVehicle(sim.appID, "TESLA", "Model 3", "")
	for _, call := range []models.VehicleCall{{Method: "get", Path: "/odometer", Status: 200}, {Method: "POST", Path: "/security", Status: 403}} {
		call.AppID, call.VehicleID = sim.appID, v.VehicleID
		if err := models.RecordVehicleCall(s.db, call); err != nil {
			t.Fatal(err)
		}
	}
	resp, body := sim.b.get(sim.base + "/" + v.VehicleID)
	wantStatus(t, resp, body, http.StatusOK)
	wantBody(t, body, ">GET<", ">/odometer<", ">200<", ">POST<", ">/security<", ">403<")
	if strings.Index(body, "/security") > strings.Index(body, "/odometer") {
		t.Fatal("calls are listed newest first")
	}
}

func TestSimulatorAccess(t *testing.T) {
	s := newTestServer(t)
	sim := s.simulatorApp("boss@example.com")
	v := s.simVehicle(sim.appID, "TESLA", "Model 3", "")
	page := sim.base + "/" + v.VehicleID
	create := url.Values{"owner": {"x@example.com"}, "make": {"TESLA"}, "model": {"Model S"}, "year": {"2022"}}
	edit := url.Values{"odometer_km": {"1"}, "battery_percent": {"1"}, "latitude": {"1"}, "longitude": {"1"}}

	analyst := s.signedIn(s.member(sim.owner, "analyst@example.com", models.RoleAnalyst))
	analyst.post("/orgs/switch", url.Values{"org_id": {sim.owner.OrgID}})
	for _, path := range []string{sim.base, page} {
		resp, body := analyst.get(path)
		wantStatus(t, resp, body, http.StatusOK)
		if strings.Contains(body, `method="post" action="`+path+`"`) {
			t.Fatalf("an analyst sees no forms on %s", path)
		}
	}
	for path, form := range map[string]url.Values{sim.base: create, page: edit} {
		resp, body := analyst.post(path, maps.Clone(form))
		wantStatus(t, resp, body, http.StatusForbidden)
	}

	other := s.signedIn(s.signup("other@example.com", "Other Org"))
	neighbour := s.simulatorApp("neighbour@example.com")
	notFound := []struct {
		b    *browser
		path string
		form url.Values
	}{
		{other, sim.base, create}, // another organisation's app
		{other, page, edit},       // and its vehicle
		{neighbour.b, neighbour.base + "/" + v.VehicleID, edit}, // another app's vehicle under one's own app
		{sim.b, sim.base + "/not-a-uuid", edit},
	}
	for _, tc := range notFound {
		resp, body := tc.b.get(tc.path)
		wantStatus(t, resp, body, http.StatusNotFound)
		resp, body = tc.b.post(tc.path, maps.Clone(tc.form))
		wantStatus(t, resp, body, http.StatusNotFound)
	}

	resp, body := sim.b.postRaw(sim.base, maps.Clone(create))
	wantStatus(t, resp, body, http.StatusForbidden)
	resp, body = sim.b.postRaw(page, maps.Clone(edit))
	wantStatus(t, resp, body, http.StatusForbidden)
	if states, _ := models.ListVehicleStates(s.db, sim.appID); len(states) != 1 || math.Abs(states[0].OdometerKm-1) < 0.5 {
		t.Fatalf("refused requests must change nothing: %+v", states)
	}
}
