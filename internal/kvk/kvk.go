// Package kvk is the client for the KVK Handelsregister API (basisprofiel
// and vestigingsprofiel) that gives a company's postal address when Open
// Klant has no correspondentieadres for it: the postadres when registered,
// else the bezoekadres. It must not know about Open Klant or channels.
package kvk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/httpclient"
)

// Options configure a Client.
type Options struct {
	// BaseURL is the API root without version, e.g. https://api.kvk.nl/api
	// (or https://api.kvk.nl/test/api for KVK's test environment).
	BaseURL string
	// APIKey goes in the `apikey` header.
	APIKey     string
	HTTPClient *http.Client
}

// Client asks the Handelsregister.
type Client struct{ o Options }

// New returns a client.
func New(o Options) *Client {
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if o.HTTPClient == nil {
		o.HTTPClient = httpclient.New(httpclient.Options{})
	}
	return &Client{o: o}
}

// Basisprofiel is the company as a whole.
type Basisprofiel struct {
	KvkNummer     string `json:"kvkNummer"`
	Naam          string `json:"naam"`
	IndNonMailing string `json:"indNonMailing"`
	Handelsnamen  []struct {
		Naam     string `json:"naam"`
		Volgorde int    `json:"volgorde"`
	} `json:"handelsnamen"`
	Embedded struct {
		Hoofdvestiging *Vestiging `json:"hoofdvestiging"`
	} `json:"_embedded"`
}

// Vestiging is one establishment of a company.
type Vestiging struct {
	Vestigingsnummer  string  `json:"vestigingsnummer"`
	KvkNummer         string  `json:"kvkNummer"`
	EersteHandelsnaam string  `json:"eersteHandelsnaam"`
	IndHoofdvestiging string  `json:"indHoofdvestiging"`
	Adressen          []Adres `json:"adressen"`
}

// Adres is a bezoek- or postadres of a vestiging.
type Adres struct {
	Type                 string `json:"type"` // bezoekadres or postadres
	IndAfgeschermd       string `json:"indAfgeschermd"`
	VolledigAdres        string `json:"volledigAdres"`
	Straatnaam           string `json:"straatnaam"`
	Huisnummer           int    `json:"huisnummer"`
	Huisletter           string `json:"huisletter"`
	HuisnummerToevoeging string `json:"huisnummerToevoeging"`
	ToevoegingAdres      string `json:"toevoegingAdres"`
	Postcode             string `json:"postcode"`
	Postbusnummer        int    `json:"postbusnummer"`
	Plaats               string `json:"plaats"`
	StraatHuisnummer     string `json:"straatHuisnummer"`
	PostcodeWoonplaats   string `json:"postcodeWoonplaats"`
	Regio                string `json:"regio"`
	Land                 string `json:"land"`
}

// HTTPError is a non-2xx answer.
type HTTPError struct {
	Op         string
	StatusCode int
	Status     string
	Code       string // KVK's fout code, e.g. IPD0004
}

func (e *HTTPError) Error() string {
	s := "kvk: " + e.Op + ": " + e.Status
	if e.Code != "" {
		s += ": " + e.Code
	}
	return s
}

// ErrNotFound means the Handelsregister does not know the number.
var ErrNotFound = errors.New("kvk: not found")

// Basisprofiel fetches the company's basisprofiel with its hoofdvestiging.
func (c *Client) Basisprofiel(ctx context.Context, kvkNummer string) (Basisprofiel, error) {
	var b Basisprofiel
	err := c.get(ctx, "get basisprofiel", "/v1/basisprofielen/"+url.PathEscape(kvkNummer)+"?geoData=false", &b)
	return b, err
}

// Vestigingsprofiel fetches one vestiging.
func (c *Client) Vestigingsprofiel(ctx context.Context, vestigingsnummer string) (Vestiging, error) {
	var v Vestiging
	err := c.get(ctx, "get vestigingsprofiel", "/v1/vestigingsprofielen/"+url.PathEscape(vestigingsnummer)+"?geoData=false", &v)
	return v, err
}

// Result is a company's postal address with its source.
type Result struct {
	Found   bool                 `json:"found"`
	Name    string               `json:"name,omitempty"`
	Address *event.PostalAddress `json:"address,omitempty"`
	Note    string               `json:"note,omitempty"`
	Source  event.Source         `json:"source"`
}

// PostalAddress returns the postal address of the vestiging (when
// vestigingsnummer is set) or of the hoofdvestiging of kvkNummer.
func (c *Client) PostalAddress(ctx context.Context, kvkNummer, vestigingsnummer string) (Result, error) {
	var (
		v    *Vestiging
		name string
		src  event.Source
	)
	if vestigingsnummer != "" {
		vp, err := c.Vestigingsprofiel(ctx, vestigingsnummer)
		if errors.Is(err, ErrNotFound) {
			return Result{Note: "vestiging not in the Handelsregister", Source: event.Source{Registry: "kvk", Record: "vestigingsprofiel " + vestigingsnummer}}, nil
		}
		if err != nil {
			return Result{}, err
		}
		v, name = &vp, vp.EersteHandelsnaam
		src = event.Source{Registry: "kvk", Record: "vestigingsprofiel " + vestigingsnummer}
	} else {
		bp, err := c.Basisprofiel(ctx, kvkNummer)
		if errors.Is(err, ErrNotFound) {
			return Result{Note: "KVK number not in the Handelsregister", Source: event.Source{Registry: "kvk", Record: "basisprofiel " + kvkNummer}}, nil
		}
		if err != nil {
			return Result{}, err
		}
		v, name = bp.Embedded.Hoofdvestiging, bp.Naam
		src = event.Source{Registry: "kvk", Record: "basisprofiel " + kvkNummer}
	}
	res := Result{Found: true, Name: name, Source: src}
	if v == nil {
		res.Note = "no hoofdvestiging"
		return res, nil
	}
	var post, bezoek *Adres
	for i := range v.Adressen {
		a := &v.Adressen[i]
		if a.IndAfgeschermd == "Ja" {
			continue
		}
		switch a.Type {
		case "postadres":
			post = a
		case "bezoekadres":
			bezoek = a
		}
	}
	switch {
	case post != nil:
		res.Address, res.Note = compose(name, *post), "postadres of vestiging "+v.Vestigingsnummer
	case bezoek != nil:
		res.Address, res.Note = compose(name, *bezoek), "bezoekadres of vestiging "+v.Vestigingsnummer+" (no postadres)"
	default:
		res.Note = "no unshielded address for vestiging " + v.Vestigingsnummer
	}
	return res, nil
}

// compose writes the address lines of a letter: street or postbus, then
// "1234 AB  PLAATS" (NEN 5825: two spaces, city in capitals).
func compose(name string, a Adres) *event.PostalAddress {
	var l1 string
	switch {
	case a.Postbusnummer > 0:
		l1 = fmt.Sprintf("Postbus %d", a.Postbusnummer)
	case a.StraatHuisnummer != "":
		l1 = a.StraatHuisnummer
	default:
		l1 = strings.TrimSpace(fmt.Sprintf("%s %d%s", a.Straatnaam, a.Huisnummer, a.Huisletter))
		if a.HuisnummerToevoeging != "" {
			l1 += "-" + a.HuisnummerToevoeging
		}
	}
	pc := strings.ReplaceAll(a.Postcode, " ", "")
	if len(pc) == 6 {
		pc = pc[:4] + " " + pc[4:]
	}
	l2 := strings.TrimSpace(pc + "  " + strings.ToUpper(a.Plaats))
	lines := []string{}
	for _, l := range []string{l1, l2} {
		if l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 && a.VolledigAdres != "" {
		lines = append(lines, a.VolledigAdres)
	}
	land := ""
	if a.Land != "" && !strings.EqualFold(a.Land, "Nederland") {
		land = a.Land
	}
	return &event.PostalAddress{NameLine: name, Lines: lines, Land: land}
}

func (c *Client) get(ctx context.Context, op, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.o.BaseURL+path, nil)
	if err != nil {
		return failure.Permanent("ongeldig-verzoek", fmt.Errorf("kvk: %s: %w", op, err))
	}
	req.Header.Set("apikey", c.o.APIKey)
	req.Header.Set("Accept", "application/json")
	resp, err := c.o.HTTPClient.Do(req)
	if err != nil {
		var ue *url.Error
		for errors.As(err, &ue) && ue.Err != nil {
			err = ue.Err
		}
		return failure.Temporary(fmt.Errorf("kvk: %s: %w", op, err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return failure.Temporary(fmt.Errorf("kvk: %s: read body: %w", op, err))
	}
	if resp.StatusCode/100 != 2 {
		var f struct {
			Fout []struct {
				Code string `json:"code"`
			} `json:"fout"`
		}
		_ = json.Unmarshal(raw, &f)
		e := &HTTPError{Op: op, StatusCode: resp.StatusCode, Status: resp.Status}
		if len(f.Fout) > 0 {
			e.Code = f.Fout[0].Code
		}
		switch {
		case resp.StatusCode == http.StatusNotFound:
			return failure.Permanent("niet-gevonden", fmt.Errorf("%w: %w", ErrNotFound, e))
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			return failure.RetryAfter(e, httpclient.RetryAfter(resp))
		default:
			return failure.Permanent("geweigerd", e)
		}
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return failure.Temporary(fmt.Errorf("kvk: %s: decode: %w", op, err))
	}
	return nil
}
