// Package nrc is Koerier's client of Open Notificaties (the ZGW
// notificatierouteringscomponent, Notificaties API 1.0): it registers or
// updates Koerier's abonnement so that notifications reach our webhook. It
// is what `koerier subscribe` runs; it knows nothing of the pipeline.
package nrc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/zgw"
)

// Kanaal is one kanaal of an abonnement with its filters on the kanaal's
// kenmerken (e.g. {"bronorganisatie": "002220647"}).
type Kanaal struct {
	Naam    string            `json:"naam"`
	Filters map[string]string `json:"filters"`
}

// Abonnement is the Notificaties API resource. Auth is write-only: Open
// Notificaties never returns it.
type Abonnement struct {
	URL         string   `json:"url,omitempty"`
	CallbackURL string   `json:"callbackUrl"`
	Auth        string   `json:"auth,omitempty"`
	Kanalen     []Kanaal `json:"kanalen"`
}

// Options say where Open Notificaties is, how to authenticate to it, and
// what abonnement Koerier wants.
type Options struct {
	// BaseURL is the Notificaties API root, e.g.
	// https://notificaties.gemeente.example/api/v1.
	BaseURL string
	// ClientID and Secret sign the ZGW JWT (HS256); the application needs
	// the scope notificaties.consumeren.
	ClientID, Secret string
	// CallbackURL is Koerier's POST /api/v1/notificaties as Open
	// Notificaties reaches it.
	CallbackURL string
	// CallbackAuth is the whole Authorization value Open Notificaties must
	// send to the callback, e.g. "Token s3cret" (one of the server's
	// notificaties tokens).
	CallbackAuth string
	Kanalen      []Kanaal
	// ForceUpdate PUTs an existing abonnement even when its kanalen are
	// unchanged. Open Notificaties does not return auth, so a rotated
	// CallbackAuth can only be pushed this way.
	ForceUpdate bool
	// Now is the clock for the JWT's iat (default clock.System).
	Now func() time.Time
}

// Actions Sync reports.
const (
	Created   = "created"
	Updated   = "updated"
	Unchanged = "unchanged"
)

// Result says what Sync did to which abonnement.
type Result struct {
	URL    string
	Action string // Created, Updated or Unchanged
}

// Errors from Open Notificaties' validation of the callback. When Open
// Notificaties creates or updates an abonnement it first posts a probe
// notification (kanaal "test") to the callback without Authorization and
// wants 401 or 403, then with the abonnement's auth and wants 204.
var (
	// ErrCallbackNotProtected: the callback accepted the probe without
	// Authorization (code no-auth-on-callback-url).
	ErrCallbackNotProtected = errors.New("the callback URL does not refuse a request without Authorization (Open Notificaties wants 401 or 403)")
	// ErrCallbackRejected: the callback did not answer the authenticated
	// probe with 204 (code invalid-callback-url): wrong URL, wrong auth, or
	// Koerier not reachable from Open Notificaties.
	ErrCallbackRejected = errors.New("the callback URL did not answer the authenticated probe with 204 (check callback URL, auth and reachability)")
)

// APIError is an error answer of Open Notificaties, with its ZGW problem
// document when it sent one.
type APIError struct {
	Op            string
	StatusCode    int
	Code          string
	Title         string
	Detail        string
	InvalidParams []InvalidParam
}

// InvalidParam is one field Open Notificaties rejected.
type InvalidParam struct {
	Name   string `json:"name"`
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "nrc: %s: %d %s", e.Op, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Title != "" {
		b.WriteString(": " + e.Title)
	}
	if e.Detail != "" && e.Detail != e.Title {
		b.WriteString(": " + e.Detail)
	}
	for _, p := range e.InvalidParams {
		fmt.Fprintf(&b, "; %s: %s (%s)", p.Name, p.Reason, p.Code)
	}
	return b.String()
}

// Unwrap maps the callback validation codes to ErrCallbackNotProtected and
// ErrCallbackRejected, so callers can explain them.
func (e *APIError) Unwrap() []error {
	var errs []error
	for _, p := range e.InvalidParams {
		switch p.Code {
		case "no-auth-on-callback-url":
			errs = append(errs, ErrCallbackNotProtected)
		case "invalid-callback-url":
			errs = append(errs, ErrCallbackRejected)
		}
	}
	return errs
}

// Subscribe makes sure Koerier's abonnement exists as configured: it lists
// the abonnementen, finds ours by callbackUrl, creates it (POST) when
// absent, replaces it (PUT) when its kanalen or filters differ, and leaves
// it alone otherwise. It returns the abonnement's URL and whether it was
// created.
func Subscribe(ctx context.Context, hc *http.Client, o Options) (abonnementURL string, created bool, err error) {
	res, err := Sync(ctx, hc, o)
	return res.URL, res.Action == Created, err
}

// Sync is Subscribe, reporting whether it created, updated or left the
// abonnement unchanged.
func Sync(ctx context.Context, hc *http.Client, o Options) (Result, error) {
	if err := o.validate(); err != nil {
		return Result{}, err
	}
	c := client{hc: hc, o: o, root: strings.TrimSuffix(o.BaseURL, "/")}
	var list []Abonnement
	if err := c.do(ctx, "list abonnementen", http.MethodGet, c.root+"/abonnement", nil, &list); err != nil {
		return Result{}, err
	}
	want := Abonnement{CallbackURL: o.CallbackURL, Auth: o.CallbackAuth, Kanalen: normalise(o.Kanalen)}
	// Ours is the first abonnement on our callback URL. (A second one would
	// only cause duplicate deliveries, which ingest drops.)
	var found *Abonnement
	for i := range list {
		if sameURL(list[i].CallbackURL, o.CallbackURL) {
			found = &list[i]
			break
		}
	}
	if found == nil {
		var got Abonnement
		if err := c.do(ctx, "create abonnement", http.MethodPost, c.root+"/abonnement", want, &got); err != nil {
			return Result{}, err
		}
		return Result{URL: got.URL, Action: Created}, nil
	}
	if !o.ForceUpdate && sameKanalen(found.Kanalen, want.Kanalen) {
		return Result{URL: found.URL, Action: Unchanged}, nil
	}
	if found.URL == "" {
		return Result{}, fmt.Errorf("nrc: update abonnement: Open Notificaties listed our abonnement without a url")
	}
	var got Abonnement
	if err := c.do(ctx, "update abonnement", http.MethodPut, found.URL, want, &got); err != nil {
		return Result{}, err
	}
	u := got.URL
	if u == "" {
		u = found.URL
	}
	return Result{URL: u, Action: Updated}, nil
}

func (o Options) validate() error {
	var missing []string
	for name, v := range map[string]string{"BaseURL": o.BaseURL, "ClientID": o.ClientID, "Secret": o.Secret, "CallbackURL": o.CallbackURL, "CallbackAuth": o.CallbackAuth} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(o.Kanalen) == 0 {
		missing = append(missing, "Kanalen")
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("nrc: subscribe: missing %s", strings.Join(missing, ", "))
	}
	return nil
}

// normalise sorts kanalen by name and gives every kanaal a non-nil filter
// map, the way Open Notificaties returns them.
func normalise(in []Kanaal) []Kanaal {
	out := make([]Kanaal, len(in))
	for i, k := range in {
		f := map[string]string{}
		maps.Copy(f, k.Filters)
		out[i] = Kanaal{Naam: k.Naam, Filters: f}
	}
	slices.SortFunc(out, func(a, b Kanaal) int { return strings.Compare(a.Naam, b.Naam) })
	return out
}

func sameKanalen(a, b []Kanaal) bool {
	a, b = normalise(a), normalise(b)
	return slices.EqualFunc(a, b, func(x, y Kanaal) bool {
		return x.Naam == y.Naam && maps.Equal(x.Filters, y.Filters)
	})
}

func sameURL(a, b string) bool {
	return strings.TrimSuffix(a, "/") == strings.TrimSuffix(b, "/")
}

type client struct {
	hc   *http.Client
	o    Options
	root string
}

func (c client) do(ctx context.Context, op, method, url string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("nrc: %s: encode: %w", op, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return fmt.Errorf("nrc: %s: %w", op, err)
	}
	now := clock.System
	if c.o.Now != nil {
		now = c.o.Now
	}
	tok, err := zgw.Credentials{ClientID: c.o.ClientID, Secret: c.o.Secret}.Token(now())
	if err != nil {
		return fmt.Errorf("nrc: %s: %w", op, err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("nrc: %s: %w", op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("nrc: %s: read response: %w", op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &APIError{Op: op, StatusCode: resp.StatusCode}
		var p struct {
			Code          string         `json:"code"`
			Title         string         `json:"title"`
			Detail        string         `json:"detail"`
			InvalidParams []InvalidParam `json:"invalidParams"`
		}
		if json.Unmarshal(data, &p) == nil {
			e.Code, e.Title, e.Detail, e.InvalidParams = p.Code, p.Title, p.Detail, p.InvalidParams
		}
		return e
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("nrc: %s: decode response: %w", op, err)
		}
	}
	return nil
}
