package berichtenbox

// This file reads Logius' answer to a batch (BerichtVerwerkResponse,
// GLOBEBatchResponse.xsd) and decides, per bericht, what it means for the
// delivery: delivered, the next channel, a resend, or a dead letter.

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"time"

	"github.com/mijnservices/koerier/internal/event"
)

// Code is a VerwerkingsCode of GLOBEBatchResponseTypes.xsd.
type Code string

// The VerwerkingsCodes Logius answers with.
const (
	Verwerkt                               Code = "Verwerkt"
	TechnischProbleem                      Code = "TechnischProbleem"
	NietActiefOfGeabonneerd                Code = "NietActiefOfGeabonneerd"
	BerichtTypeNietOndersteund             Code = "BerichtTypeNietOndersteund"
	PublicatieDatumLigtTeVerInDeToekomst   Code = "PublicatieDatumLigtTeVerInDeToekomst"
	AanmaakDatumLigtTeVerInHetVerleden     Code = "AanmaakDatumLigtTeVerInHetVerleden"
	BerichtBestaatAl                       Code = "BerichtBestaatAl"
	BijlageTeGroot                         Code = "BijlageTeGroot"
	OinInCPAKomtNietOvereenMetOinInBericht Code = "OinInCPAKomtNietOvereenMetOinInBericht"
	XmlValidatieTegenXsdValtNegatiefUit    Code = "XmlValidatieTegenXsdValtNegatiefUit"
)

// Verdict is what a result code means for the delivery.
type Verdict int

const (
	// VerdictDeadLetter: a code we do not know; an operator looks at it.
	VerdictDeadLetter Verdict = iota
	// VerdictDelivered: the bericht is in the inwoner's Berichtenbox.
	VerdictDelivered
	// VerdictPermanent: this channel cannot reach the inwoner; the next
	// channel of the plan.
	VerdictPermanent
	// VerdictTemporary: resend the same BerichtID after a backoff.
	VerdictTemporary
)

func (v Verdict) String() string {
	return [...]string{"dead-letter", "delivered", "permanent", "temporary"}[v]
}

// Judgement is a Verdict with what else the code asks of us.
type Judgement struct {
	Verdict Verdict
	// NotSubscribed: the cached ValidateAbonnementen answer was wrong;
	// correct it so the next message does not try again.
	NotSubscribed bool
	// OurConfig: the code means our configuration is wrong (berichttype,
	// OIN, clock, XSD); the delivery falls back, and the operator must hear
	// about it loudly.
	OurConfig bool
}

// Judge maps a VerwerkingsCode to what it means for the delivery.
func Judge(c Code) Judgement {
	switch c {
	case Verwerkt, BerichtBestaatAl:
		// BerichtBestaatAl: a resend of a bericht that had arrived.
		return Judgement{Verdict: VerdictDelivered}
	case NietActiefOfGeabonneerd:
		return Judgement{Verdict: VerdictPermanent, NotSubscribed: true}
	case TechnischProbleem:
		return Judgement{Verdict: VerdictTemporary}
	case BerichtTypeNietOndersteund, PublicatieDatumLigtTeVerInDeToekomst, AanmaakDatumLigtTeVerInHetVerleden,
		BijlageTeGroot, OinInCPAKomtNietOvereenMetOinInBericht, XmlValidatieTegenXsdValtNegatiefUit:
		return Judgement{Verdict: VerdictPermanent, OurConfig: true}
	}
	return Judgement{Verdict: VerdictDeadLetter}
}

// OutcomeStatus is the event.Outcome status of a verdict ("" for a dead
// letter, which is no outcome).
func (v Verdict) OutcomeStatus() string {
	switch v {
	case VerdictDelivered:
		return event.OutcomeDelivered
	case VerdictPermanent:
		return event.OutcomePermanent
	case VerdictTemporary:
		return event.OutcomeTemporary
	}
	return ""
}

// Response is a BerichtVerwerkResponse: Logius' answer to one batch.
type Response struct {
	BerichtLeverancierCode string
	BatchID                string
	DatumOntvangen         time.Time
	DatumVerwerkt          time.Time
	Berichten              []Result
}

// Result is Logius' answer for one bericht.
type Result struct {
	BerichtID   string
	BerichtType string
	Code        Code
	Stadium     string
}

type responseXML struct {
	XMLName         xml.Name `xml:"BerichtVerwerkResponse"`
	BatchInformatie struct {
		BerichtLeverancierCode string `xml:"BerichtLeverancierCode"`
		BatchID                string `xml:"BatchID"`
		DatumOntvangen         string `xml:"DatumOntvangen"`
		DatumVerwerkt          string `xml:"DatumVerwerkt"`
	} `xml:"BatchInformatie"`
	Berichten []struct {
		BerichtID       string `xml:"BerichtID"`
		BerichtType     string `xml:"BerichtType"`
		VerwerkingsCode string `xml:"VerwerkingsCode"`
		Stadium         string `xml:"Stadium"`
	} `xml:"Berichten>Bericht"`
}

// ParseResponse reads a BerichtVerwerkResponse.
func ParseResponse(raw []byte) (Response, error) {
	var doc responseXML
	if err := xml.Unmarshal(raw, &doc); err != nil {
		return Response{}, fmt.Errorf("berichtenbox: parse BerichtVerwerkResponse: %w", err)
	}
	if doc.XMLName.Space != NSVerwerk {
		return Response{}, fmt.Errorf("berichtenbox: parse BerichtVerwerkResponse: namespace %q, want %q", doc.XMLName.Space, NSVerwerk)
	}
	r := Response{BerichtLeverancierCode: doc.BatchInformatie.BerichtLeverancierCode, BatchID: doc.BatchInformatie.BatchID}
	r.DatumOntvangen, _ = time.Parse(time.RFC3339Nano, doc.BatchInformatie.DatumOntvangen)
	r.DatumVerwerkt, _ = time.Parse(time.RFC3339Nano, doc.BatchInformatie.DatumVerwerkt)
	for _, b := range doc.Berichten {
		r.Berichten = append(r.Berichten, Result{BerichtID: b.BerichtID, BerichtType: b.BerichtType, Code: Code(b.VerwerkingsCode), Stadium: b.Stadium})
	}
	return r, nil
}

// MarshalResponse renders a BerichtVerwerkResponse as Logius sends it
// (the sandbox answers with it); the counts are computed from the results.
func MarshalResponse(r Response) []byte {
	count := map[Code]int{}
	for _, b := range r.Berichten {
		count[b.Code]++
	}
	var w bytes.Buffer
	w.WriteString(xml.Header)
	w.WriteString(`<ns3:BerichtVerwerkResponse xmlns:ns2="` + NSBerichtResult + `" xmlns:ns3="` + NSVerwerk + `">`)
	w.WriteString(`<BatchInformatie>`)
	el(&w, "BerichtLeverancierCode", r.BerichtLeverancierCode)
	el(&w, "BatchID", r.BatchID)
	el(&w, "TotaalAantalOntvangenBerichten", strconv.Itoa(len(r.Berichten)))
	el(&w, "AantalBerichtenSuccesvolVerwerkt", strconv.Itoa(count[Verwerkt]+count[BerichtBestaatAl]))
	el(&w, "AantalBerichtenGeenActieveBoxOfGeabonneertOpLeverancier", strconv.Itoa(count[NietActiefOfGeabonneerd]))
	el(&w, "AantalBerichtenMetTechnischProbleem", strconv.Itoa(count[TechnischProbleem]))
	el(&w, "AantalBerichtenBerichtTypeNietCorrect", strconv.Itoa(count[BerichtTypeNietOndersteund]))
	el(&w, "AantalBerichtenPublicatieDatumNietCorrect", strconv.Itoa(count[PublicatieDatumLigtTeVerInDeToekomst]))
	el(&w, "AantalBerichtenAanmaakDatumNietCorrect", strconv.Itoa(count[AanmaakDatumLigtTeVerInHetVerleden]))
	el(&w, "DatumOntvangen", xsdTime(r.DatumOntvangen))
	el(&w, "DatumVerwerkt", xsdTime(r.DatumVerwerkt))
	w.WriteString(`</BatchInformatie><Berichten>`)
	for _, b := range r.Berichten {
		w.WriteString(`<ns2:Bericht>`)
		el(&w, "BerichtID", b.BerichtID)
		el(&w, "BerichtType", b.BerichtType)
		el(&w, "VerwerkingsCode", string(b.Code))
		stadium := b.Stadium
		if stadium == "" {
			stadium = "NA"
		}
		el(&w, "Stadium", stadium)
		w.WriteString(`</ns2:Bericht>`)
	}
	w.WriteString(`</Berichten></ns3:BerichtVerwerkResponse>`)
	return w.Bytes()
}
