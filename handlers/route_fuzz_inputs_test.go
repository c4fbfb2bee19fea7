package handlers

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"mime/multipart"
	"net/url"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// The route fuzz test's inputs: for each route a well-formed body (when it takes one), and the
// mutations made of it. Routes with no entry here still get every mutation that needs no template.

// fuzzTemplates are well-formed bodies by route, JSON or form fields; {app}, {org} and {user} are filled in.
var fuzzTemplates = map[string]string{
	"GET /oauth/authorize":                               `response_type=code&client_id={app}&redirect_uri=https://fleet.example.com/callback&scope=read_odometer&state=s&mode=test`,
	"GET /apps/:app/connect":                             `redirect_uri=https://fleet.example.com/callback&perm_read_odometer=on&state=s&format=json`,
	"GET /connect/preview/:app":                          `step=signin&button_color=%23ff0000&account_select=1&q=te`,
	"GET /link/result":                                   `state=x&code=y`,
	"POST /oauth/token":                                  `grant_type=authorization_code&code=kf_code_x&redirect_uri=https://fleet.example.com/callback&code_verifier=x`,
	"POST /connect/:session/brand":                       `make=TESLA`,
	"POST /connect/:session/signin":                      `email=driver@example.com&password=pw&sso=`,
	"POST /connect/:session/vehicles":                    `vehicle=v1`,
	"POST /connect/:session/permissions":                 `decision=allow&permission=read_odometer`,
	"POST /sandbox/public_token/create":                  `{"user_id":"owner-1","scope":["read_odometer"],"make":"FORD","redirect_uri":""}`,
	"POST /user":                                         `{"client_user_id":"crm-1"}`,
	"POST /link/token":                                   `{"user_id":"u","redirect_url":"https://fleet.example.com/callback","make":"FORD","scope":["read_odometer"]}`,
	"POST /v2.0/vehicles/:vehicle/charge":                `{"action":"START"}`,
	"POST /v2.0/vehicles/:vehicle/security":              `{"action":"LOCK"}`,
	"POST /api/v1/signup":                                `{"email":"new@example.com","password":"correct horse battery","name":"New","organization":"New Org"}`,
	"POST /api/v1/login":                                 `{"email":"nobody@example.com","password":"wrong password"}`,
	"POST /api/v1/events":                                `{"events":[{"id":"e1","session_id":"s1","owner":"o1","step":"started","occurred_at":"2026-01-01T00:00:00Z","make":"FORD","error":"","mode":"test"}]}`,
	"POST /api/v1/orgs/:org/members":                     `{"email":"added@example.com","role":"analyst"}`,
	"PATCH /api/v1/orgs/:org/members/:user":              `{"role":"designer"}`,
	"POST /api/v1/apps":                                  `{"name":"Fuzzed","description":"d","organization_id":"{org}"}`,
	"PATCH /api/v1/apps/:app":                            `{"name":"Renamed","description":"d"}`,
	"POST /api/v1/apps/:app/secrets":                     `{"expire_previous_in":3600}`,
	"POST /api/v1/apps/:app/redirect_uris":               `{"uri":"https://new.example.com/cb"}`,
	"POST /api/v1/apps/:app/api_keys":                    `{"name":"k","environment":"test"}`,
	"PUT /api/v1/apps/:app/branding/draft":               `{"button_color":"#123456","makes":["FORD","TESLA"],"account_select":true}`,
	"POST /signin":                                       `email=nobody@example.com&password=wrong&next=/apps`,
	"POST /signup":                                       `email=new2@example.com&password=correct+horse+battery&name=New&organization=Org`,
	"POST /account/password":                             `current_password=wrong+password&new_password=another+good+password`,
	"POST /orgs":                                         `name=Second+Org`,
	"POST /orgs/switch":                                  `org_id={org}`,
	"POST /members":                                      `email=added2@example.com&role=analyst`,
	"POST /members/:user/role":                           `role=designer`,
	"POST /apps":                                         `name=Console+App&description=d`,
	"POST /apps/:app":                                    `name=Renamed&description=d`,
	"POST /apps/:app/delete":                             `confirm=not+the+name`,
	"POST /apps/:app/secrets":                            `expire_previous_in=3600`,
	"POST /apps/:app/redirect-uris":                      `uri=https://console.example.com/cb`,
	"POST /apps/:app/api-keys":                           `name=k&environment=live`,
	"POST /apps/:app/simulator":                          `owner=o@example.com&make=FORD&model=Mustang+Mach-E&year=2024&vin=&powertrain=BEV`,
	"POST /apps/:app/simulator/:vehicle":                 `odometer_km=1200&latitude=52.5&longitude=13.4&battery_percent=50&plugged_in=on&charging=&locked=on`,
	"POST /apps/:app/branding":                           `button_color=%23336699&makes=FORD&makes=TESLA&op=add&add_make=BMW&account_select=on`,
	"POST /apps/:app/branding/versions/:version/restore": `op=rollback`,
}

// Hostile values. Long URL values are 1 kB, so that several still fit the server's 4 kB read buffer
// and reach the handlers (the 3 kB path segment and a 10 kB query check the 431 answer); bodies carry
// the 10 kB strings.
var (
	hostilePathValues = []string{"%00", "%FF%FE", "-1", "0", "99999999999999999999999999", "..", "%2e%2e%2f", "x.csv",
		strings.Repeat("z", 3000), "%20", "%27%20OR%201%3D1--", "%E2%80%AE", "%25", "null"}
	hostileQueryValues = []string{"%00", "%FF%FE", "-1", "0", "99999999999999999999", "-9223372036854775809", "1e309", "NaN",
		"2026-13-45", "9999-12-31", "0000-01-01", strings.Repeat("q", 1000), "", "%25zz", "[]", "true", "%E2%80%AE"}
	hostileStrings = []string{"\x00", "a\x00b", "\xff\xfe", strings.Repeat("x", 10_000), strings.Repeat("é", 5000), "-1",
		"99999999999999999999999", "1e309", "NaN", "", " ", "<script>alert(1)</script>", "../../etc/passwd", "\u202e", "javascript:alert(1)"}
	wrongJSONTypes = []string{`null`, `0`, `-1`, `1e400`, `99999999999999999999`, `-9223372036854775809`, `true`, `[]`, `{}`,
		`["x"]`, `{"a":"b"}`, `"` + strings.Repeat("y", 10_000) + `"`, `"\u0000"`, `1.5`}
	wrongJSONShapes = []string{`[]`, `null`, `123`, `"x"`, `[{}]`, `true`, `{"events":null}`, `{"":1}`}
	brokenJSON      = []string{`{"a":`, `{"a":1}}`, `{`, `nul`, "\xff\xfe", `{"a":"\x01"}`, `{"a":1,}`, strings.Repeat("[", 5000)}
	fuzzQueryKeys   = []string{"from", "to", "owner", "make", "mode", "q", "limit", "cursor", "sort", "include_sandbox", "app_id", "action",
		"next", "client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge", "code_challenge_method", "user",
		"single_select", "single_select_vin", "flags", "approval_prompt", "offset", "version", "step", "button_color", "account_select",
		"format", "width", "via", "code", "error", "error_description", "perm_read_odometer", "req_read_odometer", "application_id"}
)

// fuzzCase is one request: what it changes, and its parts. body builds the body with the caller's CSRF
// token (left out when noCSRF), so a token that changes between requests is always the current one.
type fuzzCase struct {
	what        string
	params      map[string]string
	query       string
	contentType string
	body        func(csrf string) []byte
	noCSRF      bool
	auth        string // replaces the caller's Authorization header
}

// fuzzBody is a route's template in its own encoding (a GET's is its query string).
type fuzzBody struct {
	json   map[string]any // nil for forms
	form   url.Values
	isJSON bool
	query  string
}

func templateFor(r fiber.Route, fill *strings.Replacer) fuzzBody {
	raw := fill.Replace(fuzzTemplates[r.Method+" "+r.Path])
	if r.Method == fiber.MethodHead {
		raw = fill.Replace(fuzzTemplates["GET "+r.Path])
	}
	if r.Method == fiber.MethodGet || r.Method == fiber.MethodHead {
		return fuzzBody{query: raw}
	}
	isJSON := strings.HasPrefix(r.Path, "/api/") || strings.HasPrefix(r.Path, "/v2.0/") || strings.HasPrefix(r.Path, "/sandbox/") ||
		r.Path == "/user" || r.Path == "/link/token"
	if isJSON {
		m := map[string]any{}
		if raw != "" {
			dec := json.NewDecoder(strings.NewReader(raw))
			dec.UseNumber()
			dec.Decode(&m)
		}
		return fuzzBody{json: m, isJSON: true}
	}
	form, _ := url.ParseQuery(raw)
	return fuzzBody{form: form}
}

func (b fuzzBody) fields() []string {
	if b.isJSON {
		return sortedKeys(b.json)
	}
	return sortedKeys(b.form)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// rawJSON stands for a JSON value written into the body as it is (a wrong type, invalid UTF-8).
type rawJSON string

func jsonBody(m map[string]any) func(string) []byte {
	return func(string) []byte {
		var raws []string
		shadow := map[string]any{}
		for k, v := range m {
			if r, ok := v.(rawJSON); ok {
				v = "\x01raw" + string(rune('A'+len(raws)))
				raws = append(raws, string(r))
			}
			shadow[k] = v
		}
		out, _ := json.Marshal(shadow)
		for i, r := range raws {
			out = bytes.Replace(out, []byte(`"\u0001raw`+string(rune('A'+i))+`"`), []byte(r), 1)
		}
		return out
	}
}

// formBody is form urlencoded, with the caller's CSRF token when it has one.
func formBody(form url.Values) func(string) []byte {
	return func(csrf string) []byte {
		f := cloneForm(form)
		if csrf != "" {
			f.Set("_csrf", csrf)
		}
		return []byte(f.Encode())
	}
}

// multipartBody is a form as multipart, with a logo part (the console and API upload it this way).
func multipartBody(form url.Values, logo []byte) (func(string) []byte, string) {
	boundary := "fuzzboundary7MA4YWxkTrZu0gW"
	return func(csrf string) []byte {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.SetBoundary(boundary)
		for _, k := range sortedKeys(form) {
			for _, v := range form[k] {
				mw.WriteField(k, v)
			}
		}
		if csrf != "" {
			mw.WriteField("_csrf", csrf)
		}
		if logo != nil {
			part, _ := mw.CreateFormFile("logo", "logo.png")
			part.Write(logo)
		}
		mw.Close()
		return buf.Bytes()
	}, "multipart/form-data; boundary=" + boundary
}

func cloneJSON(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func cloneForm(f url.Values) url.Values {
	out := url.Values{}
	for k, v := range f {
		out[k] = slices.Clone(v)
	}
	return out
}

func pick[T any](rng *rand.Rand, from []T) T { return from[rng.IntN(len(from))] }

// fillPath puts values (already URL-escaped) in place of a route's :params (routeParamName, outage_test.go).
func fillPath(path string, values map[string]string) string {
	return routeParamName.ReplaceAllStringFunc(path, func(p string) string { return values[p[1:]] })
}

// hostileQuery is a query string of n parameters from the keys handlers read, with hostile values.
func hostileQuery(rng *rand.Rand, n int) string {
	var parts []string
	for range n {
		parts = append(parts, pick(rng, fuzzQueryKeys)+"="+pick(rng, hostileQueryValues))
	}
	return strings.Join(parts, "&")
}
