package models

import (
	"time"

	"gorm.io/gorm"
)

// SessionEvent is one step of one Connect session, the raw material of analytics.
type SessionEvent struct {
	ID         string
	SessionID  string
	AppID      string
	Owner      string
	Step       string
	Make       string
	Mode       string
	ErrorCode  string
	OccurredAt time.Time
	ReceivedAt time.Time
}

// SessionEventsOf lists a session's events in the order they happened.
func SessionEventsOf(db *gorm.DB, appID, sessionID string) ([]SessionEvent, error) {
	var out []SessionEvent
	err := db.Where("app_id = ? AND session_id = ?", appID, sessionID).Order("occurred_at, received_at").Find(&out).Error
	return out, err
}
