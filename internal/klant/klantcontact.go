package klant

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
	"time"

	"github.com/mijnservices/koerier/internal/failure"
)

// Limits of the Klantcontact fields (Klantinteracties OpenAPI).
const (
	MaxOnderwerp = 200
	MaxInhoud    = 1000
	MaxKanaal    = 50
)

// MaakKlantcontact is the body of POST /maak-klantcontact: a klantcontact,
// optionally with its betrokkene and the onderwerpobject it was about.
type MaakKlantcontact struct {
	Klantcontact    Klantcontact     `json:"klantcontact"`
	Betrokkene      *Betrokkene      `json:"betrokkene,omitempty"`
	Onderwerpobject *Onderwerpobject `json:"onderwerpobject,omitempty"`
}

// Klantcontact holds the writable fields of a klantcontact.
type Klantcontact struct {
	Kanaal                 string            `json:"kanaal"`
	Onderwerp              string            `json:"onderwerp"`
	Inhoud                 string            `json:"inhoud"`
	IndicatieContactGelukt *bool             `json:"indicatieContactGelukt"`
	Taal                   string            `json:"taal"`
	Vertrouwelijk          bool              `json:"vertrouwelijk"`
	PlaatsgevondenOp       time.Time         `json:"plaatsgevondenOp"`
	Metadata               map[string]string `json:"metadata,omitempty"`
}

// Betrokkene is the writable part of a betrokkene bij klantcontact.
type Betrokkene struct {
	WasPartij *ForeignKey `json:"wasPartij"`
	Rol       string      `json:"rol"` // klant or vertegenwoordiger
	Initiator bool        `json:"initiator"`
}

// Onderwerpobject is what a klantcontact was about (a zaak).
type Onderwerpobject struct {
	WasKlantcontact              *ForeignKey                  `json:"wasKlantcontact"`
	Onderwerpobjectidentificator Onderwerpobjectidentificator `json:"onderwerpobjectidentificator"`
}

// Onderwerpobjectidentificator identifies an object in another register.
type Onderwerpobjectidentificator struct {
	ObjectID          string `json:"objectId"`
	CodeObjecttype    string `json:"codeObjecttype"`
	CodeRegister      string `json:"codeRegister"`
	CodeSoortObjectID string `json:"codeSoortObjectId"`
}

// maakAnswer is the part of the 201 answer we read.
type maakAnswer struct {
	Klantcontact struct {
		UUID string `json:"uuid"`
		URL  string `json:"url"`
	} `json:"klantcontact"`
}

// MaakKlantcontact registers a klantcontact with its betrokkene and
// onderwerpobject in one call and returns the klantcontact's URL. A 4xx
// other than 429 is permanent (the request is wrong, retrying repeats it);
// 429, 5xx and transport errors are temporary.
func (c *Client) MaakKlantcontact(ctx context.Context, m MaakKlantcontact) (string, error) {
	const op = "maak klantcontact"
	body, err := json.Marshal(m)
	if err != nil {
		return "", failure.Permanent("ongeldig-verzoek", fmt.Errorf("klant: %s: %w", op, err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/maak-klantcontact", bytes.NewReader(body))
	if err != nil {
		return "", failure.Permanent("ongeldig-verzoek", fmt.Errorf("klant: %s: %w", op, err))
	}
	req.Header.Set("Authorization", "Token "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		for errors.As(err, &ue) && ue.Err != nil {
			err = ue.Err
		}
		return "", failure.Temporary(fmt.Errorf("klant: %s: %w", op, err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", failure.Temporary(fmt.Errorf("klant: %s: read body: %w", op, err))
	}
	if resp.StatusCode/100 != 2 {
		e := &HTTPError{Op: op, StatusCode: resp.StatusCode, Status: resp.Status, Detail: problemDetail(raw)}
		if resp.StatusCode == http.StatusNotFound {
			return "", failure.Permanent("geweigerd", e) // no such endpoint: an older Open Klant
		}
		return "", classify(resp, e)
	}
	var a maakAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		// Created, but the answer is unreadable: the caller's lookup by
		// kenmerk finds it on the retry.
		return "", failure.Temporary(fmt.Errorf("klant: %s: decode: %w", op, err))
	}
	return a.Klantcontact.URL, nil
}

// FindKlantcontact looks for a klantcontact whose inhoud contains kenmerk
// (Koerier writes its delivery id there), optionally of partij partijURL,
// and returns its URL. It is the idempotency check before a second POST.
func (c *Client) FindKlantcontact(ctx context.Context, kenmerk, partijURL string) (string, bool, error) {
	q := url.Values{}
	q.Set("inhoud", kenmerk)
	if partijURL != "" {
		q.Set("hadBetrokkene__wasPartij__url", partijURL)
	}
	var page Page[struct {
		URL    string `json:"url"`
		Inhoud string `json:"inhoud"`
	}]
	if err := c.get(ctx, "find klantcontact", c.base+"/klantcontacten?"+q.Encode(), &page); err != nil {
		return "", false, err
	}
	for _, k := range page.Results {
		if strings.Contains(k.Inhoud, kenmerk) {
			return k.URL, true, nil
		}
	}
	return "", false, nil
}

// Truncate cuts s to at most n characters (runes), ending with "…" when cut.
func Truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
