package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/sandbox"
	"github.com/mijnservices/koerier/internal/sandbox/notify"
)

// Two Notify services: each posts its receipts to its own path with its
// own token, and one service's token does not open the other's path.
func TestNotifyServicesOwnCallbackTokens(t *testing.T) {
	second := notify.NewKey("koerier_tweede")
	h := startHarness(t, "embedded", func(c *config.Config) {
		c.Notify.Services = []config.NotifyService{{Name: "tweede", APIKey: second.String(), CallbackToken: "tweede-callback"}}
	})
	post := func(path, token string) int {
		req, _ := http.NewRequest(http.MethodPost, h.url+path, strings.NewReader(`{"id":"x","reference":null,"status":"sending","notification_type":"email"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		path, token string
		want        int
	}{
		{"/api/v1/callbacks/notify/tweede", "tweede-callback", http.StatusNoContent},
		{"/api/v1/callbacks/notify/tweede", sandbox.CallbackToken, http.StatusForbidden},
		{"/api/v1/callbacks/notify/default", sandbox.CallbackToken, http.StatusNoContent},
		{"/api/v1/callbacks/notify", sandbox.CallbackToken, http.StatusNoContent},
		{"/api/v1/callbacks/notify", "tweede-callback", http.StatusForbidden},
	} {
		if got := post(tc.path, tc.token); got != tc.want {
			t.Errorf("POST %s with token %q: %d, want %d", tc.path, tc.token, got, tc.want)
		}
	}
}
