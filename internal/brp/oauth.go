package brp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mijnservices/koerier/internal/clock"
)

// ClientCredentials fetches and caches an OAuth2 access token with the
// client credentials grant, as BRP gateways in production demand. Its Token
// method fits Options.Token.
type ClientCredentials struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
	Scope        string
	HTTPClient   *http.Client
	// Now is the clock (default clock.System).
	Now func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
}

// Token returns a valid access token, fetching a new one shortly before the
// cached one expires.
func (cc *ClientCredentials) Token(ctx context.Context) (string, error) {
	now := clock.System
	if cc.Now != nil {
		now = cc.Now
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.token != "" && now().Before(cc.expires) {
		return cc.token, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	if cc.Scope != "" {
		form.Set("scope", cc.Scope)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cc.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("brp: token: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(cc.ClientID), url.QueryEscape(cc.ClientSecret))
	hc := cc.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("brp: token: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("brp: token: %s", resp.Status)
	}
	var t struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &t); err != nil || t.AccessToken == "" {
		return "", fmt.Errorf("brp: token: no access_token in the answer")
	}
	life := time.Duration(t.ExpiresIn) * time.Second
	if life <= 0 {
		life = 5 * time.Minute
	}
	// Renew a little early so a token does not expire in flight.
	cc.token, cc.expires = t.AccessToken, now().Add(life*9/10)
	return cc.token, nil
}
