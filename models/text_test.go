package models

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheckText(t *testing.T) {
	for _, tc := range []struct {
		in      string
		problem string
	}{
		{"", ""},
		{"owner-42", ""},
		{"Zoë ＝ 車 🚗", ""},
		{"\x01\t\n", ""}, // control characters are a field's own rule (validLabel), not the boundary's
		{"a\x00b", problemNUL},
		{"\x00", problemNUL},
		{"\xff\xfe", problemUTF8},
		{"caf\xe9", problemUTF8},
		{"\xed\xa0\x80", problemUTF8}, // a UTF-16 surrogate encoded as UTF-8
		{"\xc0\xaf", problemUTF8},     // overlong "/"
	} {
		err := CheckText(TextInQuery, "owner", tc.in)
		var te *TextError
		switch {
		case tc.problem == "" && err != nil:
			t.Errorf("CheckText(%q) = %v, want nil", tc.in, err)
		case tc.problem != "" && (!errors.As(err, &te) || te.Problem != tc.problem || te.Field != "owner"):
			t.Errorf("CheckText(%q) = %#v, want %q on owner", tc.in, err, tc.problem)
		}
	}
}

func TestTextErrorMessages(t *testing.T) {
	for _, tc := range []struct {
		err  TextError
		want string
	}{
		{TextError{Source: TextInPath, Problem: problemUTF8}, "The path is not valid UTF-8."},
		{TextError{Source: TextInQuery, Field: "owner", Problem: problemNUL}, `The query parameter "owner" contains a NUL character.`},
		{TextError{Source: TextInForm, InName: true, Problem: problemNUL}, "A form field name contains a NUL character."},
		{TextError{Source: TextInJSON, Field: "events[2]", InName: true, Problem: problemNUL}, `A key of the JSON field "events[2]" contains`},
		{TextError{Source: TextInJSON, InName: true, Problem: problemUTF8}, "A key of the JSON body is not valid UTF-8."},
		{TextError{Source: TextInJSON, Problem: problemUTF8}, "The JSON body is not valid UTF-8."},
	} {
		if got := tc.err.Message(); !strings.HasPrefix(got, tc.want) || !strings.HasSuffix(got, "without NUL characters.") {
			t.Errorf("%+v: message %q, want it to start %q", tc.err, got, tc.want)
		}
	}
}

func TestCheckTextPairNeverRepeatsABadName(t *testing.T) {
	err := CheckTextPair(TextInForm, []byte("zq\xffzq"), []byte("value"))
	var te *TextError
	if !errors.As(err, &te) || !te.InName || te.Field != "" || strings.Contains(te.Message(), "zq") {
		t.Fatalf("bad name: %#v", err)
	}
	err = CheckTextPair(TextInForm, []byte("name"), []byte("v\x00"))
	if !errors.As(err, &te) || te.InName || te.Field != "name" {
		t.Fatalf("bad value: %#v", err)
	}
	long := strings.Repeat("é", 100)
	err = CheckTextPair(TextInForm, []byte(long), []byte("\x00"))
	if !errors.As(err, &te) || !utf8.ValidString(te.Field) || len(te.Field) > maxNamedField+len("…") {
		t.Fatalf("a long name is shortened on a rune boundary: %q", te.Field)
	}
}

func TestCheckJSONTextNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		body   string
		field  string // "-" means no problem
		inName bool
	}{
		{`{"name":"Fleet","n":1e999,"ok":[true,null]}`, "-", false},
		{`{"name":"a\\u0000b"}`, "-", false},  // an escaped backslash, then text
		{`{"name":"a\\\\u0000"}`, "-", false}, // two escaped backslashes, then text
		{`{"name":"a\u0000b"}`, "name", false},
		{`{"name":"a\\\u0000b"}`, "name", false}, // an escaped backslash, then an escaped NUL
		{"{\"name\":\"\xff\"}", "name", false},
		{`{"events":[{"id":"1"},{"id":"2","owner":"\u0000"}]}`, "events[1].owner", false},
		{"{\"events\":[{\"id\":\"1\"},{\"o\xffwner\":\"x\"}]}", "events[1]", true},
		{`{"a\u0000":1}`, "", true},
		{`["x", "y\u0000"]`, "[1]", false},
		{`"\u0000"`, "", false},
		{`{"a":{"b":[1,[2,"\u0000"]]}}`, "a.b[1][1]", false},
		{`{"a":1,"b":"` + "\xfe" + `"}`, "b", false},
		{"{\"a\":\x00}", "a", false},       // a raw NUL is not JSON at all, still named where it is
		{`{"a": "x"` + "\xff", "a", false}, // invalid UTF-8 where JSON breaks: the field reached
	} {
		err := CheckJSONText([]byte(tc.body))
		if tc.field == "-" {
			if err != nil {
				t.Errorf("%s: %v, want nil", tc.body, err)
			}
			continue
		}
		var te *TextError
		if !errors.As(err, &te) || te.Source != TextInJSON || te.InName != tc.inName || te.Field != tc.field {
			t.Errorf("%q: %#v, want field %q (in name %v)", tc.body, err, tc.field, tc.inName)
		}
	}
}

// FuzzCheckText: the checker refuses exactly the strings that are not UTF-8 or hold NUL, and its
// message is always text a person (and PostgreSQL) can take.
func FuzzCheckText(f *testing.F) {
	for _, s := range []string{"", "owner", "\x00", "\xff\xfe", "ok\xe2\x82", "Zoë", strings.Repeat("x", 100) + "\x00"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		err := CheckTextPair(TextInQuery, []byte(name), []byte(value))
		bad := func(s string) bool { return !utf8.ValidString(s) || strings.Contains(s, "\x00") }
		if (err != nil) != (bad(name) || bad(value)) {
			t.Fatalf("CheckTextPair(%q, %q) = %v", name, value, err)
		}
		if err != nil && bad(err.Error()) {
			t.Fatalf("the message is not text: %q", err.Error())
		}
	})
}

// FuzzCheckJSONText: a body that passes holds no string with NUL (what PostgreSQL refuses), and a
// valid JSON body with such a string never passes; the message is always text.
func FuzzCheckJSONText(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":"\u0000"}`, `{"a":"\\u0000"}`, "{\"a\":\"\xff\"}", `[{"x":[1,"\u0000"]}]`,
		`{"events":[{"id":"e1","owner":"o","step":"started"}]}`, `{"a\u0000b":1}`, `"\ud800"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		err := CheckJSONText(body)
		if err != nil {
			if msg := err.Error(); !utf8.ValidString(msg) || strings.Contains(msg, "\x00") {
				t.Fatalf("the message is not text: %q", msg)
			}
			return
		}
		if !utf8.Valid(body) || strings.Contains(string(body), "\x00") {
			t.Fatalf("passed a body that is not text: %q", body)
		}
		var v any
		if json.Unmarshal(body, &v) == nil && holdsNUL(v) {
			t.Fatalf("passed a body whose strings hold NUL: %q", body)
		}
	})
}

func holdsNUL(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.Contains(x, "\x00")
	case []any:
		for _, e := range x {
			if holdsNUL(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range x {
			if strings.Contains(k, "\x00") || holdsNUL(e) {
				return true
			}
		}
	}
	return false
}

// BenchmarkCheckJSONText is the boundary's cost on a full events batch (1,000 events, ~190 kB): the
// events API takes tens of thousands of events a second, so the clean case must stay a byte scan.
func BenchmarkCheckJSONText(b *testing.B) {
	var buf strings.Builder
	buf.WriteString(`{"events":[`)
	for i := range 1000 {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`{"id":"evt-` + strings.Repeat("0", 8) + `","session_id":"sess-0001","owner":"Zoë owner","step":"launched","occurred_at":"2026-11-23T17:00:00Z","make":"TESLA","mode":"test"}`)
	}
	buf.WriteString(`]}`)
	body := []byte(buf.String())
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := CheckJSONText(body); err != nil {
			b.Fatal(err)
		}
	}
}
