package notifynl

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/mijnservices/koerier/internal/clock"
)

// APIKey is a parsed Notify API key, `{key_name}-{service_id}-{secret_key}`.
type APIKey struct {
	Name      string
	ServiceID string
	Secret    string
}

// uuidLen is the length of a UUID in its canonical text form.
const uuidLen = 36

// ParseAPIKey splits a Notify API key. The key name may itself contain
// dashes, so the two UUIDs are taken from the right.
func ParseAPIKey(key string) (APIKey, error) {
	// name + "-" + service id + "-" + secret
	if len(key) < 2*uuidLen+2 {
		return APIKey{}, errors.New("notifynl: parse API key: too short, want {key_name}-{service_id}-{secret_key}")
	}
	secret := key[len(key)-uuidLen:]
	rest := key[:len(key)-uuidLen-1]
	if key[len(key)-uuidLen-1] != '-' {
		return APIKey{}, errors.New("notifynl: parse API key: no dash before the secret key")
	}
	service := rest[len(rest)-uuidLen:]
	name := ""
	if len(rest) > uuidLen {
		if rest[len(rest)-uuidLen-1] != '-' {
			return APIKey{}, errors.New("notifynl: parse API key: no dash before the service id")
		}
		name = rest[:len(rest)-uuidLen-1]
	}
	// The secret is never echoed in an error: it is a credential.
	if _, err := uuid.Parse(service); err != nil {
		return APIKey{}, errors.New("notifynl: parse API key: service id is not a UUID")
	}
	if _, err := uuid.Parse(secret); err != nil {
		return APIKey{}, errors.New("notifynl: parse API key: secret key is not a UUID")
	}
	return APIKey{Name: name, ServiceID: service, Secret: secret}, nil
}

// String returns the key in Notify's format.
func (k APIKey) String() string {
	if k.Name == "" {
		return k.ServiceID + "-" + k.Secret
	}
	return k.Name + "-" + k.ServiceID + "-" + k.Secret
}

// Token mints the bearer token Notify expects: an HS256 JWT signed with the
// secret key, iss = service id, iat = now in seconds. Notify refuses a token
// whose iat is more than 30 seconds off its own clock, so a token must be
// minted per request attempt, never cached.
func (k APIKey) Token(now time.Time) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": k.ServiceID,
		"iat": now.Unix(),
	})
	s, err := t.SignedString([]byte(k.Secret))
	if err != nil {
		return "", fmt.Errorf("notifynl: sign token: %w", err)
	}
	return s, nil
}

// authorize sets a freshly minted bearer token on req.
func (k APIKey) authorize(req *http.Request, now time.Time) error {
	tok, err := k.Token(now)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

// PrepareRetry returns a function for httpclient.Options.PrepareRetry that
// re-signs every retried request with a fresh token. Use it when you build
// the *http.Client for New yourself; New(…, nil, …) does this for you.
//
//	prep, err := notifynl.PrepareRetry(apiKey)
//	hc := httpclient.New(httpclient.Options{PrepareRetry: prep})
func PrepareRetry(apiKey string) (func(*http.Request) error, error) {
	k, err := ParseAPIKey(apiKey)
	if err != nil {
		return nil, err
	}
	return func(r *http.Request) error { return k.authorize(r, clock.System()) }, nil
}
