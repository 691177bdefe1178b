// Package berichtenbox is a fake of Logius' BerichtenboxValidatieService
// (ValidateAbonnementen, SOAP 1.1 document/literal) for tests and the demo.
// It parses requests strictly by namespace, enforces the 250-klanten limit,
// answers in the WCF style of the real service (valid against the XSDs in
// testdata) and can answer with the service's SOAP faults. It shares no
// code with channels/berichtenbox, so a namespace mistake in one shows up
// as a failure in the other.
package berichtenbox

import (
	"encoding/xml"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/mijnservices/koerier/internal/sandbox/fault"
)

const (
	nsSoap    = "http://schemas.xmlsoap.org/soap/envelope/"
	nsService = "http://schemas.rdw.nl/GEB/BerichtenboxValidatieService/2009/01"
	nsTypes   = "http://schemas.rdw.nl/GEB/BerichtenboxValidatieService/Types/2009/01"
	nsShared  = "http://schemas.rdw.nl/GEB/Shared/Types/2009/01"
	action    = nsService + "/IBerichtenboxValidatieService/ValidateAbonnementen"
)

// Fault kinds the WSDL declares.
const (
	DependentServiceFault = "DependentServiceFault"
	ApplicationFault      = "ApplicationFault"
)

// DemoBerichtType is the berichttype SeedDemo subscribes people to (the
// config default).
const DemoBerichtType = "Zaakstatus"

// Options configure the fake.
type Options struct {
	// BerichtleverancierCode, when set, is the only sender accepted.
	BerichtleverancierCode string
	// BerichtTypes, when set, are the only berichttypes known.
	BerichtTypes []string
}

// Call is one ValidateAbonnementen the fake answered.
type Call struct {
	BerichtleverancierCode string
	BerichtType            string
	BSNs                   []string
}

// Server is the fake.
type Server struct {
	Faults *fault.Injector

	mu         sync.Mutex
	o          Options
	subs       map[string]map[string]bool // berichttype -> bsn -> subscribed
	calls      []Call
	soapFaults []string
	handler    http.Handler
}

// NewServer returns a fake without subscriptions.
func NewServer(o Options) *Server {
	s := &Server{Faults: &fault.Injector{}, o: o, subs: map[string]map[string]bool{}}
	s.handler = s.Faults.Wrap(http.HandlerFunc(s.serve))
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Subscribe records whether bsn wants berichtType in the Berichtenbox.
func (s *Server) Subscribe(berichtType, bsn string, subscribed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.subs[berichtType] == nil {
		s.subs[berichtType] = map[string]bool{}
	}
	s.subs[berichtType][bsn] = subscribed
}

// SeedDemo subscribes 999993653 and 999991103 to DemoBerichtType and
// records 999990627 as not subscribed.
func (s *Server) SeedDemo() {
	s.Subscribe(DemoBerichtType, "999993653", true)
	s.Subscribe(DemoBerichtType, "999991103", true)
	s.Subscribe(DemoBerichtType, "999990627", false)
}

// FailNext makes the next n calls answer with a SOAP fault of kind
// (DependentServiceFault or ApplicationFault).
func (s *Server) FailNext(kind string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		s.soapFaults = append(s.soapFaults, kind)
	}
}

// Calls returns the calls answered so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

type request struct {
	XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
	Body    struct {
		Validate *struct {
			Aanvraag *struct {
				Leverancier *string `xml:"http://schemas.rdw.nl/GEB/BerichtenboxValidatieService/Types/2009/01 berichtleverancierCode"`
				BerichtType *string `xml:"http://schemas.rdw.nl/GEB/BerichtenboxValidatieService/Types/2009/01 berichtTypeCode"`
				Klanten     *struct {
					Klant []struct {
						Key string `xml:"http://schemas.rdw.nl/GEB/Shared/Types/2009/01 Key"`
						Rol string `xml:"http://schemas.rdw.nl/GEB/Shared/Types/2009/01 Rol"`
					} `xml:"http://schemas.rdw.nl/GEB/Shared/Types/2009/01 Klant"`
					// Other catches children in a wrong namespace, which
					// the real service rejects rather than ignores.
					Other []struct {
						XMLName xml.Name
					} `xml:",any"`
				} `xml:"http://schemas.rdw.nl/GEB/BerichtenboxValidatieService/Types/2009/01 klanten"`
			} `xml:"http://schemas.rdw.nl/GEB/BerichtenboxValidatieService/2009/01 validateAbonnementenAanvraag"`
		} `xml:"http://schemas.rdw.nl/GEB/BerichtenboxValidatieService/2009/01 ValidateAbonnementen"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func writeFault(w http.ResponseWriter, code, text, kind, message string) {
	detail := ""
	if kind != "" {
		detail = fmt.Sprintf(`<detail><%s xmlns="%s" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Message>%s</Message></%s></detail>`,
			kind, nsShared, esc(message), kind)
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?>`+
		`<s:Envelope xmlns:s="%s"><s:Body><s:Fault><faultcode>%s</faultcode><faultstring xml:lang="nl-NL">%s</faultstring>%s</s:Fault></s:Body></s:Envelope>`,
		nsSoap, esc(code), esc(text), detail)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "text/xml" {
		w.WriteHeader(http.StatusUnsupportedMediaType)
		return
	}
	if strings.Trim(r.Header.Get("SOAPAction"), `"`) != action {
		writeFault(w, "s:Client", "The message with Action '"+r.Header.Get("SOAPAction")+"' cannot be processed at the receiver.", "", "")
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		writeFault(w, "s:Client", "Unreadable request.", "", "")
		return
	}
	var req request
	if err := xml.Unmarshal(raw, &req); err != nil || req.Body.Validate == nil || req.Body.Validate.Aanvraag == nil {
		writeFault(w, "s:Client", "The request is not a ValidateAbonnementen message in the expected namespaces.", "", "")
		return
	}
	a := req.Body.Validate.Aanvraag
	if a.Leverancier == nil || a.BerichtType == nil || a.Klanten == nil {
		writeFault(w, "s:Client", "berichtleverancierCode, berichtTypeCode and klanten are required.", "", "")
		return
	}
	if len(a.Klanten.Other) > 0 {
		n := a.Klanten.Other[0].XMLName
		writeFault(w, "s:Client", fmt.Sprintf("Unexpected element {%s}%s in klanten.", n.Space, n.Local), "", "")
		return
	}
	for _, k := range a.Klanten.Klant {
		if k.Key == "" || k.Rol == "" {
			writeFault(w, "s:Client", "Klant needs Key and Rol in the Shared types namespace.", "", "")
			return
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	call := Call{BerichtleverancierCode: *a.Leverancier, BerichtType: *a.BerichtType}
	for _, k := range a.Klanten.Klant {
		call.BSNs = append(call.BSNs, k.Key)
	}
	s.calls = append(s.calls, call)

	if len(s.soapFaults) > 0 {
		kind := s.soapFaults[0]
		s.soapFaults = s.soapFaults[1:]
		code := "s:Client"
		if kind == DependentServiceFault {
			code = "s:Server"
		}
		writeFault(w, code, kind, kind, "Injected "+kind)
		return
	}
	appFault := func(msg string) { writeFault(w, "s:Client", msg, ApplicationFault, msg) }
	if s.o.BerichtleverancierCode != "" && *a.Leverancier != s.o.BerichtleverancierCode {
		appFault("Onbekende berichtleverancier.")
		return
	}
	if len(s.o.BerichtTypes) > 0 && !contains(s.o.BerichtTypes, *a.BerichtType) {
		appFault("Onbekend berichttype.")
		return
	}
	if len(a.Klanten.Klant) > 250 {
		appFault("Er mogen maximaal 250 klanten per aanvraag worden gevalideerd.")
		return
	}
	var b strings.Builder
	for _, k := range a.Klanten.Klant {
		if k.Rol != "Burger" {
			appFault("Onbekende klantrol.")
			return
		}
		fmt.Fprintf(&b, `<a:Abonnement><a:klant><b:Key>%s</b:Key><b:Rol>Burger</b:Rol></a:klant><a:isBerichtSturen>%t</a:isBerichtSturen></a:Abonnement>`,
			esc(k.Key), s.subs[*a.BerichtType][k.Key])
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?>`+
		`<s:Envelope xmlns:s="%s"><s:Body><ValidateAbonnementenResponse xmlns="%s">`+
		`<ValidateAbonnementenResult xmlns:a="%s" xmlns:b="%s" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">%s</ValidateAbonnementenResult>`+
		`</ValidateAbonnementenResponse></s:Body></s:Envelope>`,
		nsSoap, nsService, nsTypes, nsShared, b.String())
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
