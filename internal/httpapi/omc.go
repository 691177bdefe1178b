package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mijnservices/koerier/internal/event"
)

// DefaultOMCClockSkew is the leeway on an OMC JWT's exp, nbf and iat: the
// default ClockSkew of ASP.NET's JwtBearer validation, which the OMC uses
// unchanged.
const DefaultOMCClockSkew = 5 * time.Minute

// OMCAuth checks the JWTs that callers of the OMC (NotifyNL-OMC) send: Open
// Notificaties on POST /Events/Listen and Notify NL on POST /Notify/Confirm.
// The OMC validates them with HS256 over OMC_AUTH_JWT_SECRET, the issuer
// OMC_AUTH_JWT_ISSUER, the audience OMC_AUTH_JWT_AUDIENCE and the lifetime
// (exp required). The OMC's key is the secret's UTF-8 bytes zero-padded to
// 64 bytes, which HMAC-SHA256 treats exactly as the unpadded secret, so a
// plain HS256 check over the secret accepts the same tokens.
type OMCAuth struct {
	Secret    string
	Issuer    string
	Audience  string
	ClockSkew time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Verify checks an Authorization header value ("Bearer <jwt>").
func (a OMCAuth) Verify(header string) error {
	tok, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		// ASP.NET also accepts the scheme in any case.
		if len(header) > 7 && strings.EqualFold(header[:7], "bearer ") {
			tok = header[7:]
		} else {
			return errors.New("not a Bearer token")
		}
	}
	if a.Secret == "" {
		return errors.New("no secret configured")
	}
	now := a.Now
	if now == nil {
		now = time.Now
	}
	_, err := jwt.Parse(strings.TrimSpace(tok), func(*jwt.Token) (any, error) { return []byte(a.Secret), nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(a.Issuer),
		jwt.WithAudience(a.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(a.ClockSkew),
		jwt.WithTimeFunc(now),
	)
	if err != nil {
		return fmt.Errorf("omc jwt: %w", err)
	}
	return nil
}

// authorizeOMC answers 401 (no or unusable token, as the OMC's JwtBearer
// does) and returns false unless the request carries a valid OMC JWT.
// Open Notificaties' probe without the header gets its 401 too.
func authorizeOMC(w http.ResponseWriter, r *http.Request, a OMCAuth) (string, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		w.Header().Set("WWW-Authenticate", "Bearer")
		WriteProblem(w, http.StatusUnauthorized, "Not authenticated", "The Authorization header is missing.")
		return "", false
	}
	if err := a.Verify(h); err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		WriteProblem(w, http.StatusUnauthorized, "Not authenticated", "The OMC token is not accepted.")
		return "", false
	}
	return h, true
}

// RequireOMCJWT wraps h so that it is reached only with a valid OMC JWT.
func RequireOMCJWT(a OMCAuth, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := authorizeOMC(w, r, a); ok {
			h.ServeHTTP(w, r)
		}
	})
}

// OMCListen is the OMC's POST /Events/Listen: the same Notificaties API
// message as POST /api/v1/notificaties, with the OMC's JWT instead of the
// abonnement token. It takes the same ingest path with the same dedup key,
// so a notification that reaches both endpoints while a gemeente runs the
// two side by side is handled once.
func (s *Server) OMCListen(a OMCAuth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		const source = event.SourceNotificaties
		s.metrics.received(r.Context(), source)
		if _, ok := authorizeOMC(w, r, a); !ok {
			s.metrics.rejected(r.Context(), source, "unauthenticated")
			return
		}
		// The same intake as /api/v1/notificaties, in-flight bound included.
		s.ingestNotification(w, r, "omc /Events/Listen")
	})
}
