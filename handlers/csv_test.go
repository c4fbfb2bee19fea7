package handlers

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"

	"keyfob/models"
)

// Issue 10 item 10: every way a spreadsheet can be made to read a text cell as a formula.
var csvCellCases = []struct{ in, want string }{
	{"", ""},
	{"alice", "alice"},
	{"owner =1", "owner =1"},
	{"a-b", "a-b"},
	{"=1+1", "'=1+1"},
	{"+1+1", "'+1+1"},
	{"-1+1", "'-1+1"},
	{"@SUM(A1)", "'@SUM(A1)"},
	{`=HYPERLINK("x")`, `'=HYPERLINK("x")`},
	{" =1+1", "' =1+1"},
	{"   @x", "'   @x"},
	{"\u00a0=1", "'\u00a0=1"}, // no-break space
	{"\u3000=1", "'\u3000=1"}, // ideographic (full-width) space
	{"\u200b=1", "'\u200b=1"}, // zero-width space
	{"\ufeff=1", "'\ufeff=1"}, // byte-order mark
	{"＝1+1", "'＝1+1"},         // full-width equals U+FF1D
	{"＋1", "'＋1"},             // full-width plus
	{"－1", "'－1"},             // full-width hyphen-minus
	{"＠x", "'＠x"},             // full-width commercial at
	{" ＝1", "' ＝1"},           // full-width, after a space
	{"|calc", "'|calc"},       // DDE pipe
	{"｜calc", "'｜calc"},       // full-width pipe
	{"\tx", "'\tx"},           // a tab
	{"\rx", "'\rx"},           // a carriage return
	{"\n=1", "'\n=1"},         // a line break before a formula
	{"\t", "'\t"},             // only a tab
	{"-5", "-5"},              // a negative number is a number
	{"-0.25", "-0.25"},        // and so is a negative fraction
	{"12", "12"},              // a plain number
	{"0.6666666666666666", "0.6666666666666666"},
	{"-5 ", "'-5 "}, // not a plain number any more
	{" -5", "' -5"}, // nor this
	{"-Inf", "'-Inf"},
}

func TestCSVCellNeutralisesFormulas(t *testing.T) {
	for _, tc := range csvCellCases {
		if got := csvCell(tc.in); got != tc.want {
			t.Errorf("csvCell(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

// formulaStart reports whether a spreadsheet could read cell as a formula or a DDE command: its first
// character is a tab or a carriage return, or its first visible one is a formula trigger. A plain
// number (the API's own negative figures) is data, not a formula.
func formulaStart(cell string) bool {
	if plainNumber.MatchString(cell) {
		return false
	}
	if strings.HasPrefix(cell, "\t") || strings.HasPrefix(cell, "\r") {
		return true
	}
	visible := strings.TrimLeftFunc(cell, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
	})
	r, _ := utf8.DecodeRuneInString(visible)
	return strings.ContainsRune("=+-@|＝＋－＠｜", r)
}

func FuzzCSVCell(f *testing.F) {
	for _, tc := range csvCellCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := csvCell(in)
		if formulaStart(out) {
			t.Errorf("csvCell(%q) = %q still starts a formula", in, out)
		}
		if out != in && out != "'"+in {
			t.Errorf("csvCell(%q) = %q; want the cell, or the cell behind one quote", in, out)
		}
		if out != in && !formulaStart(in) {
			t.Errorf("csvCell(%q) = %q changed a harmless cell", in, out)
		}
	})
}

// Through the router: owners whose ids try each trick come out of the owners CSV neutralised, and the
// numbers beside them stay numbers.
func TestOwnersCSVNeutralisesHostileOwners(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("csv@example.com", "CSV Org")
	appID := s.createApp(a, "CSV app")["id"].(string)
	hostile := []string{" =1+1", "＝1+1", "|calc", "\tx", "-1+1", "@x", "\u3000＋1"}
	for i, owner := range hostile {
		recordLaunch(t, s.db, appID, fmt.Sprintf("csv-%d", i), owner, analyticsDay0.Add(time.Duration(i)*time.Minute))
	}
	rows := s.getCSV("/api/v1/apps/"+appID+"/analytics/owners.csv?"+fixtureRange, a.Token)
	if len(rows) != len(hostile)+1 {
		t.Fatalf("%d rows; want a header and %d owners: %q", len(rows), len(hostile), rows)
	}
	seen := map[string]bool{}
	for _, row := range rows[1:] {
		for _, cell := range row {
			if formulaStart(cell) {
				t.Errorf("cell %q of row %q starts a formula", cell, row)
			}
		}
		seen[row[0]] = true
		if row[1] != "1" {
			t.Errorf("row %q: sessions %q; want the number 1", row, row[1])
		}
	}
	for _, owner := range hostile {
		if !seen["'"+owner] {
			t.Errorf("owner %q is missing, or not behind one quote: %q", owner, rows)
		}
	}
}

// recordLaunch records one launched session of owner.
func recordLaunch(t *testing.T, db *gorm.DB, appID, sessionID, owner string, at time.Time) {
	t.Helper()
	e := models.SessionEvent{ID: sessionID + "-0", SessionID: sessionID, AppID: appID, Owner: owner, Step: "launched", Mode: "live", OccurredAt: at}
	if err := db.Transaction(func(tx *gorm.DB) error { _, err := models.RecordEvent(tx, e, false); return err }); err != nil {
		t.Fatalf("RecordEvent %s: %v", e.ID, err)
	}
}
