package models

import "crypto/sha256"

// OwnerUserID is the stable Smartcar-style user id (a UUID) of an owner within an app.
func OwnerUserID(appID, owner string) string {
	sum := sha256.Sum256([]byte("user|" + appID + "|" + owner))
	return simUUID(sum[:16])
}
