package models

// migrations is the schema's history, oldest first. Placeholders: {ts} timestamp, {serial} auto id, {bool}, {blob}.
var migrations = []migration{
	{1, "accounts and organisations", `
CREATE TABLE users (
	id TEXT PRIMARY KEY,
	email TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL DEFAULT '',
	password_hash TEXT NOT NULL,
	failed_logins INTEGER NOT NULL DEFAULT 0,
	last_failed_at {ts},
	disabled {bool} NOT NULL DEFAULT FALSE,
	created_at {ts} NOT NULL
);
CREATE TABLE organizations (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	created_at {ts} NOT NULL
);
CREATE TABLE memberships (
	org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
	user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	role TEXT NOT NULL,
	created_at {ts} NOT NULL,
	PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);
CREATE TABLE auth_sessions (
	id TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	kind TEXT NOT NULL,
	current_org_id TEXT,
	created_at {ts} NOT NULL,
	last_seen_at {ts} NOT NULL,
	expires_at {ts} NOT NULL
);
CREATE INDEX auth_sessions_user ON auth_sessions (user_id);
CREATE TABLE kv_store (
	k TEXT PRIMARY KEY,
	v {blob} NOT NULL,
	expires_at {ts}
)`},
	{2, "applications and credentials", `
CREATE TABLE apps (
	id TEXT PRIMARY KEY,
	org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	created_at {ts} NOT NULL,
	updated_at {ts} NOT NULL
);
CREATE INDEX apps_org ON apps (org_id, created_at);
CREATE TABLE client_secrets (
	id TEXT PRIMARY KEY,
	app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	hash TEXT NOT NULL UNIQUE,
	prefix TEXT NOT NULL,
	last4 TEXT NOT NULL,
	created_at {ts} NOT NULL,
	expires_at {ts},
	revoked_at {ts},
	last_used_at {ts}
);
CREATE INDEX client_secrets_app ON client_secrets (app_id);
CREATE TABLE redirect_uris (
	id TEXT PRIMARY KEY,
	app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	uri TEXT NOT NULL,
	kind TEXT NOT NULL,
	position INTEGER NOT NULL,
	created_at {ts} NOT NULL,
	UNIQUE (app_id, uri)
);
CREATE TABLE api_keys (
	id TEXT PRIMARY KEY,
	app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	environment TEXT NOT NULL,
	hash TEXT NOT NULL UNIQUE,
	prefix TEXT NOT NULL,
	last4 TEXT NOT NULL,
	created_at {ts} NOT NULL,
	last_used_at {ts},
	revoked_at {ts}
);
CREATE INDEX api_keys_app ON api_keys (app_id);
CREATE TABLE audit_entries (
	id {serial},
	org_id TEXT NOT NULL,
	actor_id TEXT NOT NULL,
	actor_email TEXT NOT NULL,
	action TEXT NOT NULL,
	app_id TEXT NOT NULL DEFAULT '',
	target TEXT NOT NULL DEFAULT '',
	detail TEXT NOT NULL DEFAULT '{}',
	at {ts} NOT NULL
);
CREATE INDEX audit_entries_org ON audit_entries (org_id, id)`},
	{3, "logos and branding", `
CREATE TABLE logos (
	hash TEXT PRIMARY KEY,
	content_type TEXT NOT NULL,
	data {blob} NOT NULL,
	width INTEGER NOT NULL,
	height INTEGER NOT NULL,
	created_at {ts} NOT NULL
);
CREATE TABLE branding_drafts (
	app_id TEXT PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
	button_color TEXT NOT NULL,
	button_color_input TEXT NOT NULL,
	logo_hash TEXT NOT NULL DEFAULT '',
	logo_type TEXT NOT NULL DEFAULT '',
	makes TEXT NOT NULL DEFAULT '[]',
	account_select {bool} NOT NULL DEFAULT FALSE,
	updated_at {ts} NOT NULL
);
CREATE TABLE branding_versions (
	app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	version INTEGER NOT NULL,
	button_color TEXT NOT NULL,
	button_color_input TEXT NOT NULL,
	logo_hash TEXT NOT NULL DEFAULT '',
	logo_type TEXT NOT NULL DEFAULT '',
	makes TEXT NOT NULL DEFAULT '[]',
	account_select {bool} NOT NULL DEFAULT FALSE,
	published_at {ts} NOT NULL,
	published_by_id TEXT NOT NULL,
	published_by_email TEXT NOT NULL,
	PRIMARY KEY (app_id, version)
)`},
}
