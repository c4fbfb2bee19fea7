package models

import (
	"time"
)

// ParseDateRange reads inclusive YYYY-MM-DD bounds; empty ones default to the last 30 days ending today.
func ParseDateRange(from, to string, now time.Time) (DateRange, error) {
	r := LastDays(30, now)
	if to != "" {
		t, err := time.Parse(time.DateOnly, to)
		if err != nil {
			return r, Invalid("to", "invalid_date", "Use a date like 2026-11-30 for to.")
		}
		r.To = t
		if from == "" {
			r.From = t.AddDate(0, 0, -29)
		}
	}
	if from != "" {
		f, err := time.Parse(time.DateOnly, from)
		if err != nil {
			return r, Invalid("from", "invalid_date", "Use a date like 2026-11-01 for from.")
		}
		r.From = f
	}
	if r.From.After(r.To) {
		return r, Invalid("from", "invalid_range", "from must be on or before to.")
	}
	if r.To.Sub(r.From) > 999*24*time.Hour {
		return r, Invalid("from", "invalid_range", "Ask for at most 1,000 days at a time.")
	}
	return r, nil
}

// PreviousPeriod is the range of the same length that ends the day before r starts, for "compared
// with the previous period" figures.
func PreviousPeriod(r DateRange) DateRange {
	days := int(r.To.Sub(r.From).Hours()/24) + 1
	to := r.From.AddDate(0, 0, -1)
	return DateRange{From: to.AddDate(0, 0, 1-days), To: to}
}
