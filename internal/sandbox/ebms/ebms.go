// Package ebms is a fake of the ebMS adapter's REST face (ebms-core,
// /service/rest/v19/ebms) with Logius' Berichtenbox behind it, for tests
// and the demo. It takes GLOBE-R-BV-Request messages, validates each batch
// against Logius' XSDs (xmllint), files the berichten in per-BSN
// Berichtenboxen, and answers with an XSD-valid GLOBE-R-BV-Result message
// to poll. Faults: result codes per BSN, FAILED events, batches that get
// no answer at all.
//
// It shares no code with channels/berichtenbox: it parses and writes the
// XML itself, so a namespace mistake in one shows up in the other.
package ebms

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/mijnservices/koerier/internal/clock"
)

// Prefix is the REST base path of the adapter.
const Prefix = "/service/rest/v19/ebms"

const (
	nsVerwerk = "http://schemas.rdw.nl/GEB/BerichtVerwerkService/Types/2009/01"
	nsBericht = "http://schemas.rdw.nl/GEB/BerichtenProsessor/Bericht/Types/2009/01"
	nsResult  = "http://schemas.rdw.nl/GEB/BerichtVerwerkService/BerichtResultaat/Types/2009/01"

	requestAction = "GLOBE-R-BV-Request"
	resultAction  = "GLOBE-R-BV-Result"
)

// Options configure the fake.
type Options struct {
	// CPAID is the only CPA known (default "cpa-berichtenbox").
	CPAID string
	// OIN, when set, must be the from party (urn:osb:oin:<OIN>) and the
	// batch's BerichtLeverancierID, or every bericht is answered
	// OinInCPAKomtNietOvereenMetOinInBericht.
	OIN string
	// RequireXSD refuses every batch when xmllint is missing (set it under
	// CI=true); without it, batches are then checked by structure only.
	RequireXSD bool
	Now        func() time.Time
}

// Bericht is a bericht as it arrived in an inwoner's Berichtenbox.
type Bericht struct {
	BatchID, BerichtID, BerichtType string
	Onderwerp, BerichtTekst         string
	Referentie, GebruikerID         string
	Bijlagen                        [][]byte
	Code                            string // the VerwerkingsCode it was answered with
}

// Batch is one batch the fake received.
type Batch struct {
	MessageID string
	BatchID   string
	Berichten []Bericht
	// XSDError is why the batch failed validation ("" when it passed).
	XSDError string
	// Answer is what the fake did: "result", "failed" (a FAILED event) or
	// "none" (no answer).
	Answer string
}

type message struct {
	props    map[string]any
	content  []byte
	inbound  bool
	status   string
	received time.Time
}

type msgEvent struct {
	MessageID string `json:"messageId"`
	Type      string `json:"type"`
	processed bool
}

// Server is the fake.
type Server struct {
	o   Options
	now func() time.Time

	mu         sync.Mutex
	msgs       map[string]*message
	order      []string
	events     []*msgEvent
	batches    []Batch
	boxes      map[string][]Bericht // by BSN
	delivered  map[string]bool      // BerichtID (lower case) → in a box
	codes      map[string][]string  // BSN → result codes to answer, in turn
	failNext   int
	quietNext  int
	refuseNext int
	requests   []string
}

// New returns the fake.
func New(o Options) *Server {
	if o.CPAID == "" {
		o.CPAID = "cpa-berichtenbox"
	}
	s := &Server{o: o, now: clock.Or(o.Now), msgs: map[string]*message{}, boxes: map[string][]Bericht{},
		delivered: map[string]bool{}, codes: map[string][]string{}}
	return s
}

// CPAID is the CPA the fake knows.
func (s *Server) CPAID() string { return s.o.CPAID }

// AnswerFor makes the fake answer berichten for bsn with codes, one per
// bericht in turn; the last code stays (e.g. "TechnischProbleem",
// "Verwerkt": once a technical problem, then delivered).
func (s *Server) AnswerFor(bsn string, codes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[bsn] = codes
}

// FailNext answers the next n batches with a FAILED event and no result.
func (s *Server) FailNext(n int) { s.mu.Lock(); s.failNext = n; s.mu.Unlock() }

// RefuseNext answers the next n sends with HTTP 503 before taking them
// (the adapter is down: the batch never arrived).
func (s *Server) RefuseNext(n int) { s.mu.Lock(); s.refuseNext = n; s.mu.Unlock() }

// SilenceNext gives the next n batches no answer at all.
func (s *Server) SilenceNext(n int) { s.mu.Lock(); s.quietNext = n; s.mu.Unlock() }

// Box is what arrived in bsn's Berichtenbox, oldest first.
func (s *Server) Box(bsn string) []Bericht {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Bericht(nil), s.boxes[bsn]...)
}

// Batches are the batches received, oldest first.
func (s *Server) Batches() []Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Batch(nil), s.batches...)
}

// Requests are the requests received ("METHOD path").
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, ok := strings.CutPrefix(r.URL.Path, Prefix)
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch {
	case r.Method == http.MethodPost && p == "/messages":
		s.mu.Lock()
		refuse := s.refuseNext > 0
		if refuse {
			s.refuseNext--
		}
		s.mu.Unlock()
		if refuse {
			http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
			return
		}
		s.send(w, r)
	case r.Method == http.MethodGet && p == "/messages/unprocessed":
		s.unprocessed(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/messages/"):
		s.get(w, strings.TrimPrefix(p, "/messages/"))
	case r.Method == http.MethodPatch && strings.HasPrefix(p, "/messages/"):
		s.process(w, strings.TrimPrefix(p, "/messages/"))
	case r.Method == http.MethodGet && p == "/events/unprocessed":
		s.unprocessedEvents(w, r)
	case r.Method == http.MethodPatch && strings.HasPrefix(p, "/events/"):
		s.processEvent(w, strings.TrimPrefix(p, "/events/"))
	default:
		http.NotFound(w, r)
	}
}

type sendRequest struct {
	Properties struct {
		CPAID          string `json:"cpaId"`
		FromPartyID    string `json:"fromPartyId"`
		FromRole       string `json:"fromRole"`
		Service        string `json:"service"`
		Action         string `json:"action"`
		ConversationID string `json:"conversationId"`
	} `json:"properties"`
	DataSources []struct {
		Name        string `json:"name"`
		ContentType string `json:"contentType"`
		Content     string `json:"content"`
	} `json:"dataSources"`
}

// batchXML is the request document, parsed by namespace.
type batchXML struct {
	XMLName xml.Name `xml:"http://schemas.rdw.nl/GEB/BerichtVerwerkService/Types/2009/01 Berichten"`
	Info    struct {
		BatchID              string `xml:"http://schemas.rdw.nl/GEB/BerichtVerwerkService/Types/2009/01 BatchID"`
		BerichtLeverancierID string `xml:"http://schemas.rdw.nl/GEB/BerichtVerwerkService/Types/2009/01 BerichtLeverancierID"`
	} `xml:"http://schemas.rdw.nl/GEB/BerichtVerwerkService/Types/2009/01 BatchInformatie"`
	Berichten []struct {
		Info struct {
			BerichtID    string `xml:"http://schemas.rdw.nl/GEB/BerichtenProsessor/Bericht/Types/2009/01 BerichtID"`
			BerichtType  string `xml:"http://schemas.rdw.nl/GEB/BerichtenProsessor/Bericht/Types/2009/01 BerichtType"`
			Onderwerp    string `xml:"http://schemas.rdw.nl/GEB/BerichtenProsessor/Bericht/Types/2009/01 Onderwerp"`
			BerichtTekst string `xml:"http://schemas.rdw.nl/GEB/BerichtenProsessor/Bericht/Types/2009/01 BerichtTekst"`
			Referentie   string `xml:"http://schemas.rdw.nl/GEB/BerichtenProsessor/Bericht/Types/2009/01 Referentie"`
			GebruikerID  string `xml:"http://schemas.rdw.nl/GEB/BerichtenProsessor/Bericht/Types/2009/01 GebruikerID"`
		} `xml:"http://schemas.rdw.nl/GEB/BerichtenProsessor/Bericht/Types/2009/01 BerichtInformatie"`
		Bijlagen []string `xml:"http://schemas.rdw.nl/GEB/BerichtenProsessor/Bericht/Types/2009/01 Bijlagen>Bijlage>Inhoud"`
	} `xml:"http://schemas.rdw.nl/GEB/BerichtenProsessor/Bericht/Types/2009/01 Bericht"`
}

func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	var req sendRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<20)).Decode(&req); err != nil {
		http.Error(w, "Unrecognized JSON: "+err.Error(), http.StatusBadRequest)
		return
	}
	p := req.Properties
	// ebms-core answers its validation errors with 500.
	switch {
	case p.CPAID != s.o.CPAID:
		http.Error(w, "CPA "+p.CPAID+" not found!", http.StatusInternalServerError)
		return
	case !strings.HasPrefix(p.FromPartyID, "urn:osb:oin:") || p.FromRole == "":
		http.Error(w, "No fromParty found for "+p.FromPartyID, http.StatusInternalServerError)
		return
	case p.Action != requestAction:
		http.Error(w, "No CanSend action found for "+p.Action, http.StatusInternalServerError)
		return
	case len(req.DataSources) != 1:
		http.Error(w, "expected one data source", http.StatusInternalServerError)
		return
	}
	doc, err := base64.StdEncoding.DecodeString(req.DataSources[0].Content)
	if err != nil {
		http.Error(w, "content is not base64", http.StatusBadRequest)
		return
	}
	now := s.now().UTC()
	id := uuid.NewString() + "@ebms.sandbox"
	b := Batch{MessageID: id}
	if err := Validate(RequestXSD, doc); err == ErrNoXmllint && !s.o.RequireXSD {
		err = nil
	} else if err != nil {
		b.XSDError = err.Error()
	}
	var bx batchXML
	if err := xml.Unmarshal(doc, &bx); err != nil && b.XSDError == "" {
		b.XSDError = "not a Berichten document: " + err.Error()
	}
	b.BatchID = bx.Info.BatchID
	oinOK := s.o.OIN == "" || (p.FromPartyID == "urn:osb:oin:"+s.o.OIN && bx.Info.BerichtLeverancierID == s.o.OIN)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs[id] = &message{props: map[string]any{"cpaId": p.CPAID, "fromParty": map[string]string{"partyId": p.FromPartyID, "role": p.FromRole},
		"service": p.Service, "action": p.Action, "conversationId": p.ConversationID, "messageId": id}, content: doc, status: "DELIVERED", received: now}
	var results []resultLine
	for _, m := range bx.Berichten {
		br := Bericht{BatchID: b.BatchID, BerichtID: m.Info.BerichtID, BerichtType: m.Info.BerichtType, Onderwerp: m.Info.Onderwerp,
			BerichtTekst: m.Info.BerichtTekst, Referentie: m.Info.Referentie, GebruikerID: m.Info.GebruikerID}
		for _, inh := range m.Bijlagen {
			pdf, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(inh))
			br.Bijlagen = append(br.Bijlagen, pdf)
		}
		switch {
		case b.XSDError != "":
			br.Code = "XmlValidatieTegenXsdValtNegatiefUit"
		case !oinOK:
			br.Code = "OinInCPAKomtNietOvereenMetOinInBericht"
		case s.delivered[strings.ToLower(br.BerichtID)]:
			br.Code = "BerichtBestaatAl"
		default:
			br.Code = s.nextCode(br.GebruikerID)
		}
		if br.Code == "Verwerkt" {
			s.delivered[strings.ToLower(br.BerichtID)] = true
			s.boxes[br.GebruikerID] = append(s.boxes[br.GebruikerID], br)
		}
		b.Berichten = append(b.Berichten, br)
		if guidOK(br.BerichtID) {
			results = append(results, resultLine{br.BerichtID, br.BerichtType, br.Code})
		}
	}
	switch {
	case s.quietNext > 0:
		s.quietNext--
		b.Answer = "none"
		s.undeliver(b)
	case s.failNext > 0:
		s.failNext--
		b.Answer = "failed"
		s.msgs[id].status = "FAILED"
		s.events = append(s.events, &msgEvent{MessageID: id, Type: "FAILED"})
		s.undeliver(b)
	case !guidOK(b.BatchID):
		// Logius cannot even say which batch: no result.
		b.Answer = "none"
	default:
		b.Answer = "result"
		rid := uuid.NewString() + "@logius.sandbox"
		s.msgs[rid] = &message{props: map[string]any{"cpaId": p.CPAID, "fromParty": map[string]string{"partyId": "urn:osb:oin:00000001821002193000", "role": "SP"},
			"toParty": map[string]string{"partyId": p.FromPartyID, "role": p.FromRole}, "service": p.Service, "action": resultAction,
			"conversationId": p.ConversationID, "messageId": rid, "refToMessageId": id}, content: resultXML(bx.Info.BerichtLeverancierID, b.BatchID, now, results),
			inbound: true, status: "RECEIVED", received: now}
		s.order = append(s.order, rid)
	}
	s.batches = append(s.batches, b)
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, id)
}

// undeliver takes the berichten of a batch that got no result back out of
// the boxes: Logius never processed them.
func (s *Server) undeliver(b Batch) {
	for _, br := range b.Berichten {
		if br.Code != "Verwerkt" {
			continue
		}
		delete(s.delivered, strings.ToLower(br.BerichtID))
		box := s.boxes[br.GebruikerID]
		for i := range box {
			if box[i].BerichtID == br.BerichtID {
				s.boxes[br.GebruikerID] = append(box[:i:i], box[i+1:]...)
				break
			}
		}
	}
}

func (s *Server) nextCode(bsn string) string {
	q := s.codes[bsn]
	if len(q) == 0 {
		return "Verwerkt"
	}
	c := q[0]
	if len(q) > 1 {
		s.codes[bsn] = q[1:]
	}
	return c
}

func guidOK(s string) bool { _, err := uuid.Parse(s); return err == nil && len(s) == 36 }

type resultLine struct{ id, typ, code string }

// resultXML writes a BerichtVerwerkResponse (GLOBEBatchResponse.xsd).
func resultXML(leverancier, batchID string, at time.Time, rs []resultLine) []byte {
	count := map[string]int{}
	for _, r := range rs {
		count[r.code]++
	}
	var b bytes.Buffer
	e := func(name, v string) {
		b.WriteString("<" + name + ">")
		_ = xml.EscapeText(&b, []byte(v))
		b.WriteString("</" + name + ">")
	}
	ts := at.Format("2006-01-02T15:04:05.000Z")
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<r:BerichtVerwerkResponse xmlns:r="` + nsVerwerk + `" xmlns:br="` + nsResult + `"><BatchInformatie>`)
	e("BerichtLeverancierCode", leverancier)
	e("BatchID", batchID)
	e("TotaalAantalOntvangenBerichten", strconv.Itoa(len(rs)))
	e("AantalBerichtenSuccesvolVerwerkt", strconv.Itoa(count["Verwerkt"]+count["BerichtBestaatAl"]))
	e("AantalBerichtenGeenActieveBoxOfGeabonneertOpLeverancier", strconv.Itoa(count["NietActiefOfGeabonneerd"]))
	e("AantalBerichtenMetTechnischProbleem", strconv.Itoa(count["TechnischProbleem"]))
	e("AantalBerichtenBerichtTypeNietCorrect", strconv.Itoa(count["BerichtTypeNietOndersteund"]))
	e("AantalBerichtenPublicatieDatumNietCorrect", strconv.Itoa(count["PublicatieDatumLigtTeVerInDeToekomst"]))
	e("AantalBerichtenAanmaakDatumNietCorrect", strconv.Itoa(count["AanmaakDatumLigtTeVerInHetVerleden"]))
	e("DatumOntvangen", ts)
	e("DatumVerwerkt", ts)
	b.WriteString(`</BatchInformatie><Berichten>`)
	for _, r := range rs {
		b.WriteString(`<br:Bericht>`)
		e("BerichtID", r.id)
		e("BerichtType", r.typ)
		e("VerwerkingsCode", r.code)
		e("Stadium", "NA")
		b.WriteString(`</br:Bericht>`)
	}
	b.WriteString(`</Berichten></r:BerichtVerwerkResponse>`)
	return b.Bytes()
}

func (s *Server) unprocessed(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := []string{}
	for _, id := range s.order {
		m := s.msgs[id]
		if !m.inbound || m.status != "RECEIVED" {
			continue
		}
		if c := q.Get("cpaId"); c != "" && m.props["cpaId"] != c {
			continue
		}
		if a := q.Get("action"); a != "" && m.props["action"] != a {
			continue
		}
		ids = append(ids, id)
		if n, _ := strconv.Atoi(q.Get("maxNr")); n > 0 && len(ids) == n {
			break
		}
	}
	writeJSON(w, ids)
}

func (s *Server) get(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.msgs[id]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	props := map[string]any{"timestamp": m.received.Format(time.RFC3339Nano), "messageStatus": m.status}
	for k, v := range m.props {
		props[k] = v
	}
	writeJSON(w, map[string]any{"properties": props,
		"dataSources": []map[string]any{{"name": "BerichtVerwerkResponse.xml", "contentType": "text/xml", "content": m.content}}})
}

func (s *Server) process(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.msgs[id]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if m.status == "RECEIVED" {
		m.status = "PROCESSED"
	}
}

func (s *Server) unprocessedEvents(w http.ResponseWriter, r *http.Request) {
	types := r.URL.Query()["eventTypes"]
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []*msgEvent{}
	for _, e := range s.events {
		if e.processed {
			continue
		}
		if len(types) > 0 && !contains(types, e.Type) {
			continue
		}
		out = append(out, e)
	}
	writeJSON(w, out)
}

func (s *Server) processEvent(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.events {
		if e.MessageID == id {
			e.processed = true
			return
		}
	}
	w.WriteHeader(http.StatusNotFound)
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		panic(fmt.Sprintf("ebms fake: encode: %v", err))
	}
}
