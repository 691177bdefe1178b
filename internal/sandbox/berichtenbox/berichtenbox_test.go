package berichtenbox

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// xsdDecl is what the XSDs declare: for each namespace, the element names
// allowed, and for complex types, the child order.
type xsdDecl struct {
	elements map[string]map[string]bool // ns -> local name
}

func loadXSDs(t *testing.T) xsdDecl {
	t.Helper()
	d := xsdDecl{elements: map[string]map[string]bool{}}
	for _, f := range []string{"xsd0.xsd", "xsd2.xsd", "xsd3.xsd"} {
		raw, err := os.ReadFile("testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		dec := xml.NewDecoder(bytes.NewReader(raw))
		tns := ""
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			se, ok := tok.(xml.StartElement)
			if !ok {
				continue
			}
			for _, a := range se.Attr {
				if se.Name.Local == "schema" && a.Name.Local == "targetNamespace" {
					tns = a.Value
					d.elements[tns] = map[string]bool{}
				}
				if se.Name.Local == "element" && a.Name.Local == "name" {
					d.elements[tns][a.Value] = true
				}
			}
		}
	}
	return d
}

func post(t *testing.T, url, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"`+action+`"`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// A request written by hand from the XSDs, independent of any Go code.
const handRequest = `<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
<ValidateAbonnementen xmlns="http://schemas.rdw.nl/GEB/BerichtenboxValidatieService/2009/01">
<validateAbonnementenAanvraag xmlns:a="http://schemas.rdw.nl/GEB/BerichtenboxValidatieService/Types/2009/01" xmlns:b="http://schemas.rdw.nl/GEB/Shared/Types/2009/01">
<a:berichtleverancierCode>00000001234567890000</a:berichtleverancierCode>
<a:berichtTypeCode>Zaakstatus</a:berichtTypeCode>
<a:klanten><b:Klant><b:Key>999993653</b:Key><b:Rol>Burger</b:Rol></b:Klant><b:Klant><b:Key>999990627</b:Key><b:Rol>Burger</b:Rol></b:Klant></a:klanten>
</validateAbonnementenAanvraag></ValidateAbonnementen></s:Body></s:Envelope>`

func TestAnswerIsValidAgainstXSDs(t *testing.T) {
	s := NewServer(Options{})
	s.SeedDemo()
	ts := httptest.NewServer(s)
	defer ts.Close()
	status, body := post(t, ts.URL, handRequest)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	decl := loadXSDs(t)
	dec := xml.NewDecoder(bytes.NewReader(body))
	var path []string
	var order []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("malformed XML: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			path = append(path, e.Name.Local)
			order = append(order, e.Name.Local)
			if e.Name.Space == nsSoap {
				continue
			}
			if !decl.elements[e.Name.Space][e.Name.Local] {
				t.Errorf("element {%s}%s is not declared in the XSDs", e.Name.Space, e.Name.Local)
			}
		case xml.EndElement:
			path = path[:len(path)-1]
		}
	}
	want := "Envelope Body ValidateAbonnementenResponse ValidateAbonnementenResult Abonnement klant Key Rol isBerichtSturen Abonnement klant Key Rol isBerichtSturen"
	if got := strings.Join(order, " "); got != want {
		t.Fatalf("element order\n got %s\nwant %s", got, want)
	}
	if !strings.Contains(string(body), "<b:Key>999993653</b:Key><b:Rol>Burger</b:Rol></a:klant><a:isBerichtSturen>true<") ||
		!strings.Contains(string(body), "<b:Key>999990627</b:Key><b:Rol>Burger</b:Rol></a:klant><a:isBerichtSturen>false<") {
		t.Fatalf("wrong answers: %s", body)
	}
}

func TestRejects(t *testing.T) {
	s := NewServer(Options{BerichtTypes: []string{"Zaakstatus"}})
	ts := httptest.NewServer(s)
	defer ts.Close()
	cases := []struct{ name, body, want string }{
		{"wrong namespace", strings.ReplaceAll(handRequest, "Shared/Types", "Other/Types"), "faultcode>s:Client"},
		{"unknown berichttype", strings.ReplaceAll(handRequest, "Zaakstatus", "Onbekend"), "ApplicationFault"},
		{"too many", strings.Replace(handRequest, "<a:klanten>", "<a:klanten>"+strings.Repeat("<b:Klant><b:Key>999991103</b:Key><b:Rol>Burger</b:Rol></b:Klant>", 250), 1), "250"},
	}
	for _, c := range cases {
		status, body := post(t, ts.URL, c.body)
		if status != 500 || !strings.Contains(string(body), c.want) {
			t.Errorf("%s: status %d body %s", c.name, status, body)
		}
	}
}
