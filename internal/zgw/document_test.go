package zgw

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/mijnservices/koerier/internal/sandbox/openzaak"
)

func TestBesluitDocumentsDownloadsThroughTheAllowList(t *testing.T) {
	oz := openzaak.New("", map[string]string{testClientID: testSecret})
	srv := httptest.NewServer(oz)
	defer srv.Close()
	oz.SetBaseURL(srv.URL)
	pdf := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("b"), 1000)...)
	b := oz.AddBesluit(openzaak.Besluit{Identificatie: "BESLUIT-1"})
	eio := oz.AddEnkelvoudigInformatieObject(openzaak.EnkelvoudigInformatieObject{Titel: "Besluit vergunning", Content: pdf})
	oz.AddBesluitInformatieObject(openzaak.BesluitInformatieObject{Besluit: b.URL, Informatieobject: eio.URL})
	other := oz.AddBesluit(openzaak.Besluit{Identificatie: "BESLUIT-2"})

	c, err := NewClient([]API{{Root: oz.BesluitenRoot(), ClientID: testClientID, Secret: testSecret},
		{Root: oz.DocumentenRoot(), ClientID: testClientID, Secret: testSecret}}, testHTTP())
	if err != nil {
		t.Fatal(err)
	}
	docs, err := c.BesluitDocuments(context.Background(), b.URL, 500_000)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 || docs[0].Titel != "Besluit vergunning" || docs[0].Formaat != "application/pdf" || !bytes.Equal(docs[0].Content, pdf) {
		t.Fatalf("docs = %+v", docs)
	}
	if docs, err := c.BesluitDocuments(context.Background(), other.URL, 500_000); err != nil || len(docs) != 0 {
		t.Fatalf("a besluit without documents: %v, %v", docs, err)
	}
	if _, err := c.BesluitDocuments(context.Background(), b.URL, 999); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	// Off the allow-list: the Documenten API is not configured.
	c2, _ := NewClient([]API{{Root: oz.BesluitenRoot(), ClientID: testClientID, Secret: testSecret}}, testHTTP())
	var fe *ForbiddenURLError
	if _, err := c2.BesluitDocuments(context.Background(), b.URL, 500_000); !errors.As(err, &fe) {
		t.Fatalf("err = %v, want ForbiddenURLError", err)
	}
}
