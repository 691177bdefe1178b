package berichtenbox

// This file builds GLOBE BerichtVerwerk batches: the XML Logius' Berichtenbox
// takes in (GLOBEBatchRequest.xsd with the _128ch types), one Bericht per
// recipient, up to 1,000 per batch. The builder refuses what the XSD would
// refuse, so a batch that leaves Koerier validates; the tests prove that
// with xmllint against Logius' own schemas.

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Namespaces of the BerichtVerwerkService request and response.
const (
	NSVerwerk       = "http://schemas.rdw.nl/GEB/BerichtVerwerkService/Types/2009/01"
	NSBericht       = "http://schemas.rdw.nl/GEB/BerichtenProsessor/Bericht/Types/2009/01"
	NSBerichtResult = "http://schemas.rdw.nl/GEB/BerichtVerwerkService/BerichtResultaat/Types/2009/01"
)

// Limits of GLOBEBatchRequest.xsd / GLOBEBatchRequestTypes_128ch.xsd, in
// characters (XSD lengths count characters, not bytes).
const (
	MaxBerichtenPerBatch   = 1000
	MaxBerichtTypeLen      = 8
	MaxOnderwerpLen        = 50
	MaxBerichtTekstLen     = 4000
	MaxReferentieLen       = 25
	MaxLeverancierIDLen    = 25
	MaxBijlagen            = 2
	MaxBijlageOmschrijving = 128
	// MaxBijlagenBytes is Logius' limit on all attachments of one bericht
	// together, before base64 (BijlageTeGroot above it).
	MaxBijlagenBytes = 500 * 1000
)

// Batch is one GLOBE batch: the Berichten element.
type Batch struct {
	BatchID      string // GUID, unique per batch; a resend reuses it
	AanmaakDatum time.Time
	// BerichtLeverancierID is the gemeente's OIN.
	BerichtLeverancierID string
	Berichten            []Bericht
}

// Bericht is one message to one inwoner (BerichtInformatie and Bijlagen).
type Bericht struct {
	BerichtID   string // GUID; BerichtIDFor(delivery id)
	BerichtType string // as registered at Logius, 1–8 characters
	// PublicatieDatum and EindDatumHandelingsTermijn are left out when zero.
	PublicatieDatum            time.Time
	EindDatumHandelingsTermijn time.Time
	Onderwerp                  string
	// BerichtTekst may use any line breaks; they leave as \r\n.
	BerichtTekst string
	Referentie   string
	GebruikerID  string // BSN
	Bijlagen     []Bijlage
}

// Bijlage is a PDF attached to a Bericht.
type Bijlage struct {
	Inhoud       []byte // the PDF itself, not base64
	Omschrijving string
}

// berichtIDSpace is the UUID namespace of BerichtIDs; never change it, or a
// resend after an upgrade would get a new BerichtID and arrive twice.
var berichtIDSpace = uuid.MustParse("6f1c5b0e-2d4a-5e8b-9c71-4b8e0d3f2a10")

// BerichtIDFor derives the BerichtID from a delivery id (UUID v5), so every
// resend of a delivery carries the same BerichtID and Logius answers
// BerichtBestaatAl instead of showing the inwoner the message twice.
func BerichtIDFor(deliveryID string) string {
	return uuid.NewSHA1(berichtIDSpace, []byte("bericht|"+deliveryID)).String()
}

// BatchIDFor derives a BatchID from a seal key (e.g. channel, profile and
// bucket sequence), so a replica that rebuilds a sealed batch after a crash
// hands over the same BatchID.
func BatchIDFor(sealKey string) string {
	return uuid.NewSHA1(berichtIDSpace, []byte("batch|"+sealKey)).String()
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// CRLF turns every line break (\n, \r\n, \r) into \r\n, as Logius wants
// them in BerichtTekst.
func CRLF(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

// Validate reports the first thing about the bericht the XSD or Logius
// would refuse, with its field name.
func (b Bericht) Validate() error {
	if !guidRE.MatchString(b.BerichtID) {
		return fmt.Errorf("BerichtID %q is not a GUID", b.BerichtID)
	}
	if err := length("BerichtType", b.BerichtType, 1, MaxBerichtTypeLen); err != nil {
		return err
	}
	if err := length("Onderwerp", b.Onderwerp, 1, MaxOnderwerpLen); err != nil {
		return err
	}
	if err := length("BerichtTekst", CRLF(b.BerichtTekst), 0, MaxBerichtTekstLen); err != nil {
		return err
	}
	if err := length("Referentie", b.Referentie, 0, MaxReferentieLen); err != nil {
		return err
	}
	if err := length("GebruikerID", b.GebruikerID, 1, 0); err != nil {
		return err
	}
	return ValidateBijlagen(b.Bijlagen)
}

// ValidateBijlagen checks number, size and type of a bericht's
// attachments; ErrBijlageTeGroot when they are too large together.
func ValidateBijlagen(bs []Bijlage) error {
	if len(bs) > MaxBijlagen {
		return fmt.Errorf("%d Bijlagen, at most %d", len(bs), MaxBijlagen)
	}
	total := 0
	for i, bl := range bs {
		if len(bl.Inhoud) == 0 {
			return fmt.Errorf("Bijlage %d is empty", i+1)
		}
		if !bytes.HasPrefix(bl.Inhoud, []byte("%PDF-")) {
			return fmt.Errorf("Bijlage %d is not a PDF", i+1)
		}
		if err := length(fmt.Sprintf("Bijlage %d Omschrijving", i+1), bl.Omschrijving, 1, MaxBijlageOmschrijving); err != nil {
			return err
		}
		total += len(bl.Inhoud)
	}
	if total > MaxBijlagenBytes {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrBijlageTeGroot, total, MaxBijlagenBytes)
	}
	return nil
}

// ErrBijlageTeGroot: the attachments of one bericht exceed 500 kB.
var ErrBijlageTeGroot = errors.New("bijlagen te groot")

func length(field, s string, minLen, maxLen int) error {
	n := utf8.RuneCountInString(s)
	if n < minLen {
		if minLen == 1 {
			return fmt.Errorf("%s is empty", field)
		}
		return fmt.Errorf("%s has %d characters, at least %d", field, n, minLen)
	}
	if maxLen > 0 && n > maxLen {
		return fmt.Errorf("%s has %d characters, at most %d", field, n, maxLen)
	}
	return nil
}

// MarshalBatch renders the batch as GLOBEBatchRequest XML, or says why it
// would not validate.
func MarshalBatch(b Batch) ([]byte, error) {
	if !guidRE.MatchString(b.BatchID) {
		return nil, fmt.Errorf("berichtenbox: batch: BatchID %q is not a GUID", b.BatchID)
	}
	if err := length("BerichtLeverancierID", b.BerichtLeverancierID, 1, MaxLeverancierIDLen); err != nil {
		return nil, fmt.Errorf("berichtenbox: batch: %w", err)
	}
	if n := len(b.Berichten); n == 0 || n > MaxBerichtenPerBatch {
		return nil, fmt.Errorf("berichtenbox: batch: %d berichten, must be 1 to %d", n, MaxBerichtenPerBatch)
	}
	seen := make(map[string]bool, len(b.Berichten))
	var w bytes.Buffer
	w.WriteString(xml.Header)
	w.WriteString(`<vs:Berichten xmlns:vs="` + NSVerwerk + `" xmlns:b="` + NSBericht + `">`)
	w.WriteString(`<vs:BatchInformatie>`)
	el(&w, "vs:BatchID", b.BatchID)
	el(&w, "vs:AanmaakDatum", xsdTime(b.AanmaakDatum))
	el(&w, "vs:BerichtLeverancierID", b.BerichtLeverancierID)
	w.WriteString(`</vs:BatchInformatie>`)
	for i, m := range b.Berichten {
		if err := m.Validate(); err != nil {
			return nil, fmt.Errorf("berichtenbox: batch: bericht %d: %w", i+1, err)
		}
		if seen[strings.ToLower(m.BerichtID)] {
			return nil, fmt.Errorf("berichtenbox: batch: BerichtID %s twice", m.BerichtID)
		}
		seen[strings.ToLower(m.BerichtID)] = true
		w.WriteString(`<b:Bericht><b:BerichtInformatie>`)
		el(&w, "b:BatchID", b.BatchID)
		el(&w, "b:BerichtID", m.BerichtID)
		el(&w, "b:BerichtType", m.BerichtType)
		if !m.PublicatieDatum.IsZero() {
			el(&w, "b:PublicatieDatum", xsdTime(m.PublicatieDatum))
		}
		if !m.EindDatumHandelingsTermijn.IsZero() {
			el(&w, "b:EindDatumHandelingsTermijn", xsdTime(m.EindDatumHandelingsTermijn))
		}
		el(&w, "b:Onderwerp", m.Onderwerp)
		if m.BerichtTekst != "" {
			el(&w, "b:BerichtTekst", CRLF(m.BerichtTekst))
		}
		if m.Referentie != "" {
			el(&w, "b:Referentie", m.Referentie)
		}
		el(&w, "b:GebruikerID", m.GebruikerID)
		el(&w, "b:SoortGebruiker", "Burger")
		w.WriteString(`</b:BerichtInformatie>`)
		if len(m.Bijlagen) > 0 {
			w.WriteString(`<b:Bijlagen>`)
			for j, bl := range m.Bijlagen {
				w.WriteString(`<b:Bijlage>`)
				el(&w, "b:Inhoud", base64.StdEncoding.EncodeToString(bl.Inhoud))
				el(&w, "b:BijlageType", "Pdf")
				el(&w, "b:Omschrijving", bl.Omschrijving)
				el(&w, "b:Volgorde", fmt.Sprint(j+1))
				w.WriteString(`</b:Bijlage>`)
			}
			w.WriteString(`</b:Bijlagen>`)
		}
		w.WriteString(`</b:Bericht>`)
	}
	w.WriteString(`</vs:Berichten>`)
	return w.Bytes(), nil
}

// el writes one element. xml.EscapeText writes \r as &#xD;, which is what
// keeps the \r\n of BerichtTekst: a literal CR would be normalised away by
// Logius' XML parser.
func el(w *bytes.Buffer, name, text string) {
	w.WriteString("<" + name + ">")
	_ = xml.EscapeText(w, []byte(text))
	w.WriteString("</" + name + ">")
}

func xsdTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// ParseBatch reads a GLOBEBatchRequest document (the sandbox's fake uses it
// to see what arrived). It does not validate against the XSD.
func ParseBatch(raw []byte) (Batch, error) {
	var doc struct {
		BatchInformatie struct {
			BatchID              string `xml:"BatchID"`
			AanmaakDatum         string `xml:"AanmaakDatum"`
			BerichtLeverancierID string `xml:"BerichtLeverancierID"`
		} `xml:"BatchInformatie"`
		Bericht []struct {
			Info struct {
				BerichtID                  string `xml:"BerichtID"`
				BerichtType                string `xml:"BerichtType"`
				PublicatieDatum            string `xml:"PublicatieDatum"`
				EindDatumHandelingsTermijn string `xml:"EindDatumHandelingsTermijn"`
				Onderwerp                  string `xml:"Onderwerp"`
				BerichtTekst               string `xml:"BerichtTekst"`
				Referentie                 string `xml:"Referentie"`
				GebruikerID                string `xml:"GebruikerID"`
			} `xml:"BerichtInformatie"`
			Bijlagen []struct {
				Inhoud       string `xml:"Inhoud"`
				Omschrijving string `xml:"Omschrijving"`
			} `xml:"Bijlagen>Bijlage"`
		} `xml:"Bericht"`
	}
	if err := xml.Unmarshal(raw, &doc); err != nil {
		return Batch{}, fmt.Errorf("berichtenbox: parse batch: %w", err)
	}
	b := Batch{BatchID: doc.BatchInformatie.BatchID, BerichtLeverancierID: doc.BatchInformatie.BerichtLeverancierID}
	b.AanmaakDatum, _ = time.Parse(time.RFC3339Nano, doc.BatchInformatie.AanmaakDatum)
	for _, m := range doc.Bericht {
		br := Bericht{BerichtID: m.Info.BerichtID, BerichtType: m.Info.BerichtType, Onderwerp: m.Info.Onderwerp,
			BerichtTekst: m.Info.BerichtTekst, Referentie: m.Info.Referentie, GebruikerID: m.Info.GebruikerID}
		br.PublicatieDatum, _ = time.Parse(time.RFC3339Nano, m.Info.PublicatieDatum)
		br.EindDatumHandelingsTermijn, _ = time.Parse(time.RFC3339Nano, m.Info.EindDatumHandelingsTermijn)
		for _, bl := range m.Bijlagen {
			pdf, err := base64.StdEncoding.DecodeString(strings.TrimSpace(bl.Inhoud))
			if err != nil {
				return Batch{}, fmt.Errorf("berichtenbox: parse batch: bijlage of %s: %w", br.BerichtID, err)
			}
			br.Bijlagen = append(br.Bijlagen, Bijlage{Inhoud: pdf, Omschrijving: bl.Omschrijving})
		}
		b.Berichten = append(b.Berichten, br)
	}
	return b, nil
}
