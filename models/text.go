package models

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Text that arrives from outside (a path, a query string, a form, a JSON body) must be valid UTF-8
// without NUL: PostgreSQL refuses both in text values (SQLSTATE 22021) while SQLite stores them, and no
// person types them. The HTTP layer checks every input once with these rules, before any handler runs.

// Where a piece of text came from, for the message that names it.
const (
	TextInPath  = "path"
	TextInQuery = "query parameter"
	TextInForm  = "form field"
	TextInJSON  = "JSON field"
)

const (
	problemNUL  = "contains a NUL character"
	problemUTF8 = "is not valid UTF-8"
)

// maxNamedField bounds how much of a client-chosen field name is repeated back.
const maxNamedField = 64

// TextError is an input that is not text. When the name of a field is itself the problem (InName), it
// is not repeated: Field is then the JSON object holding it ("" for the body or a query or form).
type TextError struct {
	Source  string // TextInPath, TextInQuery, TextInForm or TextInJSON
	Field   string
	InName  bool
	Problem string
}

func (e *TextError) Error() string { return e.Message() }

// Message says which input is wrong and what to send instead, in a sentence.
func (e *TextError) Message() string {
	var what string
	switch {
	case e.Source == TextInPath:
		what = "The path"
	case e.InName && e.Source == TextInJSON && e.Field != "":
		what = "A key of the JSON field " + strconv.Quote(e.Field)
	case e.InName && e.Source == TextInJSON:
		what = "A key of the JSON body"
	case e.InName:
		what = "A " + e.Source + " name"
	case e.Source == TextInJSON && e.Field == "":
		what = "The JSON body"
	default:
		what = "The " + e.Source + " " + strconv.Quote(e.Field)
	}
	return what + " " + e.Problem + ". Send text as UTF-8 without NUL characters."
}

// CheckText returns a *TextError naming field (from source) when s is not valid UTF-8 or contains NUL.
func CheckText(source, field, s string) error {
	if p := textProblem(s); p != "" {
		return &TextError{Source: source, Field: shortField(field), Problem: p}
	}
	return nil
}

// CheckTextPair checks a name and its value (a query parameter, a form field): a bad name is reported
// without repeating it.
func CheckTextPair(source string, name, value []byte) error {
	if p := textProblem(string(name)); p != "" {
		return &TextError{Source: source, InName: true, Problem: p}
	}
	return CheckText(source, string(name), string(value))
}

// textProblem says what makes s unusable as text, or "".
func textProblem(s string) string {
	switch {
	case !utf8.ValidString(s):
		return problemUTF8
	case strings.IndexByte(s, 0) >= 0:
		return problemNUL
	}
	return ""
}

func shortField(name string) string {
	if len(name) <= maxNamedField {
		return name
	}
	cut := maxNamedField
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return name[:cut] + "…"
}

// CheckJSONText finds the first string of a JSON body (key or value) that is not valid UTF-8 or holds
// a NUL, raw or escaped as \u0000. The common case costs one utf8.Valid pass and two byte searches
// (the events API reads tens of thousands of events a second); only a body with a problem is walked
// token by token, to name the field.
func CheckJSONText(body []byte) error {
	at, problem := firstBadJSONText(body)
	if at < 0 {
		return nil
	}
	field, inKey := jsonFieldAt(body, at)
	return &TextError{Source: TextInJSON, Field: shortField(field), InName: inKey, Problem: problem}
}

// firstBadJSONText is the byte offset of the first problem in body and what it is, or -1.
func firstBadJSONText(body []byte) (int, string) {
	at, problem := -1, ""
	earlier := func(i int, p string) {
		if i >= 0 && (at < 0 || i < at) {
			at, problem = i, p
		}
	}
	if !utf8.Valid(body) {
		earlier(firstInvalidUTF8(body), problemUTF8)
	}
	earlier(bytes.IndexByte(body, 0), problemNUL)
	earlier(escapedNUL(body), problemNUL)
	return at, problem
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

// escapedNUL is the offset of the first \u0000 escape in body, or -1. "\\u0000" is an escaped
// backslash followed by text, not an escape: what counts is an odd run of backslashes before the u.
func escapedNUL(body []byte) int {
	pattern := []byte(`\u0000`)
	for from := 0; ; {
		i := bytes.Index(body[from:], pattern)
		if i < 0 {
			return -1
		}
		i += from
		run := 1
		for j := i - 1; j >= 0 && body[j] == '\\'; j-- {
			run++
		}
		if run%2 == 1 {
			return i
		}
		from = i + 1
	}
}

// jsonFrame is one open object or array while walking a JSON body.
type jsonFrame struct {
	array    bool
	key      string // objects: the key of the current value
	wantKey  bool   // objects: the next string is a key
	elements int    // arrays: elements started so far
}

// jsonFieldAt names the field whose token spans offset at (such as events[2].owner) and says whether
// the offset falls in a key. Walking stops at a syntax error, naming the field reached so far.
func jsonFieldAt(body []byte, at int) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var stack []jsonFrame
	for {
		tok, err := dec.Token()
		if err != nil {
			return jsonPath(stack), false
		}
		past := dec.InputOffset() > int64(at)
		var top *jsonFrame
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			endValue(stack)
			continue
		}
		if top != nil && !top.array && top.wantKey {
			if past { // the key itself: name the object holding it
				return jsonPath(stack[:len(stack)-1]), true
			}
			top.key, top.wantKey = tok.(string), false
			continue
		}
		if top != nil && top.array {
			top.elements++
		}
		if past {
			return jsonPath(stack), false
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, jsonFrame{wantKey: true})
		case json.Delim('['):
			stack = append(stack, jsonFrame{array: true})
		default:
			endValue(stack)
		}
	}
}

// endValue notes that the innermost container's current value is complete.
func endValue(stack []jsonFrame) {
	if n := len(stack); n > 0 && !stack[n-1].array {
		stack[n-1].wantKey = true
	}
}

func jsonPath(stack []jsonFrame) string {
	var b []byte
	for _, f := range stack {
		if f.array {
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(max(f.elements-1, 0)), 10)
			b = append(b, ']')
			continue
		}
		if len(b) > 0 {
			b = append(b, '.')
		}
		b = append(b, f.key...)
	}
	return string(b)
}
