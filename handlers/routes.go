package handlers

import (
	"net/http"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/gofiber/fiber/v2/middleware/helmet"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"

	"keyfob/static"
)

// contentSecurityPolicy loads nothing from third parties and forbids framing.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// routes is the whole route table: middleware first, then each resource (App adds the 404 last).
func (h *Handler) routes(app *fiber.App) {
	app.Use(requestid.New(requestid.Config{ContextKey: "requestid"}))
	app.Use(h.logRequests)
	// Inside the logger, so that a recovered panic comes back to it as an error and is logged as the 500 sent.
	app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: h.logPanic}))
	app.Use(helmet.New(helmet.Config{
		ContentSecurityPolicy: contentSecurityPolicy,
		XFrameOptions:         "DENY",
		// same-origin: the console's own POSTs carry a Referer (Fiber's CSRF check needs it over
		// https); Connect and OAuth pages override this with no-referrer so codes never leak.
		ReferrerPolicy: "same-origin",
		HSTSMaxAge:     31536000,
	}))
	app.Use(refuseHostileText) // every path, query, form and JSON text is UTF-8 without NUL, once, here

	app.Get("/healthz", h.healthz)
	app.Get("/readyz", h.readyz)
	app.Use("/static", func(c *fiber.Ctx) error {
		c.Set("Cross-Origin-Resource-Policy", "cross-origin") // apps load /static/link.js from their own pages
		return c.Next()
	})
	app.Use("/static", filesystem.New(filesystem.Config{Root: http.FS(static.FS), MaxAge: int((365 * 24 * time.Hour).Seconds())}))

	app.Get("/logos/:file", h.serveLogo)
	app.Get("/connect/theme.css", h.themeCSS)
	app.Get("/connect/preview/:app", h.loadConsoleSession, h.connectPreview)
	h.platformRoutes(app)

	h.apiRoutes(app.Group("/api/v1"))
	h.consoleRoutes(app)
}

// platformRoutes is what apps and their users call: the hosted Connect flow and the token endpoint.
// Paths answer with or without a trailing slash (Smartcar's SDKs use both).
func (h *Handler) platformRoutes(app *fiber.App) {
	app.Get("/.well-known/oauth-authorization-server", h.oauthMetadata)
	app.Get("/oauth/authorize", h.authorize)
	app.Post("/oauth/token", h.token)
	app.Get("/connect/:session", h.connectStep)
	app.Post("/connect/:session/brand", h.connectBrand)
	app.Post("/connect/:session/signin", h.connectSignIn)
	app.Post("/connect/:session/vehicles", h.connectVehicles)
	app.Post("/connect/:session/switch-account", h.connectSwitchAccount)
	app.Post("/connect/:session/permissions", h.connectPermissions)
	app.Get("/connect/:session/exit", h.connectExit)
	keyed := []fiber.Handler{h.apiKeyAuth, h.apiKeyLimiter("link", h.limits.APIKeyCalls)}
	app.Post("/sandbox/public_token/create", append(keyed, h.sandboxPublicToken)...)
	app.Post("/user", append(keyed, h.linkUser)...)
	app.Post("/link/token", append(keyed, h.linkToken)...)
	app.Get("/link/result", h.linkResultPage)
	app.Get("/link/:token", h.linkOpen)
	h.vehicleAPIRoutes(app)
}

// apiRoutes is the JSON management API (bearer tokens, no cookies, so no CSRF).
func (h *Handler) apiRoutes(api fiber.Router) {
	api.Post("/signup", h.signupLimiter(), h.apiSignup)
	api.Post("/login", h.loginLimiter(), h.apiLogin)
	// Event ingestion is a server-to-server call: an API key, not a console user, and its own budget
	// (6,000 batches of up to 1,000 events a minute per key).
	api.Post("/events", h.apiKeyAuth, h.apiKeyLimiter("events", h.limits.EventBatches), h.apiIngestEvents)
	auth := api.Group("", h.requireAPIUser) // prefix /api/v1: the middleware stays inside the API
	auth.Post("/logout", h.apiLogout)
	auth.Get("/me", h.apiMe)

	auth.Get("/orgs/:org/members", h.apiListMembers)
	auth.Post("/orgs/:org/members", h.apiAddMember)
	auth.Patch("/orgs/:org/members/:user", h.apiChangeRole)
	auth.Delete("/orgs/:org/members/:user", h.apiRemoveMember)
	auth.Get("/orgs/:org/audit", h.apiAudit)

	auth.Get("/apps", h.apiListApps)
	auth.Post("/apps", h.apiCreateApp)
	auth.Get("/apps/:app", h.apiShowApp)
	auth.Patch("/apps/:app", h.apiUpdateApp)
	auth.Delete("/apps/:app", h.apiDeleteApp)
	auth.Post("/apps/:app/secrets", h.apiRotateSecret)
	auth.Delete("/apps/:app/secrets/:secret", h.apiRevokeSecret)
	auth.Get("/apps/:app/redirect_uris", h.apiListRedirectURIs)
	auth.Post("/apps/:app/redirect_uris", h.apiAddRedirectURI)
	auth.Delete("/apps/:app/redirect_uris/:uri", h.apiRemoveRedirectURI)
	auth.Get("/apps/:app/api_keys", h.apiListAPIKeys)
	auth.Post("/apps/:app/api_keys", h.apiCreateAPIKey)
	auth.Delete("/apps/:app/api_keys/:key", h.apiRevokeAPIKey)
	auth.Get("/apps/:app/branding", h.apiBranding)
	auth.Put("/apps/:app/branding/draft", h.apiUpdateDraft)
	auth.Post("/apps/:app/branding/logo", h.apiUploadLogo)
	auth.Delete("/apps/:app/branding/logo", h.apiRemoveLogo)
	auth.Post("/apps/:app/branding/publish", h.apiPublish)
	auth.Get("/apps/:app/branding/versions", h.apiVersions)
	auth.Post("/apps/:app/branding/versions/:version/restore", h.apiRestore)
	// Each analytics route also answers CSV under a .csv suffix (registered first, so ".csv" is never an owner).
	auth.Get("/apps/:app/analytics/funnel.csv", h.apiAnalyticsFunnel)
	auth.Get("/apps/:app/analytics/funnel/:table.csv", h.apiAnalyticsFunnel) // one table of the funnel per file
	auth.Get("/apps/:app/analytics/funnel", h.apiAnalyticsFunnel)
	auth.Get("/apps/:app/analytics/owners.csv", h.apiAnalyticsOwners)
	auth.Get("/apps/:app/analytics/owners", h.apiAnalyticsOwners)
	auth.Get("/apps/:app/analytics/owners/:owner.csv", h.apiAnalyticsOwner)
	auth.Get("/apps/:app/analytics/owners/:owner", h.apiAnalyticsOwner)

	api.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })
}

// consoleRoutes is the HTML console: cookie sessions, CSRF on every form. Middleware is attached
// per route (not with a prefix-less Group, which would run it for every later route too).
func (h *Handler) consoleRoutes(app *fiber.App) {
	public := append([]fiber.Handler{h.loadConsoleSession, refuseCrossSite}, h.csrfProtection()...)
	signedIn := append(slices.Clone(public), h.requireConsoleUser)
	with := func(chain []fiber.Handler, handlers ...fiber.Handler) []fiber.Handler {
		return append(slices.Clone(chain), handlers...)
	}
	app.Get("/", with(public, h.home)...)
	app.Get("/signin", with(public, h.signInPage)...)
	app.Post("/signin", with(public, h.loginLimiter(), h.signIn)...)
	app.Get("/signup", with(public, h.signUpPage)...)
	app.Post("/signup", with(public, h.signupLimiter(), h.signUp)...)
	app.Post("/signout", with(public, h.signOut)...)

	app.Get("/account", with(signedIn, h.accountPage)...)
	app.Post("/account/password", with(signedIn, h.changePassword)...)
	app.Get("/orgs/new", with(signedIn, h.newOrgPage)...)
	app.Post("/orgs", with(signedIn, h.createOrg)...)
	app.Post("/orgs/switch", with(signedIn, h.switchOrg)...)
	app.Get("/members", with(signedIn, h.membersPage)...)
	app.Post("/members", with(signedIn, h.addMember)...)
	app.Post("/members/:user/role", with(signedIn, h.changeRole)...)
	app.Post("/members/:user/remove", with(signedIn, h.removeMember)...)
	app.Get("/audit", with(signedIn, h.auditPage)...)
	app.Get("/analytics.csv", with(signedIn, h.orgAnalyticsCSV)...)
	app.Get("/analytics", with(signedIn, h.orgAnalyticsPage)...)

	app.Get("/apps", with(signedIn, h.appsPage)...)
	app.Get("/apps/new", with(signedIn, h.newAppPage)...)
	app.Post("/apps", with(signedIn, h.createApp)...)
	app.Get("/apps/:app", with(signedIn, h.appPage)...)
	app.Post("/apps/:app", with(signedIn, h.updateApp)...)
	app.Get("/apps/:app/delete", with(signedIn, h.deleteAppPage)...)
	app.Post("/apps/:app/delete", with(signedIn, h.deleteApp)...)
	app.Get("/apps/:app/credentials", with(signedIn, h.credentialsPage)...)
	app.Post("/apps/:app/secrets", with(signedIn, h.rotateSecret)...)
	app.Post("/apps/:app/secrets/:secret/revoke", with(signedIn, h.revokeSecret)...)
	app.Get("/apps/:app/redirect-uris", with(signedIn, h.redirectURIsPage)...)
	app.Post("/apps/:app/redirect-uris", with(signedIn, h.addRedirectURI)...)
	app.Post("/apps/:app/redirect-uris/:uri/delete", with(signedIn, h.removeRedirectURI)...)
	app.Get("/apps/:app/api-keys", with(signedIn, h.apiKeysPage)...)
	app.Post("/apps/:app/api-keys", with(signedIn, h.createAPIKey)...)
	app.Post("/apps/:app/api-keys/:key/revoke", with(signedIn, h.revokeAPIKey)...)
	app.Get("/apps/:app/connect", with(signedIn, h.connectBuilder)...)
	app.Get("/apps/:app/analytics", with(signedIn, h.analyticsPage)...)
	app.Get("/apps/:app/analytics/funnel.csv", with(signedIn, h.analyticsFunnelCSV)...)
	app.Get("/apps/:app/analytics/funnel/:table.csv", with(signedIn, h.analyticsFunnelCSV)...)
	// The CSV routes come first, so ".csv" is never read as part of an owner id.
	app.Get("/apps/:app/analytics/owners.csv", with(signedIn, h.analyticsOwnersCSV)...)
	app.Get("/apps/:app/analytics/owners", with(signedIn, h.analyticsOwnersPage)...)
	app.Get("/apps/:app/analytics/owners/:owner.csv", with(signedIn, h.analyticsOwnerCSV)...)
	app.Get("/apps/:app/analytics/owners/:owner", with(signedIn, h.analyticsOwnerPage)...)
	app.Get("/apps/:app/simulator", with(signedIn, h.simulatorPage)...)
	app.Post("/apps/:app/simulator", with(signedIn, h.createSimulatedVehicle)...)
	app.Get("/apps/:app/simulator/:vehicle", with(signedIn, h.simulatorVehiclePage)...)
	app.Post("/apps/:app/simulator/:vehicle", with(signedIn, h.updateSimulatedVehicle)...)
	app.Get("/apps/:app/branding", with(signedIn, h.brandingPage)...)
	app.Post("/apps/:app/branding", with(signedIn, h.saveBranding)...)
	app.Get("/apps/:app/branding/check", with(signedIn, h.checkColor)...)
	app.Post("/apps/:app/branding/logo", with(signedIn, h.uploadLogo)...)
	app.Post("/apps/:app/branding/logo/delete", with(signedIn, h.removeLogo)...)
	app.Post("/apps/:app/branding/publish", with(signedIn, h.publishBranding)...)
	app.Post("/apps/:app/branding/versions/:version/restore", with(signedIn, h.restoreBranding)...)
}
