package httpapi

import (
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// omcToken signs claims as the OMC's SecretsManager does (HS256; client_id,
// user_id, user_representation, iss, aud, iat, exp).
func omcToken(t *testing.T, secret string, mod func(jwt.MapClaims)) string {
	t.Helper()
	c := jwt.MapClaims{
		"client_id": "OMC", "user_id": "tester", "user_representation": "Charlotte Sanders",
		"iss": "OMC", "aud": "OMC",
		"iat": fixedNow.Add(-time.Minute).Unix(), "exp": fixedNow.Add(59 * time.Minute).Unix(),
	}
	if mod != nil {
		mod(c)
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + s
}

func TestOMCListen(t *testing.T) {
	const secret = "abcd123t2gw3r8192dewEg%wdlsa3e!"
	auth := OMCAuth{Secret: secret, Issuer: "OMC", Audience: "OMC", ClockSkew: DefaultOMCClockSkew, Now: func() time.Time { return fixedNow }}
	h := newHarness(t, nil)
	h.srv.Mount("POST /Events/Listen", h.srv.OMCListen(auth))
	status := readTestdata(t, "status-created.json")

	// The OMC zero-pads its key to 64 bytes; HMAC pads short keys with
	// zeros itself, so a token signed with the padded key must pass too.
	padded := make([]byte, 64)
	copy(padded, secret)

	cases := []struct {
		name string
		auth string
		want int
	}{
		{"no header (Open Notificaties' probe)", "", http.StatusUnauthorized},
		{"abonnement token instead of JWT", testToken, http.StatusUnauthorized},
		{"wrong secret", omcToken(t, "other", nil), http.StatusUnauthorized},
		{"wrong issuer", omcToken(t, secret, func(c jwt.MapClaims) { c["iss"] = "x" }), http.StatusUnauthorized},
		{"wrong audience", omcToken(t, secret, func(c jwt.MapClaims) { c["aud"] = "x" }), http.StatusUnauthorized},
		{"expired beyond skew", omcToken(t, secret, func(c jwt.MapClaims) { c["exp"] = fixedNow.Add(-6 * time.Minute).Unix() }), http.StatusUnauthorized},
		{"no exp", omcToken(t, secret, func(c jwt.MapClaims) { delete(c, "exp") }), http.StatusUnauthorized},
		{"expired within skew", omcToken(t, secret, func(c jwt.MapClaims) { c["exp"] = fixedNow.Add(-4 * time.Minute).Unix() }), http.StatusNoContent},
		{"valid", omcToken(t, secret, nil), http.StatusNoContent},
		{"valid, key padded as the OMC does", omcToken(t, string(padded), nil), http.StatusNoContent},
	}
	for _, c := range cases {
		rec := h.do("POST", "/Events/Listen", c.auth, "application/json", status)
		if rec.Code != c.want {
			t.Errorf("%s: status %d, want %d (%s)", c.name, rec.Code, c.want, rec.Body)
		}
	}
	got := h.published(t)
	if len(got) != 1 {
		t.Fatalf("published %d inbounds, want 1 (the rest are duplicates)", len(got))
	}
	// Same dedup key as /api/v1/notificaties: side by side, one is handled.
	if rec := h.do("POST", "/api/v1/notificaties", testToken, "application/json", status); rec.Code != http.StatusNoContent {
		t.Fatalf("notificaties: %d", rec.Code)
	}
	if again := h.published(t); len(again) != 0 {
		t.Fatalf("the same notification on /api/v1/notificaties was published again")
	}
}

func TestRequireOMCJWT(t *testing.T) {
	auth := OMCAuth{Secret: "s", Issuer: "OMC", Audience: "OMC", Now: func() time.Time { return fixedNow }}
	h := newHarness(t, nil)
	h.srv.Mount("POST /Notify/Confirm", RequireOMCJWT(auth, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) })))
	if rec := h.do("POST", "/Notify/Confirm", "", "", nil); rec.Code != http.StatusUnauthorized {
		t.Fatalf("no token: %d", rec.Code)
	}
	if rec := h.do("POST", "/Notify/Confirm", omcToken(t, "s", nil), "", nil); rec.Code != http.StatusAccepted {
		t.Fatalf("valid token: %d", rec.Code)
	}
}
