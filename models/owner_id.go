package models

import (
	"crypto/sha256"
	"fmt"
)

// OwnerUserID is the stable Smartcar-style user id (a UUID) of an owner within an app.
func OwnerUserID(appID, owner string) string {
	sum := sha256.Sum256([]byte("user|" + appID + "|" + owner))
	sum[6] = sum[6]&0x0f | 0x40
	sum[8] = sum[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
}
