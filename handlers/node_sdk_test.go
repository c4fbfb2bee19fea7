package handlers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"keyfob/models"
)

// smartcarScript calls every public method of Smartcar's Node SDK (smartcar@10) against Keyfob, origins from
// the environment. Each call's outcome is recorded under the method's name: its answer, or {error: type,
// code, status}. Methods Keyfob does not serve are called too (they end in 404s), except those that would
// leave this machine: getConnections and deleteConnections talk to a management origin only the webhooks
// work serves.
const smartcarScript = `
const smartcar = require('smartcar');
const env = process.env;
const out = {};
const call = async (name, fn) => {
  try { out[name] = await fn(); } catch (e) { out[name] = { error: e.type || e.name, code: e.code, status: e.statusCode, detail: e.detail }; }
};
(async () => {
  const client = new smartcar.AuthClient({ clientId: env.CLIENT_ID, clientSecret: env.CLIENT_SECRET, redirectUri: env.REDIRECT_URI, mode: 'test' });
  out.getAuthUrl = client.getAuthUrl(['read_odometer', 'read_vin'], { state: 'st', forcePrompt: true, makeBypass: 'KIA', user: 'u1',
    singleSelect: { vin: '5YJ3E1EA7RF317580' }, flags: { country: 'US' } });
  smartcar.setApiVersion('2.0');
  out.getApiVersion = smartcar.getApiVersion();
  const access = await client.exchangeCode(env.CODE_EV);
  out.exchangeCode = { access: !!access.accessToken, refresh: !!access.refreshToken, expiration: access.expiration > new Date() };
  await call('getUser', () => smartcar.getUser(access.accessToken));
  await call('getVehicles', () => smartcar.getVehicles(access.accessToken, { limit: 1, offset: 0 }));
  const v = new smartcar.Vehicle(env.EV_VEHICLE, access.accessToken);
  for (const m of ['attributes', 'vin', 'odometer', 'battery', 'batteryCapacity', 'charge', 'location', 'tirePressure',
    'lockStatus', 'getChargeLimit', 'nominalCapacity', 'serviceHistory', 'diagnosticSystemStatus', 'diagnosticTroubleCodes',
    'getSignals']) {
    await call(m, () => v[m]());
  }
  await call('odometerImperial', () => new smartcar.Vehicle(env.EV_VEHICLE, access.accessToken, { unitSystem: 'imperial' }).odometer());
  await call('permissions', () => v.permissions({ limit: 2, offset: 1 }));
  await call('lock', () => v.lock());
  await call('lockStatusLocked', () => v.lockStatus());
  await call('unlock', () => v.unlock());
  await call('startCharge', () => v.startCharge());
  await call('stopCharge', () => v.stopCharge());
  await call('setChargeLimit', () => v.setChargeLimit(0.8));
  await call('getChargeLimitAfter', () => v.getChargeLimit());
  await call('setChargeLimitTooLow', () => v.setChargeLimit(0.3));
  await call('request', () => v.request('get', 'odometer', null, { 'sc-unit-system': 'imperial' }));
  await call('sendDestination', () => v.sendDestination(37.77, -122.42));
  await call('getSignal', () => v.getSignal('odometer-traveleddistance'));
  await call('subscribe', () => v.subscribe('00000000-0000-4000-8000-000000000000'));
  await call('unsubscribe', () => v.unsubscribe('amt', '00000000-0000-4000-8000-000000000000'));
  await call('getVehicle', () => smartcar.getVehicle(access.accessToken, env.EV_VEHICLE));
  try {
    const b = await v.batch(['/odometer', '/security', '/', '/charge/limit', '/fuel', '/nothing-here']);
    const get = (name) => { try { return b[name](); } catch (e) { return { error: e.type, code: e.code }; } };
    out.batch = { odometer: get('odometer'), lockStatus: get('lockStatus'), attributes: get('attributes'),
      chargeLimit: get('chargeLimit'), fuel: get('fuel'), nothingHere: get('nothingHere') };
  } catch (e) { out.batch = { error: e.type, status: e.statusCode }; }

  const credentials = { clientId: env.CLIENT_ID, clientSecret: env.CLIENT_SECRET };
  await call('getCompatibility', () => smartcar.getCompatibility(env.TESLA_VIN, ['read_odometer', 'read_fuel'], 'US', credentials));
  await call('getCompatibilityTestMode', () => smartcar.getCompatibility('0SCAUDI012FE3B132', ['read_vin', 'read_odometer'],
    { ...credentials, testModeCompatibilityLevel: 'incompatible' }));
  await call('getCompatibilityBadSecret', () => smartcar.getCompatibility(env.TESLA_VIN, ['read_vin'], 'US', { ...credentials, clientSecret: 'x' }));
  await call('getCompatibilityMatrix', () => smartcar.getCompatibilityMatrix('US', { ...credentials, make: 'TESLA', type: 'BEV', scope: ['read_battery'] }));
  out.hashChallenge = smartcar.hashChallenge('amt-secret', 'challenge-1');
  out.verifyPayload = smartcar.verifyPayload('amt-secret', smartcar.hashChallenge('amt-secret', JSON.stringify({ a: 1 })), { a: 1 });

  const fuelAccess = await client.exchangeCode(env.CODE_ICE);
  const ice = new smartcar.Vehicle(env.ICE_VEHICLE, fuelAccess.accessToken);
  await call('fuel', () => ice.fuel());
  await call('engineOil', () => ice.engineOil());
  await call('iceChargeLimit', () => ice.getChargeLimit());
  await call('iceLocation', () => ice.location());

  const refreshed = await client.exchangeRefreshToken(access.refreshToken);
  out.exchangeRefreshToken = refreshed.accessToken !== access.accessToken && refreshed.refreshToken !== access.refreshToken;
  const current = new smartcar.Vehicle(env.EV_VEHICLE, refreshed.accessToken);
  await call('disconnect', () => current.disconnect());
  await call('afterDisconnect', () => current.attributes());
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
`

// sdkResults is the script's output: each method's answer or error, as JSON.
type sdkResults map[string]json.RawMessage

// get decodes one result into a map (an error is {error, code, status}).
func (r sdkResults) get(t *testing.T, name string) map[string]any {
	t.Helper()
	out := map[string]any{}
	if err := json.Unmarshal(r[name], &out); err != nil {
		t.Fatalf("%s: %s", name, r[name])
	}
	return out
}

// want checks the fields of one result, rendered with fmt.Sprint.
func (r sdkResults) want(t *testing.T, name string, fields map[string]string) {
	t.Helper()
	got := r.get(t, name)
	for k, v := range fields {
		if fmt.Sprint(got[k]) != v {
			t.Errorf("%s.%s = %v, want %s (whole answer %s)", name, k, got[k], v, r[name])
		}
	}
}

// TestSmartcarNodeSDK runs every public method of Smartcar's Node SDK (npm smartcar@10) with only its origins
// pointed at Keyfob; the README's table of methods is this test's expectations.
func TestSmartcarNodeSDK(t *testing.T) {
	node, dir := nodeWith(t, "smartcar@10")
	s := newTestServer(t)
	base := s.serveForBrowser(t)
	app := s.connectApp(t)
	key := s.apiJSON("POST", "/api/v1/apps/"+app.id+"/api_keys", app.owner.Token, map[string]string{"name": "sdk", "environment": "test"}, 201)["key"].(string)
	codeFor := func(owner, makeID string, scope []string) string {
		return s.apiJSON("POST", "/sandbox/public_token/create", key, map[string]any{"user_id": owner, "make": makeID,
			"redirect_uri": app.redirect, "scope": scope}, 201)["public_token"].(string)
	}
	evCode := codeFor("sdk-owner", "TESLA", allScopes)
	ev := models.SimulatedVehicles("sdk-owner", "TESLA")[0]
	half, yes := 50.0, true
	if _, err := models.UpdateVehicleState(s.db, app.id, ev.ID, models.VehicleStatePatch{BatteryPercent: &half, PluggedIn: &yes}); err != nil {
		t.Fatal(err)
	}
	iceOwner, iceID := ownerWith(t, "FORD", models.ICE)
	iceCode := codeFor(iceOwner, "FORD", []string{"read_vehicle_info", "read_fuel", "read_engine_oil", "read_charge"})

	out := runNode(t, node, dir, "journey.js", smartcarScript, "SMARTCAR_AUTH_ORIGIN="+base, "SMARTCAR_API_ORIGIN="+base,
		"SMARTCAR_API_V3_ORIGIN="+base, "CLIENT_ID="+app.id, "CLIENT_SECRET="+app.secret, "REDIRECT_URI="+app.redirect,
		"CODE_EV="+evCode, "CODE_ICE="+iceCode, "EV_VEHICLE="+ev.ID, "ICE_VEHICLE="+iceID, "TESLA_VIN=5YJ3E1EA7RF317580")
	t.Logf("SDK results: %s", out)
	r := sdkResults{}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("SDK output: %s", out)
	}
	checkSDKAuthAndAccount(t, r, base, app)
	checkSDKVehicleReads(t, r, s, app.id, ev)
	checkSDKCommands(t, r)
	checkSDKBatchAndCompatibility(t, r)
	checkSDKNotServed(t, r)
}

func checkSDKAuthAndAccount(t *testing.T, r sdkResults, base string, app connectApp) {
	var authURL string
	json.Unmarshal(r["getAuthUrl"], &authURL)
	u, err := url.Parse(authURL)
	q := u.Query()
	if err != nil || !strings.HasPrefix(authURL, base+"/oauth/authorize?") || q.Get("client_id") != app.id || q.Get("scope") != "read_odometer read_vin" ||
		q.Get("approval_prompt") != "force" || q.Get("single_select_vin") != "5YJ3E1EA7RF317580" || q.Get("mode") != "test" {
		t.Errorf("getAuthUrl: %s", authURL)
	}
	if string(r["getApiVersion"]) != `"2.0"` || string(r["exchangeRefreshToken"]) != "true" {
		t.Errorf("getApiVersion %s, exchangeRefreshToken %s", r["getApiVersion"], r["exchangeRefreshToken"])
	}
	r.want(t, "exchangeCode", map[string]string{"access": "true", "refresh": "true", "expiration": "true"})
	if user := r.get(t, "getUser"); !models.IsUUID(fmt.Sprint(user["id"])) {
		t.Errorf("getUser: %s", r["getUser"])
	}
	r.want(t, "getVehicles", map[string]string{"paging": fmt.Sprintf("map[count:%d offset:0]", len(models.SimulatedVehicles("sdk-owner", "TESLA")))})
	if vehicles, _ := r.get(t, "getVehicles")["vehicles"].([]any); len(vehicles) != 1 {
		t.Errorf("getVehicles with limit 1: %s", r["getVehicles"])
	}
}

func checkSDKVehicleReads(t *testing.T, r sdkResults, s *testServer, appID string, ev models.Vehicle) {
	st, _ := models.LoadVehicleState(s.db, appID, ev.ID)
	r.want(t, "attributes", map[string]string{"id": ev.ID, "make": "TESLA", "model": ev.Model})
	r.want(t, "vin", map[string]string{"vin": ev.VIN})
	km, miles := r.get(t, "odometer")["distance"].(float64), r.get(t, "odometerImperial")["distance"].(float64)
	if ratio := miles / km; ratio < 0.62 || ratio > 0.623 || !strings.Contains(string(r["odometerImperial"]), `"unitSystem":"imperial"`) {
		t.Errorf("odometer %v km, %v miles: %s", km, miles, r["odometerImperial"])
	}
	for _, m := range []string{"battery", "batteryCapacity", "location", "tirePressure"} {
		if got := r.get(t, m); got["error"] != nil || got["meta"] == nil {
			t.Errorf("%s: %s", m, r[m])
		}
	}
	r.want(t, "charge", map[string]string{"isPluggedIn": "true", "state": "NOT_CHARGING"})
	r.want(t, "getChargeLimit", map[string]string{"limit": "1"})
	r.want(t, "lockStatus", map[string]string{"isLocked": "true", "sunroof": "[]",
		"chargingPort": "[map[status:OPEN type:chargingPort]]", "storage": "[map[status:CLOSED type:front] map[status:CLOSED type:rear]]"})
	if doors, _ := r.get(t, "lockStatus")["doors"].([]any); len(doors) != 4 || st.Security().Doors[0].Status != "CLOSED" {
		t.Errorf("lockStatus doors: %s", r["lockStatus"])
	}
	r.want(t, "permissions", map[string]string{"permissions": fmt.Sprint(allScopes[1:3]), "paging": fmt.Sprintf("map[count:%d offset:1]", len(allScopes))})
	r.want(t, "fuel", map[string]string{"error": "<nil>"})
	r.want(t, "engineOil", map[string]string{"error": "<nil>"})
	r.want(t, "iceChargeLimit", map[string]string{"error": "COMPATIBILITY", "code": "VEHICLE_NOT_CAPABLE", "status": "501"})
	r.want(t, "iceLocation", map[string]string{"error": "PERMISSION", "status": "403"})
	if body := r.get(t, "request")["body"].(map[string]any); body["distance"] == nil {
		t.Errorf("request: %s", r["request"])
	}
}

func checkSDKCommands(t *testing.T, r sdkResults) {
	for _, m := range []string{"lock", "unlock", "startCharge", "stopCharge", "setChargeLimit", "disconnect"} {
		r.want(t, m, map[string]string{"status": "success"})
	}
	r.want(t, "lockStatusLocked", map[string]string{"isLocked": "true"})
	r.want(t, "getChargeLimitAfter", map[string]string{"limit": "0.8"})
	r.want(t, "setChargeLimitTooLow", map[string]string{"error": "VALIDATION", "status": "400"})
	r.want(t, "afterDisconnect", map[string]string{"error": "AUTHENTICATION", "status": "401"})
}

func checkSDKBatchAndCompatibility(t *testing.T, r sdkResults) {
	batch := r.get(t, "batch")
	want := map[string]string{"lockStatus": "isLocked", "attributes": "make", "chargeLimit": "limit", "odometer": "distance"}
	for name, field := range want {
		item, _ := batch[name].(map[string]any)
		if item == nil || item[field] == nil || item["meta"] == nil {
			t.Errorf("batch %s: %v", name, batch[name])
		}
	}
	if fmt.Sprint(batch["fuel"]) != "map[code:VEHICLE_NOT_CAPABLE error:COMPATIBILITY]" ||
		fmt.Sprint(batch["nothingHere"]) != "map[code:PATH error:RESOURCE_NOT_FOUND]" {
		t.Errorf("batch errors: fuel %v, unknown path %v", batch["fuel"], batch["nothingHere"])
	}
	r.want(t, "getCompatibility", map[string]string{"compatible": "true", "reason": "<nil>",
		"capabilities": "[map[capable:true endpoint:/odometer permission:read_odometer reason:<nil>] map[capable:false endpoint:/fuel permission:read_fuel reason:VEHICLE_NOT_CAPABLE]]"})
	r.want(t, "getCompatibilityTestMode", map[string]string{"compatible": "true",
		"capabilities": "[map[capable:true endpoint:/vin permission:read_vin reason:<nil>] map[capable:false endpoint:/odometer permission:read_odometer reason:SMARTCAR_NOT_CAPABLE]]"})
	r.want(t, "getCompatibilityBadSecret", map[string]string{"error": "AUTHENTICATION", "status": "401"})
	if tesla, _ := r.get(t, "getCompatibilityMatrix")["TESLA"].([]any); len(tesla) != 4 {
		t.Errorf("getCompatibilityMatrix: %s", r["getCompatibilityMatrix"])
	}
	mac := hmac.New(sha256.New, []byte("amt-secret"))
	mac.Write([]byte("challenge-1"))
	if string(r["hashChallenge"]) != `"`+hex.EncodeToString(mac.Sum(nil))+`"` || string(r["verifyPayload"]) != "true" {
		t.Errorf("hashChallenge %s, verifyPayload %s", r["hashChallenge"], r["verifyPayload"])
	}
}

// checkSDKNotServed: what Keyfob does not simulate answers a 404, never a wrong 200.
func checkSDKNotServed(t *testing.T, r sdkResults) {
	for _, m := range []string{"nominalCapacity", "serviceHistory", "diagnosticSystemStatus", "diagnosticTroubleCodes",
		"sendDestination", "subscribe", "unsubscribe", "getSignals", "getSignal", "getVehicle"} {
		r.want(t, m, map[string]string{"status": "404"})
	}
}
