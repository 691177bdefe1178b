package objecten

// DemoTaakObjecttype is the objecttype URL of the demo taken; configure it
// in Koerier's taak objecttypen.
const DemoTaakObjecttype = "https://objecttypen.gemeente.example/api/v2/objecttypes/d5c77844-7e00-4908-9839-f18a8ac6a045"

// Demo holds the URLs of the demo taken.
type Demo struct {
	// TaakInwoner is a Den Haag shaped taak for BSN 999993653 on zaakURL.
	TaakInwoner string
	// TaakBedrijf is a community shaped taak for KVK 69599084.
	TaakBedrijf string
}

// SeedDemo adds two open taken with a verloopdatum; zaakURL links the
// inwoner's taak to a zaak (e.g. openzaak's demo zaak). Set the base URL
// first.
func SeedDemo(s *Server, zaakURL string) Demo {
	return Demo{
		TaakInwoner: s.Put("63627e94-4652-403f-8ed5-0cb9addfe9dd", DemoTaakObjecttype,
			DenHaagTaak("Aanleveren informatie", "open", zaakURL, "2025-05-03T21:59:59.999Z", "999993653")),
		TaakBedrijf: s.Put("", DemoTaakObjecttype,
			CommunityTaak("Betaal de leges", "open", "", "2025-05-10 17:00:00", "kvk", "69599084")),
	}
}
