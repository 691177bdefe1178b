package notify

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Notify's authentication messages, as its API answers them (GOV.UK Notify
// app/authentication/auth.py and the documented error tables).
const (
	msgNoToken      = "Unauthorized: authentication token must be provided"
	msgNotBearer    = "Unauthorized: authentication bearer scheme must be used"
	msgBadToken     = "Invalid token: signature, api token is not valid"
	msgNoIss        = "Invalid token: iss field not provided"
	msgBadServiceID = "Invalid token: service id is not the right data type"
	msgNoService    = "Invalid token: service not found"
	msgNoKey        = "Invalid token: API key not found"
	msgAlgorithm    = "Invalid token: algorithm used is not HS256"
	msgClock        = "Error: Your system clock must be accurate to within 30 seconds"
)

// iatWindow is how far a token's iat may be from Notify's clock, either way.
const iatWindow = 30 * time.Second

type keyCtx struct{}

// keyFrom returns the authenticated key of a request.
func keyFrom(ctx context.Context) Key { k, _ := ctx.Value(keyCtx{}).(Key); return k }

func bearer(h string) string {
	if len(h) >= 7 && strings.EqualFold(h[:7], "Bearer ") {
		return h[7:]
	}
	return ""
}

// unverifiedIAT reads iat without checking anything, for Requests.
func unverifiedIAT(tok string) time.Time {
	if tok == "" {
		return time.Time{}
	}
	var c jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(tok, &c); err != nil {
		return time.Time{}
	}
	if iat, err := c.GetIssuedAt(); err == nil && iat != nil {
		return iat.Time
	}
	return time.Time{}
}

// auth authenticates the request the way Notify does: the header first
// (401), then the issuer, the service, each of the service's keys (403).
func (s *Server) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		k, status, msg := s.authenticate(r.Header.Get("Authorization"))
		if status != 0 {
			writeError(w, status, "AuthError", msg)
			return
		}
		if s.limited(k) {
			writeError(w, http.StatusTooManyRequests, "RateLimitError", s.rateLimitMessage(k))
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), keyCtx{}, k)))
	}
}

func (s *Server) authenticate(h string) (Key, int, string) {
	if h == "" {
		return Key{}, http.StatusUnauthorized, msgNoToken
	}
	if len(h) < 7 || !strings.EqualFold(h[:7], "Bearer ") {
		return Key{}, http.StatusUnauthorized, msgNotBearer
	}
	tok := h[7:]
	var unverified jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(tok, &unverified); err != nil {
		return Key{}, http.StatusForbidden, msgBadToken
	}
	iss, _ := unverified["iss"].(string)
	if iss == "" {
		return Key{}, http.StatusForbidden, msgNoIss
	}
	if _, err := uuid.Parse(iss); err != nil {
		return Key{}, http.StatusForbidden, msgBadServiceID
	}
	keys, ok := s.services[iss]
	if !ok {
		return Key{}, http.StatusForbidden, msgNoService
	}
	for _, k := range keys {
		var claims jwt.MapClaims
		t, err := jwt.NewParser(jwt.WithoutClaimsValidation()).ParseWithClaims(tok, &claims, func(t *jwt.Token) (any, error) {
			if t.Method.Alg() != jwt.SigningMethodHS256.Alg() {
				return nil, errAlgorithm
			}
			return []byte(k.Secret), nil
		})
		if errors.Is(err, errAlgorithm) {
			return Key{}, http.StatusForbidden, msgAlgorithm
		}
		if err != nil || !t.Valid {
			// Not signed with this key: try the service's next one.
			continue
		}
		iat, err := claims.GetIssuedAt()
		if err != nil || iat == nil {
			// Notify's client library treats a token without iat as not
			// decodable with this key.
			continue
		}
		if d := s.now().Sub(iat.Time); d > iatWindow || d < -iatWindow {
			return Key{}, http.StatusForbidden, msgClock
		}
		return k, 0, ""
	}
	return Key{}, http.StatusForbidden, msgNoKey
}

var errAlgorithm = errors.New("algorithm used is not HS256")
