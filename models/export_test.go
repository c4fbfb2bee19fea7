package models

import "time"

// Internals the external tests drive directly.
var (
	BackfillCompletions  = backfillCompletions
	BackfillFamilyStarts = backfillFamilyStarts
	OpaqueButtonColors   = opaqueButtonColors
	IngestBatch          = ingestBatch
	BackfillOwnerDaily   = backfillOwnerDaily
)

// NewHashPool builds a hashing pool apart from the process's own.
func NewHashPool(memoryMiB int, wait time.Duration) interface{ Run(func()) error } {
	return hashPoolRunner{newHashPool(memoryMiB, wait)}
}

type hashPoolRunner struct{ p *hashPool }

func (r hashPoolRunner) Run(work func()) error { return r.p.run(work) }
