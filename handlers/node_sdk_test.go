package handlers

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// smartcarScript drives Smartcar's official Node SDK against Keyfob (origins from the environment).
const smartcarScript = `
const smartcar = require('smartcar');
(async () => {
  const out = {};
  const client = new smartcar.AuthClient({ clientId: process.env.CLIENT_ID, clientSecret: process.env.CLIENT_SECRET,
    redirectUri: process.env.REDIRECT_URI, mode: 'test' });
  const access = await client.exchangeCode(process.env.CODE);
  const { vehicles } = await smartcar.getVehicles(access.accessToken);
  out.vehicles = vehicles.length;
  const v = new smartcar.Vehicle(vehicles[0], access.accessToken);
  const attributes = await v.attributes();
  out.make = attributes.make;
  out.odometerKm = (await v.odometer()).distance;
  const imperial = new smartcar.Vehicle(vehicles[0], access.accessToken, { unitSystem: 'imperial' });
  out.odometerMiles = (await imperial.odometer()).distance;
  out.permissions = (await v.permissions()).permissions;
  try { await v.location(); out.location = 'allowed'; } catch (e) { out.location = e.type; out.locationStatus = e.statusCode; }
  out.lock = (await v.lock()).status;
  const refreshed = await client.exchangeRefreshToken(access.refreshToken);
  out.refreshed = refreshed.accessToken !== access.accessToken && refreshed.refreshToken !== access.refreshToken;
  const current = new smartcar.Vehicle(vehicles[0], refreshed.accessToken);
  out.disconnect = (await current.disconnect()).status;
  try { await current.attributes(); out.afterDisconnect = 'allowed'; } catch (e) { out.afterDisconnect = e.statusCode; }
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
`

// TestSmartcarNodeSDK runs Smartcar's Node SDK (npm package smartcar) through exchangeCode →
// getVehicles → attributes → odometer (metric and imperial) → permissions → a refused location →
// lock → exchangeRefreshToken → disconnect, with only its origins pointed at Keyfob.
func TestSmartcarNodeSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("installs an npm package and runs Node")
	}
	node, errNode := exec.LookPath("node")
	npm, errNpm := exec.LookPath("npm")
	if errNode != nil || errNpm != nil {
		if os.Getenv("KEYFOB_REQUIRE_NODE") != "" {
			t.Fatal("Node.js and npm are required (KEYFOB_REQUIRE_NODE is set) but missing")
		}
		t.Skip("Node.js/npm not installed: the Smartcar SDK test needs them (apt-get install nodejs npm)")
	}
	dir := t.TempDir()
	install := exec.Command(npm, "install", "--no-audit", "--no-fund", "--prefix", dir, "smartcar@10")
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("npm install smartcar: %v\n%s", err, out)
	}
	script := filepath.Join(dir, "journey.js")
	os.WriteFile(script, []byte(smartcarScript), 0o644)

	s := newTestServer(t)
	base := s.serveForBrowser(t)
	app := s.connectApp(t)
	key := s.apiJSON("POST", "/api/v1/apps/"+app.id+"/api_keys", app.owner.Token, map[string]string{"name": "sdk", "environment": "test"}, 201)["key"].(string)
	code := s.apiJSON("POST", "/sandbox/public_token/create", key, map[string]any{"user_id": "sdk-owner", "make": "FORD", "redirect_uri": app.redirect,
		"scope": []string{"read_vehicle_info", "read_odometer", "read_security", "control_security"}}, 201)["public_token"].(string)

	cmd := exec.Command(node, script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SMARTCAR_AUTH_ORIGIN="+base, "SMARTCAR_API_ORIGIN="+base, "CLIENT_ID="+app.id,
		"CLIENT_SECRET="+app.secret, "REDIRECT_URI="+app.redirect, "CODE="+code, "NODE_PATH="+filepath.Join(dir, "node_modules"))
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if exit, ok := err.(*exec.ExitError); ok {
			stderr = string(exit.Stderr)
		}
		t.Fatalf("the SDK journey failed: %v\n%s\n%s", err, out, stderr)
	}
	var got struct {
		Vehicles        int      `json:"vehicles"`
		Make            string   `json:"make"`
		OdometerKm      float64  `json:"odometerKm"`
		OdometerMiles   float64  `json:"odometerMiles"`
		Permissions     []string `json:"permissions"`
		Location        string   `json:"location"`
		LocationStatus  int      `json:"locationStatus"`
		Lock            string   `json:"lock"`
		Refreshed       bool     `json:"refreshed"`
		Disconnect      string   `json:"disconnect"`
		AfterDisconnect any      `json:"afterDisconnect"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("SDK output: %s", out)
	}
	ratio := got.OdometerMiles / got.OdometerKm
	if got.Vehicles == 0 || got.Make != "FORD" || ratio < 0.62 || ratio > 0.623 || len(got.Permissions) != 4 ||
		got.Location != "PERMISSION" || got.LocationStatus != 403 || got.Lock != "success" || !got.Refreshed ||
		got.Disconnect != "success" || got.AfterDisconnect != float64(401) {
		t.Fatalf("SDK journey results: %+v", got)
	}
}
