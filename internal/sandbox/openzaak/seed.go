package openzaak

// Seeding API. Each Add stores a copy of v, keeping v.UUID (or v's URL's
// last segment) when set so tests can match the uuids of example
// notifications, fills URL and returns the stored value.

func (s *Server) id(uuidField, urlField string) string {
	if uuidField != "" {
		return uuidField
	}
	if urlField != "" {
		return uuidOf(urlField)
	}
	return ""
}

// AddZaakType stores a zaaktype.
func (s *Server) AddZaakType(v ZaakType) ZaakType {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v.Catalogus == "" {
		v.Catalogus = s.base + "/catalogi/api/v1/catalogussen/1f3f5a7e-0b3b-4a4c-9a8e-2c6f5e1d9b10"
	}
	if v.Vertrouwelijkheidaanduiding == "" {
		v.Vertrouwelijkheidaanduiding = "openbaar"
	}
	if v.BeginGeldigheid == "" {
		v.BeginGeldigheid, v.Versiedatum = "2024-01-01", "2024-01-01"
	}
	v.URL, v.UUID = s.add(PathZaaktypen, s.id(v.UUID, v.URL), &v)
	return v
}

// AddStatusType stores a statustype.
func (s *Server) AddStatusType(v StatusType) StatusType {
	s.mu.Lock()
	defer s.mu.Unlock()
	v.URL, v.UUID = s.add(PathStatustypen, s.id(v.UUID, v.URL), &v)
	return v
}

// AddResultaatType stores a resultaattype.
func (s *Server) AddResultaatType(v ResultaatType) ResultaatType {
	s.mu.Lock()
	defer s.mu.Unlock()
	v.URL, v.UUID = s.add(PathResultaattypen, s.id(v.UUID, v.URL), &v)
	return v
}

// AddBesluitType stores a besluittype.
func (s *Server) AddBesluitType(v BesluitType) BesluitType {
	s.mu.Lock()
	defer s.mu.Unlock()
	v.URL, v.UUID = s.add(PathBesluittypen, s.id(v.UUID, v.URL), &v)
	return v
}

// AddZaak stores a zaak.
func (s *Server) AddZaak(v Zaak) Zaak {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v.Vertrouwelijkheidaanduiding == "" {
		v.Vertrouwelijkheidaanduiding = "openbaar"
	}
	if v.BetalingsindicatieWeergave == "" {
		v.BetalingsindicatieWeergave = "Er is geen sprake van te betalen, met de zaak gemoeide, kosten."
	}
	v.Deelzaken, v.Eigenschappen, v.Zaakobjecten = []string{}, []string{}, []string{}
	v.URL, v.UUID = s.add(PathZaken, s.id(v.UUID, v.URL), &v)
	return v
}

// AddStatus stores a status.
func (s *Server) AddStatus(v Status) Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v.Zaakinformatieobjecten == nil {
		v.Zaakinformatieobjecten = []string{}
	}
	v.URL, v.UUID = s.add(PathStatussen, s.id(v.UUID, v.URL), &v)
	return v
}

// AddRol stores a rol.
func (s *Server) AddRol(v Rol) Rol {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v.Statussen == nil {
		v.Statussen = []string{}
	}
	if v.Roltype == "" {
		v.Roltype = s.base + "/catalogi/api/v1/roltypen/" + v.OmschrijvingGeneriek
	}
	if v.Omschrijving == "" {
		v.Omschrijving = v.OmschrijvingGeneriek
	}
	v.URL, v.UUID = s.add(PathRollen, s.id(v.UUID, v.URL), &v)
	return v
}

// AddResultaat stores a resultaat.
func (s *Server) AddResultaat(v Resultaat) Resultaat {
	s.mu.Lock()
	defer s.mu.Unlock()
	v.URL, v.UUID = s.add(PathResultaten, s.id(v.UUID, v.URL), &v)
	return v
}

// AddZaakInformatieObject stores a zaakinformatieobject.
func (s *Server) AddZaakInformatieObject(v ZaakInformatieObject) ZaakInformatieObject {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v.AardRelatieWeergave == "" {
		v.AardRelatieWeergave = "Hoort bij, omgekeerd: kent"
	}
	v.URL, v.UUID = s.add(PathZaakinformatieobjecten, s.id(v.UUID, v.URL), &v)
	return v
}

// AddBesluit stores a besluit.
func (s *Server) AddBesluit(v Besluit) Besluit {
	s.mu.Lock()
	defer s.mu.Unlock()
	v.URL, v.UUID = s.add(PathBesluiten, s.id(v.UUID, v.URL), &v)
	return v
}

// AddBesluitInformatieObject stores a besluitinformatieobject.
func (s *Server) AddBesluitInformatieObject(v BesluitInformatieObject) BesluitInformatieObject {
	s.mu.Lock()
	defer s.mu.Unlock()
	v.URL, v.UUID = s.add(PathBesluitinformatieobjecten, s.id(v.UUID, v.URL), &v)
	return v
}

// AddEnkelvoudigInformatieObject stores a document's metadata.
func (s *Server) AddEnkelvoudigInformatieObject(v EnkelvoudigInformatieObject) EnkelvoudigInformatieObject {
	s.mu.Lock()
	defer s.mu.Unlock()
	v.URL, v.UUID = s.add(PathEnkelvoudiginformatieobjecten, s.id(v.UUID, v.URL), &v)
	if v.Content != nil {
		n := int64(len(v.Content))
		v.Bestandsomvang, v.Inhoud = &n, v.URL+"/download"
		if v.Formaat == "" {
			v.Formaat = "application/pdf"
		}
	}
	return v
}

// NatuurlijkPersoon builds a natuurlijk_persoon betrokkeneIdentificatie.
func NatuurlijkPersoon(bsn, voornamen, geslachtsnaam string) map[string]any {
	return map[string]any{
		"inpBsn": bsn, "anpIdentificatie": "", "inpA_nummer": "", "geslachtsnaam": geslachtsnaam,
		"voorvoegselGeslachtsnaam": "", "voorletters": "", "voornamen": voornamen,
		"geslachtsaanduiding": "", "geboortedatum": "", "verblijfsadres": nil, "subVerblijfBuitenland": nil,
	}
}

// NietNatuurlijkPersoon builds a niet_natuurlijk_persoon
// betrokkeneIdentificatie (kvkNummer is Open Zaak's extension).
func NietNatuurlijkPersoon(kvk, rsin, naam string) map[string]any {
	return map[string]any{
		"innNnpId": rsin, "annIdentificatie": "", "kvkNummer": kvk, "vestigingsNummer": "",
		"statutaireNaam": naam, "innRechtsvorm": "", "bezoekadres": "", "verblijfsadres": nil, "subVerblijfBuitenland": nil,
	}
}

// Vestiging builds a vestiging betrokkeneIdentificatie.
func Vestiging(kvk, vestigingsnummer, handelsnaam string) map[string]any {
	return map[string]any{
		"vestigingsNummer": vestigingsnummer, "handelsnaam": []string{handelsnaam}, "kvkNummer": kvk,
		"verblijfsadres": nil, "subVerblijfBuitenland": nil,
	}
}

// Bool returns a pointer to b, for StatusType.Informeren.
func Bool(b bool) *bool { return &b }
