package zgw

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mijnservices/koerier/internal/failure"
)

// A peer on the allow-list that redirects elsewhere must not lead Koerier
// there: the check sits below the retry layer and sees every hop.
func TestRedirectOffTheAllowListIsRefused(t *testing.T) {
	var internalHits atomic.Int32
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		internalHits.Add(1)
		_, _ = w.Write([]byte(`{"secret":"metadata"}`))
	}))
	defer internal.Close()
	peer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, internal.URL+"/latest/meta-data", http.StatusFound)
	}))
	defer peer.Close()
	c, err := NewClient([]API{{Root: peer.URL + "/zaken/api/v1", ClientID: testClientID, Secret: testSecret}}, testHTTP())
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	err = c.Get(context.Background(), peer.URL+"/zaken/api/v1/zaken/1", nil, &out)
	var fe *ForbiddenURLError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want a *ForbiddenURLError", err)
	}
	if n := internalHits.Load(); n != 0 {
		t.Fatalf("the redirect target was hit %d times", n)
	}
}

func TestTokenConfigErrorNamesNoSecret(t *testing.T) {
	peer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer peer.Close()
	c, err := NewClient([]API{{Root: peer.URL + "/api/v2", Token: "very-secret-token"}}, testHTTP())
	if err != nil {
		t.Fatal(err)
	}
	err = c.Get(context.Background(), peer.URL+"/api/v2/objects/1", nil, &struct{}{})
	var ae *AuthError
	if !errors.As(err, &ae) || ae.Status != 401 || failure.Classify(err).Kind != failure.KindConfig {
		t.Fatalf("err = %v", err)
	}
	if msg := err.Error(); strings.Contains(msg, "very-secret-token") {
		t.Fatalf("message %q leaks the token", msg)
	}
}
