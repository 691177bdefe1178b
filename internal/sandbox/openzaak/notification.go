package openzaak

import (
	"strings"
	"time"

	"github.com/mijnservices/koerier/internal/event"
)

// Notification returns the Notificaties API message Open Zaak would send
// for actie on the object at resourceURL (a zaak, status, rol, resultaat,
// zaakinformatieobject, besluit or besluitinformatieobject), with Open
// Zaak's hoofdObject and kenmerken. Demo and end-to-end tests post it to
// Koerier after changing the fake.
func (s *Server) Notification(actie, resourceURL string, at time.Time) event.Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.TrimPrefix(resourceURL, s.base)
	n := event.Notification{ResourceURL: resourceURL, Actie: actie, Aanmaakdatum: at.UTC(), Kenmerken: map[string]string{}}
	col := key[:strings.LastIndexByte(key, '/')]
	n.Resource = col[strings.LastIndexByte(col, '/')+1:]
	var zaakURL, besluitURL string
	switch o := s.items[key].(type) {
	case *Zaak:
		zaakURL = o.URL
	case *Status:
		zaakURL = o.Zaak
	case *Rol:
		zaakURL = o.Zaak
	case *Resultaat:
		zaakURL = o.Zaak
	case *ZaakInformatieObject:
		zaakURL = o.Zaak
	case *Besluit:
		besluitURL = o.URL
	case *BesluitInformatieObject:
		besluitURL = o.Besluit
	}
	// Open Zaak names resources in the singular: statussen → status.
	n.Resource = map[string]string{
		"zaken": "zaak", "statussen": "status", "rollen": "rol", "resultaten": "resultaat",
		"zaakinformatieobjecten": "zaakinformatieobject", "besluiten": "besluit", "besluitinformatieobjecten": "besluitinformatieobject",
	}[n.Resource]
	if zaakURL != "" {
		n.Kanaal, n.HoofdObject = "zaken", zaakURL
		if z, ok := s.items[strings.TrimPrefix(zaakURL, s.base)].(*Zaak); ok {
			n.Kenmerken["bronorganisatie"] = z.Bronorganisatie
			n.Kenmerken["zaaktype"] = z.Zaaktype
			n.Kenmerken["vertrouwelijkheidaanduiding"] = z.Vertrouwelijkheidaanduiding
			if zt, ok := s.items[strings.TrimPrefix(z.Zaaktype, s.base)].(*ZaakType); ok {
				n.Kenmerken["zaaktype.catalogus"] = zt.Catalogus
			}
		}
	}
	if besluitURL != "" {
		n.Kanaal, n.HoofdObject = "besluiten", besluitURL
		if b, ok := s.items[strings.TrimPrefix(besluitURL, s.base)].(*Besluit); ok {
			n.Kenmerken["verantwoordelijkeOrganisatie"] = b.VerantwoordelijkeOrganisatie
			n.Kenmerken["besluittype"] = b.Besluittype
			if bt, ok := s.items[strings.TrimPrefix(b.Besluittype, s.base)].(*BesluitType); ok {
				n.Kenmerken["besluittype.catalogus"] = bt.Catalogus
			}
		}
	}
	return n
}
