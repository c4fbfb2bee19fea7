package models

import (
	"slices"
	"time"
)

// Internals the external tests drive directly.
var (
	BackfillCompletions  = backfillCompletions
	BackfillFamilyStarts = backfillFamilyStarts
	OpaqueButtonColors   = opaqueButtonColors
	IngestBatch          = ingestBatch
	BackfillOwnerDaily   = backfillOwnerDaily
	WithCustomPlans      = withCustomPlans
)

// NewHashPool builds a hashing pool apart from the process's own.
func NewHashPool(memoryMiB int, wait time.Duration) interface{ Run(func()) error } {
	return hashPoolRunner{newHashPool(memoryMiB, wait)}
}

type hashPoolRunner struct{ p *hashPool }

func (r hashPoolRunner) Run(work func()) error { return r.p.run(work) }

// ConnectErrorCodes are the codes Connect and the demo end sessions with, for the labels' test.
func ConnectErrorCodes() []string {
	codes := slices.Clone(demoErrors)
	for code := range errorDescriptions {
		codes = append(codes, code)
	}
	return codes
}
