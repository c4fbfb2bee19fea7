package handlers

import (
	"encoding/json"
	"strconv"
	"time"

	"keyfob/models"
)

// JSON shapes of api.md. Rows are never serialised directly, so a new column never leaks by accident.

type redirectURIJSON struct {
	ID   string `json:"id"`
	URI  string `json:"uri"`
	Kind string `json:"kind"`
}

type secretJSON struct {
	ID         string  `json:"id"`
	Prefix     string  `json:"prefix"`
	Last4      string  `json:"last4"`
	Status     string  `json:"status"`
	CreatedAt  string  `json:"created_at"`
	ExpiresAt  *string `json:"expires_at"`
	LastUsedAt *string `json:"last_used_at"`
	RevokedAt  *string `json:"revoked_at"`
}

type appJSON struct {
	ID             string            `json:"id"`
	ClientID       string            `json:"client_id"`
	OrganizationID string            `json:"organization_id"`
	Name           string            `json:"name"`
	Description    string            `json:"description"`
	CreatedAt      string            `json:"created_at"`
	RedirectURIs   []redirectURIJSON `json:"redirect_uris"`
	Secrets        []secretJSON      `json:"secrets"`
	ClientSecret   string            `json:"client_secret,omitempty"`
}

type apiKeyJSON struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Environment string  `json:"environment"`
	Prefix      string  `json:"prefix"`
	Last4       string  `json:"last4"`
	CreatedAt   string  `json:"created_at"`
	LastUsedAt  *string `json:"last_used_at"`
	RevokedAt   *string `json:"revoked_at"`
	Key         string  `json:"key,omitempty"`
}

type auditJSON struct {
	ID     string          `json:"id"`
	At     string          `json:"at"`
	Actor  userJSON        `json:"actor"`
	Action string          `json:"action"`
	AppID  string          `json:"app_id"`
	Target string          `json:"target"`
	Detail json.RawMessage `json:"detail"`
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func rfc3339Ptr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := rfc3339(*t)
	return &s
}

func toRedirectURIJSON(r models.RedirectURI) redirectURIJSON {
	return redirectURIJSON{r.ID, r.URI, r.Kind}
}

func toSecretJSON(s models.ClientSecret, now time.Time) secretJSON {
	return secretJSON{ID: s.ID, Prefix: s.Prefix, Last4: s.Last4, Status: s.Status(now), CreatedAt: rfc3339(s.CreatedAt),
		ExpiresAt: rfc3339Ptr(s.ExpiresAt), LastUsedAt: rfc3339Ptr(s.LastUsedAt), RevokedAt: rfc3339Ptr(s.RevokedAt)}
}

func toAPIKeyJSON(k models.APIKey) apiKeyJSON {
	return apiKeyJSON{ID: k.ID, Name: k.Name, Environment: k.Environment, Prefix: k.Prefix, Last4: k.Last4,
		CreatedAt: rfc3339(k.CreatedAt), LastUsedAt: rfc3339Ptr(k.LastUsedAt), RevokedAt: rfc3339Ptr(k.RevokedAt)}
}

func toAuditJSON(e models.AuditEntry) auditJSON {
	return auditJSON{ID: strconv.FormatInt(e.ID, 10), At: rfc3339(e.At), Actor: userJSON{ID: e.ActorID, Email: e.ActorEmail},
		Action: e.Action, AppID: e.AppID, Target: e.Target, Detail: json.RawMessage(e.Detail)}
}
