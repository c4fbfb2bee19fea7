package models

// Internals the external tests drive directly.
var (
	BackfillCompletions  = backfillCompletions
	BackfillFamilyStarts = backfillFamilyStarts
	OpaqueButtonColors   = opaqueButtonColors
)
