package zgw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Document is a document downloaded from the Documenten API.
type Document struct {
	URL     string
	Titel   string
	Formaat string
	Content []byte
}

// enkelvoudigInformatieObject is the part of the Documenten API's
// EnkelvoudigInformatieObject Koerier reads.
type enkelvoudigInformatieObject struct {
	URL            string `json:"url"`
	Titel          string `json:"titel"`
	Formaat        string `json:"formaat"`
	Bestandsomvang *int64 `json:"bestandsomvang"`
	Inhoud         string `json:"inhoud"`
}

type besluitInformatieObject struct {
	Informatieobject string `json:"informatieobject"`
}

// BesluitDocuments returns the documents of a besluit
// (besluitinformatieobjecten?besluit=, then each
// enkelvoudiginformatieobject and its /download), at most limit bytes
// together (ErrTooLarge above that), through the allow-list and with the
// same credentials as every other ZGW call.
func (c *Client) BesluitDocuments(ctx context.Context, besluitURL string, limit int64) ([]Document, error) {
	i := strings.LastIndex(strings.TrimSuffix(besluitURL, "/"), "/besluiten/")
	if i < 0 {
		return nil, fmt.Errorf("zgw: besluit documents: %q is not a besluit URL", besluitURL)
	}
	// The Besluiten API answers this list unpaginated; Open Zaak and the
	// sandbox page it. Read both.
	var raw json.RawMessage
	if err := c.Get(ctx, besluitURL[:i]+"/besluitinformatieobjecten", url.Values{"besluit": {besluitURL}}, &raw); err != nil {
		return nil, err
	}
	var bios []besluitInformatieObject
	if err := json.Unmarshal(raw, &bios); err != nil {
		var p Page[besluitInformatieObject]
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("zgw: besluitinformatieobjecten of %s: %w", besluitURL, err)
		}
		bios = p.Results
	}
	var out []Document
	left := limit
	for _, bio := range bios {
		var eio enkelvoudigInformatieObject
		if err := c.Get(ctx, bio.Informatieobject, nil, &eio); err != nil {
			return nil, err
		}
		if eio.Bestandsomvang != nil && *eio.Bestandsomvang > left {
			return nil, fmt.Errorf("zgw: document %s: %w (%d bytes, %d left of %d)", eio.URL, ErrTooLarge, *eio.Bestandsomvang, left, limit)
		}
		dl := eio.Inhoud
		if dl == "" {
			dl = strings.TrimSuffix(bio.Informatieobject, "/") + "/download"
		}
		b, err := c.Download(ctx, dl, left)
		if errors.Is(err, ErrTooLarge) {
			return nil, fmt.Errorf("zgw: document %s: %w", eio.URL, err)
		}
		if err != nil {
			return nil, err
		}
		left -= int64(len(b))
		out = append(out, Document{URL: eio.URL, Titel: eio.Titel, Formaat: eio.Formaat, Content: b})
	}
	return out, nil
}

// SetClock makes the client sign its JWTs on now (the app's one clock)
// instead of the wall clock.
func (c *Client) SetClock(now func() time.Time) { c.now = now }
