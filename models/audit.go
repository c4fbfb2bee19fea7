package models

import (
	"encoding/json"
	"time"

	"gorm.io/gorm"
)

// AuditEntry records one change: who, when, what, to which app, and what changed (never a secret).
type AuditEntry struct {
	ID         int64
	OrgID      string
	ActorID    string
	ActorEmail string
	Action     string
	AppID      string
	Target     string
	Detail     string // JSON object: before/after for edits, the new values for creations
	At         time.Time
}

// AuditFilter narrows the audit log; Cursor is the id below which to continue (newest first).
type AuditFilter struct {
	AppID  string
	Action string
	Cursor int64
	Limit  int
}

// writeAudit appends an entry inside the caller's transaction, so a change and its record commit together.
func writeAudit(tx *gorm.DB, orgID string, actor Actor, action, appID, target string, detail any) error {
	if orgID == "" {
		return ErrNoOrganization
	}
	raw, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	return tx.Create(&AuditEntry{OrgID: orgID, ActorID: actor.ID, ActorEmail: actor.Email, Action: action,
		AppID: appID, Target: target, Detail: string(raw), At: time.Now().UTC()}).Error
}

// ListAudit returns an organisation's entries newest first, and the cursor of the next page (0 at the end).
func ListAudit(db *gorm.DB, orgID string, f AuditFilter) ([]AuditEntry, int64, error) {
	if orgID == "" {
		return nil, 0, ErrNoOrganization
	}
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	q := db.Where("org_id = ?", orgID)
	if f.AppID != "" {
		q = q.Where("app_id = ?", f.AppID)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.Cursor > 0 {
		q = q.Where("id < ?", f.Cursor)
	}
	var entries []AuditEntry
	if err := q.Order("id DESC").Limit(f.Limit + 1).Find(&entries).Error; err != nil {
		return nil, 0, err
	}
	var next int64
	if len(entries) > f.Limit {
		entries = entries[:f.Limit]
		next = entries[len(entries)-1].ID
	}
	return entries, next, nil
}

// AuditActions lists the actions that occur in an organisation's log, for the filter menu.
func AuditActions(db *gorm.DB, orgID string) ([]string, error) {
	if orgID == "" {
		return nil, ErrNoOrganization
	}
	var actions []string
	err := db.Model(&AuditEntry{}).Where("org_id = ?", orgID).Distinct("action").Order("action").Pluck("action", &actions).Error
	return actions, err
}
