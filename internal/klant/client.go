// Package klant finds out how Koerier can reach a subject: it owns the Open
// Klant 2 (Klantinteracties API) client and the Resolver that turns an
// event.Subject into an event.Recipient, asking BRP, KVK and the
// Berichtenbox only for what the route stage needs. It must not know about
// rules, channels' delivery or the bus.
package klant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/httpclient"
)

// ErrNotFound means the partij (by URL) does not exist.
var ErrNotFound = errors.New("klant: partij not found")

// maxPages bounds list paging so that a misbehaving server cannot keep us
// busy forever.
const maxPages = 50

// Client talks to the Open Klant 2 Klantinteracties API.
type Client struct {
	base  string
	token string
	hc    *http.Client
}

// NewClient returns a client for baseURL (e.g.
// https://openklant.example.nl/klantinteracties/api/v1) authenticating with
// `Authorization: Token <token>`. hc should come from httpclient.New; nil
// builds a default one.
func NewClient(baseURL, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = httpclient.New(httpclient.Options{})
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), token: token, hc: hc}
}

// BaseURL returns the API root the client was built with.
func (c *Client) BaseURL() string { return c.base }

// HTTPError is a non-2xx answer from Open Klant.
type HTTPError struct {
	Op         string
	StatusCode int
	Status     string
	Detail     string
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("klant: %s: %s", e.Op, e.Status)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// PartijenByIdentificator lists the partijen that carry the identificator
// soort/objectID (soort is bsn, kvk_nummer, vestigingsnummer or rsin), with
// their digitale adressen expanded.
func (c *Client) PartijenByIdentificator(ctx context.Context, soort, objectID string) ([]Partij, error) {
	q := url.Values{}
	q.Set("partijIdentificator__codeSoortObjectId", soort)
	q.Set("partijIdentificator__objectId", objectID)
	q.Set("expand", "digitaleAdressen")
	return c.listPartijen(ctx, "find partij by "+soort, q)
}

// PartijenByVestiging lists the partijen for one vestiging of the company
// with KVK number kvk. A vestigingsnummer is only unique under its KVK
// number, which Open Klant models with subIdentificatorVan.
func (c *Client) PartijenByVestiging(ctx context.Context, kvk, vestigingsnummer string) ([]Partij, error) {
	q := url.Values{}
	q.Set("partijIdentificator__codeSoortObjectId", IDVestigingsnummer)
	q.Set("partijIdentificator__objectId", vestigingsnummer)
	if kvk != "" {
		q.Set("subIdentificatorVan__codeSoortObjectId", IDKVK)
		q.Set("subIdentificatorVan__objectId", kvk)
	}
	q.Set("expand", "digitaleAdressen")
	return c.listPartijen(ctx, "find partij by vestigingsnummer", q)
}

// Contactpersonen lists the partijen of soort contactpersoon that work for
// the organisatie org. The API has no filter on werkteVoorPartij, so we page
// through the contactpersonen and select on the link.
func (c *Client) Contactpersonen(ctx context.Context, org Partij) ([]Partij, error) {
	q := url.Values{}
	q.Set("soortPartij", SoortContactpersoon)
	q.Set("expand", "digitaleAdressen")
	all, err := c.listPartijen(ctx, "list contactpersonen", q)
	if err != nil {
		return nil, err
	}
	var out []Partij
	for _, p := range all {
		w := p.PartijIdentificatie.WerkteVoorPartij
		if w == nil {
			continue
		}
		if (org.UUID != "" && w.UUID == org.UUID) || (org.URL != "" && w.URL == org.URL) {
			out = append(out, p)
		}
	}
	return out, nil
}

// Partij fetches one partij by its URL, with digitale adressen expanded.
// The URL must lie under the client's base URL: it comes from a rol on a
// zaak, and we do not send our token to any host a zaak names.
func (c *Client) Partij(ctx context.Context, partijURL string) (Partij, error) {
	if !strings.HasPrefix(partijURL, c.base+"/partijen/") {
		return Partij{}, failure.Permanent("url-buiten-api", errors.New("klant: get partij: URL is not under the configured Open Klant API"))
	}
	u, err := url.Parse(partijURL)
	if err != nil {
		return Partij{}, failure.Permanent("ongeldig-verzoek", fmt.Errorf("klant: get partij: %w", err))
	}
	q := u.Query()
	q.Set("expand", "digitaleAdressen")
	u.RawQuery = q.Encode()
	var p Partij
	if err := c.get(ctx, "get partij", u.String(), &p); err != nil {
		return Partij{}, err
	}
	return p, nil
}

// DigitaalAdres fetches one digitaal adres by URL, for servers that do not
// support expand.
func (c *Client) DigitaalAdres(ctx context.Context, adresURL string) (DigitaalAdres, error) {
	if !strings.HasPrefix(adresURL, c.base+"/") {
		return DigitaalAdres{}, failure.Permanent("url-buiten-api", errors.New("klant: get digitaal adres: URL is not under the configured Open Klant API"))
	}
	var d DigitaalAdres
	err := c.get(ctx, "get digitaal adres", adresURL, &d)
	return d, err
}

func (c *Client) listPartijen(ctx context.Context, op string, q url.Values) ([]Partij, error) {
	next := c.base + "/partijen?" + q.Encode()
	var out []Partij
	for i := 0; next != ""; i++ {
		if i == maxPages {
			return nil, failure.Permanent("te-veel-paginas", fmt.Errorf("klant: %s: more than %d pages", op, maxPages))
		}
		var page Page[Partij]
		if err := c.get(ctx, op, next, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Results...)
		next = ""
		if page.Next != nil && *page.Next != "" {
			// Follow only links back to our own server (the token goes along).
			if !strings.HasPrefix(*page.Next, c.base+"/") {
				return nil, failure.Permanent("url-buiten-api", fmt.Errorf("klant: %s: next page is not under the configured Open Klant API", op))
			}
			next = *page.Next
		}
	}
	return out, nil
}

func (c *Client) get(ctx context.Context, op, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return failure.Permanent("ongeldig-verzoek", fmt.Errorf("klant: %s: %w", op, err))
	}
	req.Header.Set("Authorization", "Token "+c.token)
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		// The *url.Error names the request URL, which may carry a BSN in
		// its query: keep only the cause.
		var ue *url.Error
		for errors.As(err, &ue) && ue.Err != nil {
			err = ue.Err
		}
		return failure.Temporary(fmt.Errorf("klant: %s: %w", op, err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return failure.Temporary(fmt.Errorf("klant: %s: read body: %w", op, err))
	}
	if resp.StatusCode/100 != 2 {
		return classify(resp, &HTTPError{Op: op, StatusCode: resp.StatusCode, Status: resp.Status, Detail: problemDetail(body)})
	}
	if err := json.Unmarshal(body, v); err != nil {
		// A malformed answer is usually a proxy error page: try again later.
		return failure.Temporary(fmt.Errorf("klant: %s: decode: %w", op, err))
	}
	return nil
}

func classify(resp *http.Response, e *HTTPError) error {
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return failure.Permanent("niet-gevonden", fmt.Errorf("%w: %w", ErrNotFound, e))
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout:
		return failure.RetryAfter(e, httpclient.RetryAfter(resp))
	default:
		return failure.Permanent("geweigerd", e)
	}
}

// problemDetail extracts a short, human part of an error body (DRF's
// `detail` or problem+json's `title`/`detail`).
func problemDetail(body []byte) string {
	var p struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	if json.Unmarshal(body, &p) != nil {
		return ""
	}
	s := p.Detail
	if s == "" {
		s = p.Title
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
