package handlers

import (
	"encoding/csv"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
)

// sendCSV answers rows (the first is the header) as a CSV download named name. Every cell goes
// through csvCell: this is the one CSV writer.
func sendCSV(c *fiber.Ctx, name string, rows [][]string) error {
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	w := csv.NewWriter(c.Response().BodyWriter())
	for _, row := range rows {
		cells := make([]string, len(row))
		for i, cell := range row {
			cells[i] = csvCell(cell)
		}
		if err := w.Write(cells); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

// plainNumber is a number as this API writes it: never a formula, even with a minus sign.
var plainNumber = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// formulaTriggers start a formula (or a DDE command, "|") in some spreadsheet: the ASCII ones and
// their full-width forms, which East Asian spreadsheets read the same way.
const formulaTriggers = "=+-@|＝＋－＠｜"

// csvCell neutralises a text cell a spreadsheet could run as a formula (OWASP "CSV injection") with
// a leading single quote: owner ids, makes and error codes come from clients. Plain numbers pass
// untouched, since the API writes negative figures and a number runs nothing.
func csvCell(s string) string {
	if plainNumber.MatchString(s) || !startsFormula(s) {
		return s
	}
	return "'" + s
}

// startsFormula reports whether s begins with a tab or a carriage return (OWASP's list), or whether
// its first visible character is a trigger: spreadsheets skip leading spaces (no-break and
// ideographic ones too) and invisible marks such as a zero-width space or a byte-order mark.
func startsFormula(s string) bool {
	if strings.HasPrefix(s, "\t") || strings.HasPrefix(s, "\r") {
		return true
	}
	visible := strings.TrimLeftFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
	})
	first, _ := utf8.DecodeRuneInString(visible)
	return strings.ContainsRune(formulaTriggers, first)
}
