// Package brp is the client for Haal Centraal BRP Personen bevragen v2: it
// asks for one person by BSN (RaadpleegMetBurgerservicenummer) and turns the
// answer into what Koerier needs for a letter: the NEN 5825 address lines
// BRP composes (adressering), the name line, and the facts that stop or
// change a mailing (deceased, emigrated, secrecy, curatele). It must not
// know about Open Klant or channels.
package brp

import (
	"bytes"
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

// Fields is the explicit fields list we ask for. It never names the
// automatically delivered fields (inOnderzoek, geheimhoudingPersoonsgegevens,
// opschortingBijhouding, rni, verificatie): BRP answers 400 when it does.
var Fields = []string{
	"burgerservicenummer",
	"naam.volledigeNaam",
	"adressering.adresregel1",
	"adressering.adresregel2",
	"adressering.adresregel3",
	"adressering.land",
	"adressering.aanhef",
	"adressering.aanschrijfwijze",
	"adressering.indicatieVastgesteldVerblijftNietOpAdres",
	"overlijden.datum",
	"indicatieCurateleRegister",
}

// Redenen opschorting bijhouding (BRP table 'Reden opschorting bijhouding').
const (
	OpschortingOverlijden = "O"
	OpschortingEmigratie  = "E"
	OpschortingFout       = "F"
	OpschortingMinisterie = "M"
	OpschortingRNI        = "R"
)

// Options configure a Client.
type Options struct {
	// BaseURL is the API root, e.g.
	// https://proefomgeving.haalcentraal.nl/haalcentraal/api/brp.
	BaseURL string
	APIKey  string
	// APIKeyHeader names the header the key goes in (default X-API-KEY;
	// some gateways want another).
	APIKeyHeader string
	// Token, when set, is called before each request and sent as a Bearer
	// token (OAuth2 client credentials, see ClientCredentials).
	Token func(ctx context.Context) (string, error)
	// HTTPClient should come from httpclient.New (with MutualTLS as its
	// Transport for a client certificate); nil builds a default one.
	HTTPClient *http.Client
}

// Client asks BRP about persons.
type Client struct {
	o Options
}

// New returns a client.
func New(o Options) *Client {
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if o.APIKeyHeader == "" {
		o.APIKeyHeader = "X-API-KEY"
	}
	if o.HTTPClient == nil {
		o.HTTPClient = httpclient.New(httpclient.Options{})
	}
	return &Client{o: o}
}

// Query is the RaadpleegMetBurgerservicenummer request body.
type Query struct {
	Type                string   `json:"type"`
	Burgerservicenummer []string `json:"burgerservicenummer"`
	Fields              []string `json:"fields"`
}

// Response is the RaadpleegMetBurgerservicenummer response body.
type Response struct {
	Type     string    `json:"type"`
	Personen []Persoon `json:"personen"`
}

// Persoon holds the fields we ask for plus the automatically delivered ones.
type Persoon struct {
	Burgerservicenummer           string                 `json:"burgerservicenummer"`
	Naam                          *Naam                  `json:"naam,omitempty"`
	GeheimhoudingPersoonsgegevens bool                   `json:"geheimhoudingPersoonsgegevens,omitempty"`
	OpschortingBijhouding         *OpschortingBijhouding `json:"opschortingBijhouding,omitempty"`
	Overlijden                    *Overlijden            `json:"overlijden,omitempty"`
	Adressering                   *Adressering           `json:"adressering,omitempty"`
	IndicatieCurateleRegister     bool                   `json:"indicatieCurateleRegister,omitempty"`
}

// Naam is the person's name as BRP composes it.
type Naam struct {
	VolledigeNaam string `json:"volledigeNaam,omitempty"`
}

// Waardetabel is a code with its description.
type Waardetabel struct {
	Code         string `json:"code"`
	Omschrijving string `json:"omschrijving"`
}

// Datum is BRP's AbstractDatum: a full date, a year, a year and month, or
// unknown, told apart by Type.
type Datum struct {
	Type        string `json:"type"`
	Datum       string `json:"datum,omitempty"`
	LangFormaat string `json:"langFormaat,omitempty"`
	Jaar        int    `json:"jaar,omitempty"`
	Maand       int    `json:"maand,omitempty"`
	Onbekend    bool   `json:"onbekend,omitempty"`
}

// OpschortingBijhouding says BRP stopped keeping this person current.
type OpschortingBijhouding struct {
	Reden Waardetabel `json:"reden"`
	Datum *Datum      `json:"datum,omitempty"`
}

// Overlijden is the date of death.
type Overlijden struct {
	Datum *Datum `json:"datum,omitempty"`
}

// Adressering is the address and salutation BRP composes for letters.
type Adressering struct {
	Adresregel1                              string           `json:"adresregel1,omitempty"`
	Adresregel2                              string           `json:"adresregel2,omitempty"`
	Adresregel3                              string           `json:"adresregel3,omitempty"`
	Land                                     *Waardetabel     `json:"land,omitempty"`
	Aanhef                                   string           `json:"aanhef,omitempty"`
	Aanschrijfwijze                          *Aanschrijfwijze `json:"aanschrijfwijze,omitempty"`
	GebruikInLopendeTekst                    string           `json:"gebruikInLopendeTekst,omitempty"`
	IndicatieVastgesteldVerblijftNietOpAdres bool             `json:"indicatieVastgesteldVerblijftNietOpAdres,omitempty"`
}

// Aanschrijfwijze is the composed name for the address block.
type Aanschrijfwijze struct {
	Naam          string `json:"naam,omitempty"`
	Aanspreekvorm string `json:"aanspreekvorm,omitempty"`
}

// Result is what Koerier takes from one person's BRP record.
type Result struct {
	// Found is false when BRP does not know the BSN (empty personen).
	Found bool `json:"found"`
	// Address is nil when no letter can be sent (deceased, fout, address
	// not established, no adressering).
	Address *event.PostalAddress `json:"address,omitempty"`
	// Aanhef is the salutation BRP composed ("Geachte heer Jansen").
	Aanhef   string `json:"aanhef,omitempty"`
	Deceased bool   `json:"deceased,omitempty"`
	// NoPost: opschorting F (registered in error) or M: do not write.
	NoPost bool `json:"noPost,omitempty"`
	// Abroad: emigrated (E) or only in the RNI (R); the address, if any, is
	// abroad or unknown.
	Abroad   bool `json:"abroad,omitempty"`
	Secrecy  bool `json:"secrecy,omitempty"`
	Curatele bool `json:"curatele,omitempty"`
	// NotAtAddress: the gemeente established the person does not live at
	// the registered address.
	NotAtAddress bool `json:"notAtAddress,omitempty"`
	// Opschorting is the reden code, "" if none.
	Opschorting string `json:"opschorting,omitempty"`
	// Note explains the outcome for admins, without personal data.
	Note string `json:"note,omitempty"`
	// Source names the record: the endpoint, never the BSN.
	Source event.Source `json:"source"`
}

// HTTPError is a non-2xx answer from BRP, from its problem+json body.
type HTTPError struct {
	StatusCode int
	Status     string
	Title      string
	Code       string
}

func (e *HTTPError) Error() string {
	s := "brp: raadpleeg: " + e.Status
	if e.Code != "" {
		s += ": " + e.Code
	}
	if e.Title != "" {
		s += ": " + e.Title
	}
	return s
}

// Raadpleeg asks BRP for the person with this BSN. Errors are classified
// with failure.Temporary / failure.Permanent and never contain the BSN.
func (c *Client) Raadpleeg(ctx context.Context, bsn string) (Result, error) {
	body, err := json.Marshal(Query{Type: "RaadpleegMetBurgerservicenummer", Burgerservicenummer: []string{bsn}, Fields: Fields})
	if err != nil {
		return Result{}, fmt.Errorf("brp: raadpleeg: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.o.BaseURL+"/personen", bytes.NewReader(body))
	if err != nil {
		return Result{}, failure.Permanent("ongeldig-verzoek", fmt.Errorf("brp: raadpleeg: %w", err))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Accept", "application/json")
	if c.o.APIKey != "" {
		req.Header.Set(c.o.APIKeyHeader, c.o.APIKey)
	}
	if c.o.Token != nil {
		tok, err := c.o.Token(ctx)
		if err != nil {
			return Result{}, failure.Temporary(fmt.Errorf("brp: raadpleeg: get token: %w", err))
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := c.o.HTTPClient.Do(req)
	if err != nil {
		var ue *url.Error
		for errors.As(err, &ue) && ue.Err != nil {
			err = ue.Err
		}
		return Result{}, failure.Temporary(fmt.Errorf("brp: raadpleeg: %w", err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return Result{}, failure.Temporary(fmt.Errorf("brp: raadpleeg: read body: %w", err))
	}
	if resp.StatusCode/100 != 2 {
		var p struct {
			Title string `json:"title"`
			Code  string `json:"code"`
		}
		_ = json.Unmarshal(raw, &p)
		e := &HTTPError{StatusCode: resp.StatusCode, Status: resp.Status, Title: p.Title, Code: p.Code}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			return Result{}, failure.RetryAfter(e, httpclient.RetryAfter(resp))
		}
		return Result{}, failure.Permanent("geweigerd", e)
	}
	var r Response
	if err := json.Unmarshal(raw, &r); err != nil {
		return Result{}, failure.Temporary(fmt.Errorf("brp: raadpleeg: decode: %w", err))
	}
	src := event.Source{Registry: "brp", Record: c.o.BaseURL + "/personen (RaadpleegMetBurgerservicenummer)"}
	for _, p := range r.Personen {
		// BRP answers with the person asked for; a different BSN would be a
		// gateway mix-up that must not put someone else's address on a letter.
		if p.Burgerservicenummer == "" || p.Burgerservicenummer == bsn {
			return Interpret(p, src), nil
		}
	}
	return Result{Found: false, Note: "BRP does not know this BSN", Source: src}, nil
}

// Interpret turns a BRP person into a Result.
func Interpret(p Persoon, src event.Source) Result {
	res := Result{Found: true, Secrecy: p.GeheimhoudingPersoonsgegevens, Curatele: p.IndicatieCurateleRegister, Source: src}
	var notes []string
	if o := p.OpschortingBijhouding; o != nil {
		res.Opschorting = o.Reden.Code
		switch o.Reden.Code {
		case OpschortingOverlijden:
			res.Deceased = true
			notes = append(notes, "opschorting bijhouding O: deceased, send nothing")
		case OpschortingFout, OpschortingMinisterie:
			res.NoPost = true
			notes = append(notes, "opschorting bijhouding "+o.Reden.Code+": do not send post")
		case OpschortingEmigratie, OpschortingRNI:
			res.Abroad = true
			notes = append(notes, "opschorting bijhouding "+o.Reden.Code+": address abroad or unknown")
		default:
			notes = append(notes, "opschorting bijhouding "+o.Reden.Code)
		}
	}
	if p.Overlijden != nil && p.Overlijden.Datum != nil && !res.Deceased {
		res.Deceased = true
		notes = append(notes, "overlijden registered: send nothing")
	}
	if res.Secrecy {
		notes = append(notes, "geheimhouding persoonsgegevens")
	}
	if res.Curatele {
		notes = append(notes, "under curatele")
	}
	if a := p.Adressering; a != nil {
		res.Aanhef = a.Aanhef
		res.NotAtAddress = a.IndicatieVastgesteldVerblijftNietOpAdres
		if res.NotAtAddress {
			notes = append(notes, "established not to live at the registered address")
		}
		if !res.Deceased && !res.NoPost && !res.NotAtAddress {
			var lines []string
			for _, l := range []string{a.Adresregel1, a.Adresregel2, a.Adresregel3} {
				if l = strings.TrimSpace(l); l != "" {
					lines = append(lines, l)
				}
			}
			if len(lines) > 0 {
				addr := &event.PostalAddress{Lines: lines}
				if a.Aanschrijfwijze != nil {
					addr.NameLine = a.Aanschrijfwijze.Naam
				}
				if addr.NameLine == "" && p.Naam != nil {
					addr.NameLine = p.Naam.VolledigeNaam
				}
				// BRP fills land only for an address abroad.
				if a.Land != nil && a.Land.Code != "6030" {
					addr.Land = a.Land.Omschrijving
				}
				res.Address = addr
			}
		}
	}
	if res.Address == nil && !res.Deceased && !res.NoPost && !res.NotAtAddress {
		notes = append(notes, "no adressering")
	}
	res.Note = strings.Join(notes, "; ")
	return res
}
