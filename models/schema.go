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
	{4, "connect sessions, events, grants, codes and tokens", `
CREATE TABLE connect_sessions (
	id TEXT PRIMARY KEY,
	app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	browser_hash TEXT NOT NULL,
	csrf_token TEXT NOT NULL,
	owner TEXT NOT NULL,
	mode TEXT NOT NULL,
	request TEXT NOT NULL,
	step TEXT NOT NULL,
	make TEXT NOT NULL DEFAULT '',
	account_email TEXT NOT NULL DEFAULT '',
	vehicles TEXT NOT NULL DEFAULT '[]',
	last_step TEXT NOT NULL,
	outcome TEXT NOT NULL DEFAULT '',
	error_code TEXT NOT NULL DEFAULT '',
	sandbox {bool} NOT NULL DEFAULT FALSE,
	started_at {ts} NOT NULL,
	updated_at {ts} NOT NULL,
	completed_at {ts},
	expires_at {ts} NOT NULL
);
CREATE INDEX connect_sessions_app ON connect_sessions (app_id, started_at);
CREATE TABLE session_events (
	id TEXT PRIMARY KEY,
	session_id TEXT NOT NULL,
	app_id TEXT NOT NULL,
	owner TEXT NOT NULL,
	step TEXT NOT NULL,
	make TEXT NOT NULL DEFAULT '',
	mode TEXT NOT NULL DEFAULT '',
	error_code TEXT NOT NULL DEFAULT '',
	occurred_at {ts} NOT NULL,
	received_at {ts} NOT NULL
);
CREATE INDEX session_events_session ON session_events (session_id, occurred_at);
CREATE INDEX session_events_app ON session_events (app_id, occurred_at);
CREATE TABLE connect_grants (
	app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	owner TEXT NOT NULL,
	scope TEXT NOT NULL,
	granted_at {ts} NOT NULL,
	PRIMARY KEY (app_id, owner, scope)
);
CREATE TABLE oauth_codes (
	hash TEXT PRIMARY KEY,
	app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	redirect_uri TEXT NOT NULL,
	code_challenge TEXT NOT NULL DEFAULT '',
	owner TEXT NOT NULL,
	session_id TEXT NOT NULL DEFAULT '',
	vehicles TEXT NOT NULL,
	scope TEXT NOT NULL,
	mode TEXT NOT NULL,
	created_at {ts} NOT NULL,
	expires_at {ts} NOT NULL,
	used_at {ts}
);
CREATE TABLE oauth_tokens (
	hash TEXT PRIMARY KEY,
	kind TEXT NOT NULL,
	app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	family_id TEXT NOT NULL,
	owner TEXT NOT NULL,
	vehicles TEXT NOT NULL,
	scope TEXT NOT NULL,
	mode TEXT NOT NULL,
	created_at {ts} NOT NULL,
	expires_at {ts} NOT NULL,
	used_at {ts},
	revoked_at {ts}
);
CREATE INDEX oauth_tokens_family ON oauth_tokens (family_id)`},
	{5, "rate counters", `
CREATE TABLE rate_counters (
	k TEXT PRIMARY KEY,
	count INTEGER NOT NULL,
	window_start {ts} NOT NULL
)`},
	{6, "remembered grants keep what was granted", `
ALTER TABLE connect_grants ADD COLUMN granted TEXT NOT NULL DEFAULT ''`},
	{7, "simulated vehicle state and API calls", `
CREATE TABLE vehicle_states (
	app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	vehicle_id TEXT NOT NULL,
	owner TEXT NOT NULL,
	make TEXT NOT NULL,
	model TEXT NOT NULL,
	year INTEGER NOT NULL,
	vin TEXT NOT NULL,
	powertrain TEXT NOT NULL,
	level TEXT NOT NULL DEFAULT '',
	odometer_km DOUBLE PRECISION NOT NULL,
	fuel_percent DOUBLE PRECISION NOT NULL DEFAULT 0,
	fuel_capacity_liters DOUBLE PRECISION NOT NULL DEFAULT 0,
	battery_percent DOUBLE PRECISION NOT NULL DEFAULT 0,
	battery_capacity_kwh DOUBLE PRECISION NOT NULL DEFAULT 0,
	plugged_in {bool} NOT NULL DEFAULT FALSE,
	charging {bool} NOT NULL DEFAULT FALSE,
	latitude DOUBLE PRECISION NOT NULL,
	longitude DOUBLE PRECISION NOT NULL,
	locked {bool} NOT NULL DEFAULT TRUE,
	tire_front_left_kpa DOUBLE PRECISION NOT NULL,
	tire_front_right_kpa DOUBLE PRECISION NOT NULL,
	tire_back_left_kpa DOUBLE PRECISION NOT NULL,
	tire_back_right_kpa DOUBLE PRECISION NOT NULL,
	oil_life_percent DOUBLE PRECISION NOT NULL DEFAULT 0,
	created_at {ts} NOT NULL,
	updated_at {ts} NOT NULL,
	PRIMARY KEY (app_id, vehicle_id)
);
CREATE INDEX vehicle_states_owner ON vehicle_states (app_id, owner);
CREATE TABLE vehicle_api_calls (
	id {serial},
	app_id TEXT NOT NULL,
	vehicle_id TEXT NOT NULL,
	method TEXT NOT NULL,
	path TEXT NOT NULL,
	status INTEGER NOT NULL,
	at {ts} NOT NULL
);
CREATE INDEX vehicle_api_calls_vehicle ON vehicle_api_calls (app_id, vehicle_id, id)`},
	{8, "link users and tokens", `
CREATE TABLE link_users (
	id TEXT PRIMARY KEY,
	app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	client_user_id TEXT NOT NULL,
	created_at {ts} NOT NULL,
	UNIQUE (app_id, client_user_id)
);
CREATE TABLE link_tokens (
	hash TEXT PRIMARY KEY,
	app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	user_id TEXT NOT NULL,
	redirect_url TEXT NOT NULL DEFAULT '',
	make TEXT NOT NULL DEFAULT '',
	scope TEXT NOT NULL,
	created_at {ts} NOT NULL,
	expires_at {ts} NOT NULL,
	used_at {ts}
)`},
	{9, "analytics rollups", `
CREATE TABLE session_summaries (
	session_id TEXT PRIMARY KEY,
	app_id TEXT NOT NULL,
	owner TEXT NOT NULL DEFAULT '',
	make TEXT NOT NULL DEFAULT '',
	mode TEXT NOT NULL DEFAULT '',
	sandbox {bool} NOT NULL DEFAULT FALSE,
	day TEXT NOT NULL,
	steps_mask INTEGER NOT NULL DEFAULT 0,
	outcome TEXT NOT NULL DEFAULT '',
	error_code TEXT NOT NULL DEFAULT '',
	started_at {ts},
	completed_at {ts},
	last_event_at {ts} NOT NULL
);
CREATE INDEX session_summaries_app_day ON session_summaries (app_id, day);
CREATE INDEX session_summaries_app_owner ON session_summaries (app_id, owner, last_event_at);
CREATE TABLE funnel_daily (
	app_id TEXT NOT NULL,
	day TEXT NOT NULL,
	step TEXT NOT NULL,
	make TEXT NOT NULL DEFAULT '',
	mode TEXT NOT NULL DEFAULT '',
	sandbox {bool} NOT NULL DEFAULT FALSE,
	shard INTEGER NOT NULL DEFAULT 0,
	sessions INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (app_id, day, step, make, mode, sandbox, shard)
);
CREATE TABLE error_daily (
	app_id TEXT NOT NULL,
	day TEXT NOT NULL,
	error_code TEXT NOT NULL,
	make TEXT NOT NULL DEFAULT '',
	mode TEXT NOT NULL DEFAULT '',
	sandbox {bool} NOT NULL DEFAULT FALSE,
	shard INTEGER NOT NULL DEFAULT 0,
	sessions INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (app_id, day, error_code, make, mode, sandbox, shard)
)`},
	{10, "analytics ids scoped by app; idempotency keys", `
CREATE TABLE session_events_v2 (
	app_id TEXT NOT NULL,
	id TEXT NOT NULL,
	session_id TEXT NOT NULL,
	owner TEXT NOT NULL,
	step TEXT NOT NULL,
	make TEXT NOT NULL DEFAULT '',
	mode TEXT NOT NULL DEFAULT '',
	error_code TEXT NOT NULL DEFAULT '',
	occurred_at {ts} NOT NULL,
	received_at {ts} NOT NULL,
	PRIMARY KEY (app_id, id)
);
INSERT INTO session_events_v2 (app_id, id, session_id, owner, step, make, mode, error_code, occurred_at, received_at)
	SELECT app_id, id, session_id, owner, step, make, mode, error_code, occurred_at, received_at FROM session_events;
DROP TABLE session_events;
ALTER TABLE session_events_v2 RENAME TO session_events;
CREATE INDEX session_events_session ON session_events (app_id, session_id, occurred_at);
CREATE TABLE session_summaries_v2 (
	app_id TEXT NOT NULL,
	session_id TEXT NOT NULL,
	owner TEXT NOT NULL DEFAULT '',
	make TEXT NOT NULL DEFAULT '',
	mode TEXT NOT NULL DEFAULT '',
	sandbox {bool} NOT NULL DEFAULT FALSE,
	day TEXT NOT NULL,
	steps_mask INTEGER NOT NULL DEFAULT 0,
	outcome TEXT NOT NULL DEFAULT '',
	error_code TEXT NOT NULL DEFAULT '',
	started_at {ts},
	completed_at {ts},
	last_event_at {ts} NOT NULL,
	PRIMARY KEY (app_id, session_id)
);
INSERT INTO session_summaries_v2 (app_id, session_id, owner, make, mode, sandbox, day, steps_mask, outcome, error_code,
	started_at, completed_at, last_event_at)
	SELECT app_id, session_id, owner, make, mode, sandbox, day, steps_mask, outcome, error_code,
	started_at, completed_at, last_event_at FROM session_summaries;
DROP TABLE session_summaries;
ALTER TABLE session_summaries_v2 RENAME TO session_summaries;
CREATE INDEX session_summaries_app_day ON session_summaries (app_id, day);
CREATE INDEX session_summaries_app_owner ON session_summaries (app_id, owner, last_event_at);
CREATE TABLE idempotency_keys (
	app_id TEXT NOT NULL,
	idem_key TEXT NOT NULL,
	request_hash TEXT NOT NULL,
	status INTEGER NOT NULL,
	response TEXT NOT NULL,
	created_at {ts} NOT NULL,
	PRIMARY KEY (app_id, idem_key)
)`},
	{11, "completion-time histogram (backfilled from the summaries); summaries by recency", `
CREATE TABLE completion_daily (
	app_id TEXT NOT NULL,
	make TEXT NOT NULL,
	day TEXT NOT NULL,
	mode TEXT NOT NULL DEFAULT '',
	sandbox {bool} NOT NULL DEFAULT FALSE,
	seconds INTEGER NOT NULL,
	sessions INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (app_id, make, day, mode, sandbox, seconds)
);
CREATE INDEX session_summaries_app_recent ON session_summaries (app_id, last_event_at)`},
	{12, "owner search index (PostgreSQL: trigram index when pg_trgm can be created)", `SELECT 1`},
	{13, "rollup storage settings (PostgreSQL)", `SELECT 1`},
	{14, "token families have a start (their absolute lifetime counts from it)", `
ALTER TABLE oauth_tokens ADD COLUMN family_started_at {ts}`},
	{15, "button colours are opaque #RRGGBB (translucent ones drawn over white)", `SELECT 1`},
	{16, "sign-in failures are counted per email in rate_counters, for emails with and without accounts", `
ALTER TABLE users DROP COLUMN failed_logins;
ALTER TABLE users DROP COLUMN last_failed_at`},
	{17, "per-owner daily rollup (backfilled from the summaries by backfillOwnerDaily)", `
CREATE TABLE owner_daily (
	app_id TEXT NOT NULL,
	day TEXT NOT NULL,
	owner TEXT NOT NULL,
	make TEXT NOT NULL DEFAULT '',
	mode TEXT NOT NULL DEFAULT '',
	sandbox {bool} NOT NULL DEFAULT FALSE,
	sessions INTEGER NOT NULL DEFAULT 0,
	completed INTEGER NOT NULL DEFAULT 0,
	last_event_at {ts} NOT NULL,
	last_session TEXT NOT NULL DEFAULT '',
	last_outcome TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (app_id, day, owner, make, mode, sandbox)
);
CREATE INDEX owner_daily_recent ON owner_daily (app_id, last_event_at DESC, owner);
CREATE INDEX owner_daily_owner ON owner_daily (app_id, owner, day);
CREATE TABLE app_owners (
	app_id TEXT NOT NULL,
	owner TEXT NOT NULL,
	PRIMARY KEY (app_id, owner)
)`},
	{18, "simulated vehicles have a charge limit (a fraction of the battery; 1 = charge to full)", `
ALTER TABLE vehicle_states ADD COLUMN charge_limit DOUBLE PRECISION NOT NULL DEFAULT 1`},
	{19, "summary indexes no read uses since owner lists read owner_daily (each cost every summary write)", `
DROP INDEX IF EXISTS session_summaries_app_recent;
DROP INDEX IF EXISTS session_summaries_owner_search`},
}
