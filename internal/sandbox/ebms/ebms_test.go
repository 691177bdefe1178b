package ebms

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// requireXmllint skips without xmllint, and fails under CI=true.
func requireXmllint(t *testing.T) {
	t.Helper()
	if err := Validate(ResponseXSD, []byte("<x/>")); errors.Is(err, ErrNoXmllint) {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

func post(t *testing.T, url string, doc string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"properties":  map[string]string{"cpaId": "cpa-berichtenbox", "fromPartyId": "urn:osb:oin:00000001234567890000", "fromRole": "SR", "service": "urn:osb:services:MIJNOVERHEID.ebMS.BB.2.0", "action": requestAction},
		"dataSources": []map[string]string{{"contentType": "text/xml", "content": base64.StdEncoding.EncodeToString([]byte(doc))}},
	})
	resp, err := http.Post(url+Prefix+"/messages", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("HTTP %d", resp.StatusCode)
	}
}

const batch = `<Berichten xmlns="` + nsVerwerk + `"><BatchInformatie><BatchID>6f1c5b0e-2d4a-5e8b-9c71-4b8e0d3f2a10</BatchID><AanmaakDatum>2026-03-05T09:30:00Z</AanmaakDatum><BerichtLeverancierID>00000001234567890000</BerichtLeverancierID></BatchInformatie>` +
	`<b:Bericht xmlns:b="` + nsBericht + `"><b:BerichtInformatie><b:BatchID>6f1c5b0e-2d4a-5e8b-9c71-4b8e0d3f2a10</b:BatchID><b:BerichtID>11111111-1111-4111-8111-111111111111</b:BerichtID><b:BerichtType>Besluit</b:BerichtType>` +
	`<b:Onderwerp>%s</b:Onderwerp><b:GebruikerID>999993653</b:GebruikerID><b:SoortGebruiker>Burger</b:SoortGebruiker></b:BerichtInformatie></b:Bericht></Berichten>`

func TestFakeValidatesBatchesAndAnswersValidResults(t *testing.T) {
	requireXmllint(t)
	fake := New(Options{RequireXSD: true, Now: func() time.Time { return time.Date(2026, 3, 5, 9, 30, 0, 0, time.UTC) }})
	srv := httptest.NewServer(fake)
	defer srv.Close()

	post(t, srv.URL, strings.Replace(batch, "%s", "Besluit", 1))
	post(t, srv.URL, strings.Replace(batch, "%s", strings.Repeat("o", 51), 1)) // Onderwerp too long
	bs := fake.Batches()
	if bs[0].XSDError != "" || bs[0].Berichten[0].Code != "Verwerkt" {
		t.Fatalf("valid batch: %+v", bs[0])
	}
	if bs[1].XSDError == "" || bs[1].Berichten[0].Code != "XmlValidatieTegenXsdValtNegatiefUit" {
		t.Fatalf("invalid batch accepted: %+v", bs[1])
	}
	// Every result the fake wrote validates against GLOBEBatchResponse.xsd.
	fake.mu.Lock()
	defer fake.mu.Unlock()
	n := 0
	for _, id := range fake.order {
		if err := Validate(ResponseXSD, fake.msgs[id].content); err != nil {
			t.Fatalf("result %s: %v", id, err)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("%d results, want 2", n)
	}
}
