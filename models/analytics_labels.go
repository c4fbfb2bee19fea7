package models

// The words a person reads for analytics codes: steps, outcomes, makes and error codes. The console's
// pages and every CSV use these; the JSON API keeps the codes. Unknown codes are shown as they are.

// stepLabels name the steps of api.md §Analytics as the Analytics tab shows them.
var stepLabels = map[string]string{
	StepLaunched:            "Launched",
	StepBrandSelected:       "Brand selected",
	StepSignedIn:            "Signed in",
	StepVehiclesSelected:    "Vehicles selected",
	StepPermissionsApproved: "Permissions approved",
	StepCompleted:           "Completed",
	StepError:               "Error",
	StepExited:              "Exited",
}

// StepLabel is a step's name for people; a step Keyfob does not know is shown as sent.
func StepLabel(step string) string {
	if label, ok := stepLabels[step]; ok {
		return label
	}
	return step
}

// OutcomeLabel is a session's outcome for people: a final step's name, or "In progress".
func OutcomeLabel(outcome string) string {
	if outcome == OutcomeInProgress || outcome == "" {
		return "In progress"
	}
	return StepLabel(outcome)
}

// Sessions that end before the owner picks a brand have no make; their row says so in words.
const (
	NoMakeLabel = "No brand chosen yet"
	NoMakeHint  = "Ended before the owner picked a brand."
)

// MakeLabel is a make's display name from the catalogue ("Mercedes-Benz" for MERCEDES_BENZ),
// NoMakeLabel for none, and an id the catalogue lacks as sent.
func MakeLabel(id string) string {
	if id == "" {
		return NoMakeLabel
	}
	if m, ok := FindMake(id); ok {
		return m.Name
	}
	return id
}

// ErrorExplanation is an error code in plain language: a name, what happened, and what to do.
type ErrorExplanation struct {
	Code        string
	Label       string
	Description string
	Action      string
	Known       bool // false: a code Keyfob does not describe, shown as sent with a generic hint
}

// errorExplanations cover the codes Connect ends with (api.md, the ends of the flow).
var errorExplanations = map[string]ErrorExplanation{
	"user_manually_returned_to_application": {Label: "User cancelled",
		Description: "The owner left Connect before granting access.",
		Action:      "Often a change of mind. If many leave at one step, check what that step asks; owners can start again from your app."},
	"vehicle_incompatible": {Label: "Vehicle not compatible",
		Description: "The owner's vehicle cannot share a permission your app requires.",
		Action:      "Mark the permissions you can do without as optional (no required: prefix), or say which vehicles you support before owners start."},
	"no_vehicles": {Label: "No vehicles on the account",
		Description: "The owner signed in, but their connected-services account has no vehicles.",
		Action:      "Ask owners to add their vehicle in the manufacturer's app first, then connect again."},
	"invalid_subscription": {Label: "Subscription inactive",
		Description: "The vehicle's connected-services subscription has lapsed or was never activated.",
		Action:      "Owners must activate or renew it with the manufacturer; say so in your app and let them retry."},
	"access_denied": {Label: "Owner denied access",
		Description: "The owner saw the permissions your app asked for and declined.",
		Action:      "Explain before Connect why your app needs each permission, and ask only for those you use."},
	"configuration_error": {Label: "Configuration problem",
		Description: "Connect could not run the request as your app built it, e.g. in live mode, which Keyfob does not offer.",
		Action:      "Check the Connect URL your app builds (mode, scopes, redirect URI) on the Connect tab."},
	"server_error": {Label: "Connect server error",
		Description: "Connect hit an unexpected error on its side.",
		Action:      "Nothing to change in your app: owners can retry. If it persists, report the time and the session id."},
}

// ExplainError describes an error code; an unknown one keeps its code as its name.
func ExplainError(code string) ErrorExplanation {
	if e, ok := errorExplanations[code]; ok {
		e.Code, e.Known = code, true
		return e
	}
	return ErrorExplanation{Code: code, Label: code,
		Description: "An error code your app or its front end reported; Keyfob has no description of it.",
		Action:      "Look the code up where it was sent from; the owners' timelines show when it happened."}
}
