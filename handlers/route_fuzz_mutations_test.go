package handlers

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/png"
	"math/rand/v2"
	"strconv"
	"strings"
)

// fuzzLogo is a small valid PNG for the upload routes' well-formed request.
var fuzzLogo = func() []byte {
	var buf bytes.Buffer
	png.Encode(&buf, image.NewNRGBA(image.Rect(0, 0, 16, 16)))
	return buf.Bytes()
}()

// encode is the template as its route expects it: JSON, a urlencoded form, or multipart with a logo.
func (b fuzzBody) encode(upload bool) (string, func(string) []byte) {
	switch {
	case upload:
		body, ct := multipartBody(b.form, fuzzLogo)
		return ct, body
	case b.isJSON:
		return "application/json", jsonBody(b.json)
	}
	return "application/x-www-form-urlencoded", formBody(b.form)
}

// withField is the template with field set to v (a string, or rawJSON for a JSON route), or removed
// when remove is set.
func (b fuzzBody) withField(field string, v any, remove bool) (string, func(string) []byte) {
	if b.isJSON {
		m := cloneJSON(b.json)
		if remove {
			delete(m, field)
		} else {
			m[field] = v
		}
		return "application/json", jsonBody(m)
	}
	f := cloneForm(b.form)
	if remove {
		f.Del(field)
	} else if s, ok := v.(string); ok {
		f.Set(field, s)
	}
	return "application/x-www-form-urlencoded", formBody(f)
}

// mutations are the malformed bodies: fields missing, hostile, of the wrong type or 10 kB long; the
// wrong shape, broken JSON, the wrong content type, no body, no CSRF token.
func (b fuzzBody) mutations(rng *rand.Rand, real map[string]string, upload bool) []fuzzCase {
	var out []fuzzCase
	add := func(what, ct string, body func(string) []byte) {
		out = append(out, fuzzCase{what: what, params: real, contentType: ct, body: body})
	}
	fixed := func(raw string) func(string) []byte { return func(string) []byte { return []byte(raw) } }
	if fields := b.fields(); len(fields) > 0 {
		f := pick(rng, fields)
		ct, body := b.withField(f, nil, true)
		add("without "+f, ct, body)
		f, v := pick(rng, fields), pick(rng, hostileStrings)
		ct, body = b.withField(f, v, false)
		add(f+" = "+quoted(v), ct, body)
		f, v = pick(rng, fields), pick(rng, []string{"\x00", "\xff\xfe"})
		ct, body = b.withField(f, v, false)
		add(f+" = "+quoted(v), ct, body)
		f = pick(rng, fields)
		ct, body = b.wrongType(rng, f)
		add(f+" of the wrong type", ct, body)
		ct, body = b.everyField(strings.Repeat("w", 10_000))
		add("10 kB in every field", ct, body)
	}
	empty := fuzzBody{json: map[string]any{}, form: nil, isJSON: b.isJSON}
	ct, body := empty.encode(false)
	add("no fields", ct, body)
	add("JSON of the wrong shape", "application/json", fixed(pick(rng, wrongJSONShapes)))
	add("broken JSON", "application/json", fixed(pick(rng, brokenJSON)))
	add("form body", "application/x-www-form-urlencoded", fixed("a=1&&=&%zz=%&name=x&name=y"))
	add("text/plain body", "text/plain", fixed(`{"name":"x"}`))
	add("no body", "", nil)
	add("empty JSON body", "application/json", fixed(""))
	if upload {
		html, ct := multipartBody(nil, []byte("<html><script>alert(1)</script></html>"))
		add("an HTML logo", ct, html)
		none, ct := multipartBody(b.form, nil)
		add("no logo part", ct, none)
		add("a broken multipart body", "multipart/form-data; boundary=x", fixed("--x\r\nContent-Disposition: form-data; name=\"logo\"\r\n\r\n"))
	} else {
		mp, ct := multipartBody(b.form, nil)
		add("as multipart", ct, mp)
	}
	ct, body = b.encode(upload)
	out = append(out, fuzzCase{what: "no CSRF token", params: real, contentType: ct, body: body, noCSRF: true})
	return out
}

// withHostileParam is the template's query with one parameter's value replaced by a hostile one.
func (b fuzzBody) withHostileParam(rng *rand.Rand) string {
	parts := strings.Split(b.query, "&")
	i := rng.IntN(len(parts))
	name, _, _ := strings.Cut(parts[i], "=")
	parts[i] = name + "=" + pick(rng, hostileQueryValues)
	return strings.Join(parts, "&")
}

// wrongType puts a value of another JSON type in field, or for a form repeats the field with an
// extreme value.
func (b fuzzBody) wrongType(rng *rand.Rand, field string) (string, func(string) []byte) {
	if b.isJSON {
		return b.withField(field, rawJSON(pick(rng, wrongJSONTypes)), false)
	}
	f := cloneForm(b.form)
	f.Add(field, pick(rng, []string{"-1", "99999999999999999999", "1e309", "NaN", "-9223372036854775809"}))
	return "application/x-www-form-urlencoded", formBody(f)
}

func (b fuzzBody) everyField(v string) (string, func(string) []byte) {
	if b.isJSON {
		m := cloneJSON(b.json)
		for k := range m {
			m[k] = v
		}
		return "application/json", jsonBody(m)
	}
	f := cloneForm(b.form)
	for k := range f {
		f.Set(k, v)
	}
	return "application/x-www-form-urlencoded", formBody(f)
}

func quoted(s string) string { return shorten(strconv.QuoteToASCII(s)) }

// hostileCredentials are Authorization headers that are not what they claim: Basic credentials that
// decode to NUL or invalid UTF-8, bearer tokens of the wrong shape.
var hostileCredentials = []string{
	"Basic " + base64.StdEncoding.EncodeToString([]byte("\x00:\xff")),
	"Basic " + base64.StdEncoding.EncodeToString([]byte("%00:%FF%FE")),
	"Basic " + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("i", 2000)+":"+strings.Repeat("s", 500))),
	"Basic !!!notbase64", "Basic", "Bearer", "Bearer \xff\xfe", "Bearer kf_live_" + strings.Repeat("A", 1500),
	"Bearer kf_test_AAAA.AAAA", "Bearer kf_at_%00",
}
