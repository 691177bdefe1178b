package zgw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/httpclient"
)

// API is one configured API root and how to authenticate to it: a ZGW
// client id and secret (Zaken, Catalogi, Besluiten, Documenten: JWT) or an
// Objecten API token (Authorization: Token).
type API struct {
	// Root, e.g. https://openzaak.gemeente.example/zaken/api/v1. It is also
	// the allow-list entry: only URLs under a configured root are fetched.
	Root string
	// ClientID and Secret for a ZGW JWT.
	ClientID string
	Secret   string
	// UserID and UserRepresentation go into the JWT for Open Zaak's audit
	// trail (defaults: the client id and "Koerier").
	UserID             string
	UserRepresentation string
	// Token for APIs that use `Authorization: Token <token>` (Objecten).
	Token string
}

// Client GETs JSON from the configured API roots, and nothing else.
type Client struct {
	allow *AllowList
	apis  map[string]API // by normalised root
	hc    *http.Client
	now   func() time.Time
}

// NewClient builds a client for apis. o is passed to httpclient.New; its
// Transport (default: a clone of http.DefaultTransport) is wrapped so that
// every attempt, retries and redirects included, is checked against the
// allow-list and carries fresh credentials.
func NewClient(apis []API, o httpclient.Options) (*Client, error) {
	roots := make([]string, 0, len(apis))
	for _, a := range apis {
		roots = append(roots, a.Root)
	}
	al, err := NewAllowList(roots...)
	if err != nil {
		return nil, err
	}
	c := &Client{allow: al, apis: map[string]API{}, now: clock.System}
	for i, a := range apis {
		c.apis[al.roots[i].String()] = a
	}
	base := o.Transport
	if base == nil {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	o.Transport = &authTransport{c: c, base: base}
	c.hc = httpclient.New(o)
	return c, nil
}

// AllowList returns the client's allow-list.
func (c *Client) AllowList() *AllowList { return c.allow }

// authTransport sits below the retry layer, so it sees every attempt.
type authTransport struct {
	c    *Client
	base http.RoundTripper
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	root, err := t.c.allow.root(req.URL.String())
	if err != nil {
		return nil, err
	}
	api := t.c.apis[root]
	r := req.Clone(req.Context())
	switch {
	case api.Token != "":
		r.Header.Set("Authorization", "Token "+api.Token)
	case api.ClientID != "":
		tok, err := Credentials{ClientID: api.ClientID, Secret: api.Secret, UserID: api.UserID, UserRepresentation: api.UserRepresentation}.Token(t.c.now())
		if err != nil {
			return nil, err
		}
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	return t.base.RoundTrip(r)
}

// Get fetches rawURL (plus query, if any) and decodes the JSON answer into
// out. Errors: *ForbiddenURLError (off the allow-list), *AuthError
// (401/403) as failure.Config, *StatusError (other non-2xx; NotFound finds
// it), failure.Temporary for 5xx, 429, 408 and transport failures.
func (c *Client) Get(ctx context.Context, rawURL string, query url.Values, out any) error {
	u := rawURL
	if len(query) > 0 {
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		u += sep + query.Encode()
	}
	resp, err := c.open(ctx, rawURL, u, "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(out); err != nil {
		return fmt.Errorf("zgw: get %s: decode: %w", rawURL, err)
	}
	return nil
}

// Download fetches rawURL (a document's /download) as bytes, the same way
// Get does (allow-list, credentials, errors), and refuses an answer longer
// than limit bytes with ErrTooLarge.
func (c *Client) Download(ctx context.Context, rawURL string, limit int64) ([]byte, error) {
	resp, err := c.open(ctx, rawURL, rawURL, "*/*")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("zgw: download %s: %w (%d bytes, at most %d)", rawURL, ErrTooLarge, resp.ContentLength, limit)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, failure.Temporary(fmt.Errorf("zgw: download %s: %w", rawURL, err))
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("zgw: download %s: %w (more than %d bytes)", rawURL, ErrTooLarge, limit)
	}
	return b, nil
}

// ErrTooLarge: a download is larger than the caller can use.
var ErrTooLarge = errors.New("document too large")

// open GETs u (rawURL with its query) and returns the 2xx response, or the
// classified error of Get.
func (c *Client) open(ctx context.Context, rawURL, u, accept string) (*http.Response, error) {
	root, err := c.allow.root(rawURL)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("zgw: get %s: %w", rawURL, err)
	}
	req.Header.Set("Accept", accept)
	// The VNG Zaken API answers 412 on GET /zaken/{uuid} without it (Open
	// Zaak is lenient); the Objecten API accepts it too.
	req.Header.Set("Accept-Crs", "EPSG:4326")
	resp, err := c.hc.Do(req)
	if err != nil {
		var fe *ForbiddenURLError
		if errors.As(err, &fe) {
			return nil, fe
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("zgw: get %s: %w", rawURL, err)
		}
		return nil, failure.Temporary(fmt.Errorf("zgw: get %s: %w", rawURL, err))
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return nil, failure.Config(&AuthError{APIRoot: root, ClientID: c.apis[root].ClientID, Status: resp.StatusCode})
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		se := &StatusError{Method: http.MethodGet, URL: rawURL, Status: resp.StatusCode, Body: strings.TrimSpace(string(b))}
		if temporaryStatus(resp.StatusCode) {
			return nil, failure.Temporary(se)
		}
		return nil, se
	}
	return resp, nil
}

// List follows a paginated list from rawURL with query and returns all
// results (up to maxPages pages, a guard against a peer that loops).
func List[T any](ctx context.Context, c *Client, rawURL string, query url.Values) ([]T, error) {
	const maxPages = 50
	var all []T
	next, q := rawURL, query
	for i := 0; next != "" && i < maxPages; i++ {
		var p Page[T]
		if err := c.Get(ctx, next, q, &p); err != nil {
			return nil, err
		}
		all = append(all, p.Results...)
		next, q = p.Next, nil
	}
	return all, nil
}
