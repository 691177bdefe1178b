package openklant

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// Klantcontact is a klantcontact the fake received through
// POST /maak-klantcontact, as it stores it.
type Klantcontact struct {
	UUID                   string
	Kanaal                 string
	Onderwerp              string
	Inhoud                 string
	IndicatieContactGelukt *bool
	Taal                   string
	Vertrouwelijk          bool
	PlaatsgevondenOp       time.Time
	Metadata               map[string]string
	// PartijUUID is the betrokkene's wasPartij, "" without betrokkene.
	PartijUUID string
	Rol        string
	// Onderwerpobject is the onderwerpobjectidentificator, if any.
	Onderwerpobject *Onderwerpobjectidentificator
}

// Onderwerpobjectidentificator identifies the object a klantcontact was
// about in another register.
type Onderwerpobjectidentificator struct {
	ObjectID          string `json:"objectId"`
	CodeObjecttype    string `json:"codeObjecttype"`
	CodeRegister      string `json:"codeRegister"`
	CodeSoortObjectID string `json:"codeSoortObjectId"`
}

// Klantcontacten returns the klantcontacten registered so far, in order.
func (s *Server) Klantcontacten() []Klantcontact {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Klantcontact, len(s.klantcontacten))
	for i, k := range s.klantcontacten {
		out[i] = *k
	}
	return out
}

// The request shape of MaakKlantcontact in the OpenAPI: only writable
// fields; unknown fields are refused, so a misspelt field name in the
// client shows up as a 400 rather than silently as an empty value.
type maakRequest struct {
	Klantcontact *struct {
		Nummer                 *string           `json:"nummer"`
		Referentienummer       *string           `json:"referentienummer"`
		Kanaal                 *string           `json:"kanaal"`
		Onderwerp              *string           `json:"onderwerp"`
		Inhoud                 *string           `json:"inhoud"`
		Reactie                *string           `json:"reactie"`
		IndicatieContactGelukt *bool             `json:"indicatieContactGelukt"`
		HoofdOnderwerpType     *string           `json:"hoofdOnderwerpType"`
		VerdereActieOndernomen *bool             `json:"verdereActieOndernomen"`
		Taal                   *string           `json:"taal"`
		Vertrouwelijk          *bool             `json:"vertrouwelijk"`
		PlaatsgevondenOp       *time.Time        `json:"plaatsgevondenOp"`
		Metadata               map[string]string `json:"metadata"`
	} `json:"klantcontact"`
	Betrokkene *struct {
		WasPartij *struct {
			UUID string `json:"uuid"`
			URL  string `json:"url"`
		} `json:"wasPartij"`
		Bezoekadres          json.RawMessage `json:"bezoekadres"`
		Correspondentieadres json.RawMessage `json:"correspondentieadres"`
		Contactnaam          json.RawMessage `json:"contactnaam"`
		Rol                  *string         `json:"rol"`
		Organisatienaam      *string         `json:"organisatienaam"`
		Initiator            *bool           `json:"initiator"`
	} `json:"betrokkene"`
	Onderwerpobject *struct {
		WasKlantcontact              json.RawMessage               `json:"wasKlantcontact"`
		Onderwerpobjectidentificator *Onderwerpobjectidentificator `json:"onderwerpobjectidentificator"`
	} `json:"onderwerpobject"`
}

// maak handles POST /maak-klantcontact. Called with s.mu held.
func (s *Server) maak(w http.ResponseWriter, body []byte) {
	var req maakRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		invalid(w, "nonFieldErrors", "invalid", err.Error())
		return
	}
	kc := req.Klantcontact
	if kc == nil {
		invalid(w, "klantcontact", "required", "Dit veld is vereist.")
		return
	}
	for _, f := range []struct {
		name     string
		v        *string
		max      int
		required bool
	}{{"kanaal", kc.Kanaal, 50, true}, {"onderwerp", kc.Onderwerp, 200, true}, {"inhoud", kc.Inhoud, 1000, false},
		{"taal", kc.Taal, 3, true}, {"referentienummer", kc.Referentienummer, 10, false}, {"reactie", kc.Reactie, 4000, false}} {
		if f.v == nil {
			if f.required {
				invalid(w, "klantcontact."+f.name, "required", "Dit veld is vereist.")
				return
			}
			continue
		}
		if f.required && *f.v == "" {
			invalid(w, "klantcontact."+f.name, "blank", "Dit veld mag niet leeg zijn.")
			return
		}
		if n := utf8.RuneCountInString(*f.v); n > f.max {
			invalid(w, "klantcontact."+f.name, "max_length", fmt.Sprintf("Zorg ervoor dat dit veld niet meer dan %d karakters bevat (nu %d).", f.max, n))
			return
		}
	}
	if kc.Vertrouwelijk == nil {
		invalid(w, "klantcontact.vertrouwelijk", "required", "Dit veld is vereist.")
		return
	}
	for k, v := range kc.Metadata {
		if utf8.RuneCountInString(v) > 255 {
			invalid(w, "klantcontact.metadata."+k, "max_length", "Zorg ervoor dat dit veld niet meer dan 255 karakters bevat.")
			return
		}
	}
	k := &Klantcontact{UUID: s.newUUID(), Kanaal: *kc.Kanaal, Onderwerp: *kc.Onderwerp, Taal: *kc.Taal,
		IndicatieContactGelukt: kc.IndicatieContactGelukt, Vertrouwelijk: *kc.Vertrouwelijk, Metadata: kc.Metadata}
	if kc.Inhoud != nil {
		k.Inhoud = *kc.Inhoud
	}
	if kc.PlaatsgevondenOp != nil {
		k.PlaatsgevondenOp = *kc.PlaatsgevondenOp
	}
	if b := req.Betrokkene; b != nil {
		if b.Rol == nil || (*b.Rol != "klant" && *b.Rol != "vertegenwoordiger") {
			invalid(w, "betrokkene.rol", "invalid_choice", "Kies een geldige optie (klant, vertegenwoordiger).")
			return
		}
		if b.Initiator == nil {
			invalid(w, "betrokkene.initiator", "required", "Dit veld is vereist.")
			return
		}
		if b.WasPartij != nil {
			if s.partijByUUID(b.WasPartij.UUID) == nil {
				invalid(w, "betrokkene.wasPartij.uuid", "does_not_exist", "Partij met uuid "+b.WasPartij.UUID+" bestaat niet.")
				return
			}
			k.PartijUUID = b.WasPartij.UUID
		}
		k.Rol = *b.Rol
	}
	if o := req.Onderwerpobject; o != nil && o.Onderwerpobjectidentificator != nil {
		id := *o.Onderwerpobjectidentificator
		for _, v := range []string{id.ObjectID, id.CodeObjecttype, id.CodeRegister, id.CodeSoortObjectID} {
			if utf8.RuneCountInString(v) > 200 {
				invalid(w, "onderwerpobject.onderwerpobjectidentificator", "max_length", "Zorg ervoor dat dit veld niet meer dan 200 karakters bevat.")
				return
			}
		}
		k.Onderwerpobject = &id
	}
	s.klantcontacten = append(s.klantcontacten, k)
	writeJSON(w, http.StatusCreated, map[string]any{"klantcontact": s.renderKlantcontact(k)})
}

// listKlantcontacten handles GET /klantcontacten with the filters Koerier
// uses. Called with s.mu held.
func (s *Server) listKlantcontacten(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var out []any
	for _, k := range s.klantcontacten {
		if v := q.Get("inhoud"); v != "" && !strings.Contains(strings.ToLower(k.Inhoud), strings.ToLower(v)) {
			continue
		}
		if v := q.Get("hadBetrokkene__wasPartij__url"); v != "" && s.base+"/partijen/"+k.PartijUUID != v {
			continue
		}
		if v := q.Get("hadBetrokkene__wasPartij__uuid"); v != "" && k.PartijUUID != v {
			continue
		}
		if v := q.Get("onderwerpobject__onderwerpobjectidentificatorObjectId"); v != "" && (k.Onderwerpobject == nil || k.Onderwerpobject.ObjectID != v) {
			continue
		}
		out = append(out, s.renderKlantcontact(k))
	}
	s.writePage(w, r, out)
}

func (s *Server) renderKlantcontact(k *Klantcontact) map[string]any {
	betrokkenen, onderwerpen := []any{}, []any{}
	if k.PartijUUID != "" || k.Rol != "" {
		betrokkenen = append(betrokkenen, s.fk("betrokkenen", k.UUID+"-b"))
	}
	if k.Onderwerpobject != nil {
		onderwerpen = append(onderwerpen, s.fk("onderwerpobjecten", k.UUID+"-o"))
	}
	var at any
	if !k.PlaatsgevondenOp.IsZero() {
		at = k.PlaatsgevondenOp.UTC().Format(time.RFC3339)
	}
	return map[string]any{
		"uuid": k.UUID, "url": s.base + "/klantcontacten/" + k.UUID,
		"gingOverOnderwerpobjecten": onderwerpen, "hadBetrokkenActoren": []any{}, "omvatteBijlagen": []any{},
		"hadBetrokkenen": betrokkenen, "leiddeTotInterneTaken": []any{},
		"nummer": nil, "referentienummer": nil, "kanaal": k.Kanaal, "onderwerp": k.Onderwerp, "inhoud": k.Inhoud,
		"indicatieContactGelukt": k.IndicatieContactGelukt, "taal": k.Taal, "vertrouwelijk": k.Vertrouwelijk,
		"plaatsgevondenOp": at, "metadata": k.Metadata,
	}
}

// invalid answers 400 in the ValidatieFout shape of the API.
func invalid(w http.ResponseWriter, name, code, reason string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{
		"type": "", "code": "invalid", "title": "Invalid input.", "status": 400, "detail": "", "instance": "",
		"invalidParams": []map[string]string{{"name": name, "code": code, "reason": reason}},
	})
}
