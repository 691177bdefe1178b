package zgw

import (
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Credentials are a ZGW client id and secret, as configured in Open Zaak's
// Autorisaties for Koerier's application.
type Credentials struct {
	ClientID string
	Secret   string
	// UserID and UserRepresentation end up in Open Zaak's audit trail.
	UserID             string
	UserRepresentation string
}

// Token mints a ZGW JWT (HS256) with the claims Open Zaak reads: iss,
// iat, client_id, user_id, user_representation. A token is minted for every
// request attempt, because Open Zaak rejects tokens whose iat is too far
// from its clock (JWT_EXPIRY, default one hour, plus leeway).
func (c Credentials) Token(now time.Time) (string, error) {
	uid := c.UserID
	if uid == "" {
		uid = c.ClientID
	}
	rep := c.UserRepresentation
	if rep == "" {
		rep = "Koerier"
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss":                 c.ClientID,
		"iat":                 now.Unix(),
		"client_id":           c.ClientID,
		"user_id":             uid,
		"user_representation": rep,
	})
	s, err := t.SignedString([]byte(c.Secret))
	if err != nil {
		return "", fmt.Errorf("zgw: sign jwt for client %q: %w", c.ClientID, err)
	}
	return s, nil
}
