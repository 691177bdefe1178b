package klant

import (
	"context"
	"fmt"
	"strings"

	"github.com/mijnservices/koerier/internal/brp"
	"github.com/mijnservices/koerier/internal/event"
)

// postal fills the postal address and the BRP flags. For inwoners BRP is
// leading (its adressering is composed for letters and it knows who died);
// the Open Klant correspondentieadres is used only when BRP gives no
// address and no reason to stay silent. For bedrijven the Open Klant
// correspondentieadres comes first, then KVK. It reports whether a
// registry knew the subject, and which registries it asked.
func (r *Resolver) postal(ctx context.Context, rec *event.Recipient, primary *Partij) (bool, []string, error) {
	s := rec.Subject
	known := false
	var asked []string
	if rec.Kind == event.KindInwoner && s.BSN != "" && r.o.BRP != nil {
		asked = append(asked, RegistryBRP)
		res, err := cached(ctx, r, r.o.BRPCacheTTL, "brp|"+s.BSN, func() (brp.Result, error) {
			return r.o.BRP.Raadpleeg(ctx, s.BSN)
		})
		if err != nil {
			return false, asked, err
		}
		if !res.Found {
			rec.Sources[FactPostalAddress] = event.Source{Registry: RegistryBRP, Record: res.Source.Record, Note: res.Note}
		} else {
			known = true
			applyBRP(rec, res)
			if res.Deceased || res.NoPost || res.NotAtAddress {
				return known, asked, nil
			}
		}
	}
	if rec.PostalAddress == nil && primary != nil && primary.Correspondentieadres != nil {
		if a := composeAdres(rec.Name, *primary.Correspondentieadres); a != nil {
			rec.PostalAddress = a
			rec.Sources[FactPostalAddress] = event.Source{Registry: RegistryOpenKlant, Record: primary.URL, Note: "correspondentieadres of the partij"}
		}
	}
	if rec.PostalAddress == nil && rec.Kind == event.KindBedrijf && s.KVK != "" && r.o.KVK != nil {
		asked = append(asked, RegistryKVK)
		res, err := r.o.KVK.PostalAddress(ctx, s.KVK, s.Vestigingsnummer)
		if err != nil {
			return known, asked, err
		}
		known = known || res.Found
		if res.Address != nil {
			if rec.Name != "" {
				res.Address.NameLine = rec.Name
			}
			rec.PostalAddress = res.Address
		}
		if rec.Name == "" && res.Name != "" {
			rec.Name = res.Name
			rec.Sources[FactName] = event.Source{Registry: RegistryKVK, Record: res.Source.Record, Note: "naam in the Handelsregister"}
		}
		rec.Sources[FactPostalAddress] = event.Source{Registry: RegistryKVK, Record: res.Source.Record, Note: res.Note}
	}
	return known, asked, nil
}

func applyBRP(rec *event.Recipient, res brp.Result) {
	src := func(note string) event.Source {
		return event.Source{Registry: RegistryBRP, Record: res.Source.Record, Note: note}
	}
	if res.Deceased {
		rec.Deceased = true
		rec.Sources[FactDeceased] = src(fmt.Sprintf("opschorting bijhouding %q or overlijden: send nothing", res.Opschorting))
	}
	if res.NoPost {
		rec.NoPost = true
		rec.Sources[FactNoPost] = src(fmt.Sprintf("opschorting bijhouding %q", res.Opschorting))
	}
	if res.Secrecy {
		rec.Secrecy = true
		rec.Sources[FactSecrecy] = src("geheimhoudingPersoonsgegevens")
	}
	if res.Curatele {
		rec.Curatele = true
		rec.Sources[FactCuratele] = src("indicatieCurateleRegister")
	}
	if res.Address != nil {
		rec.PostalAddress = res.Address
		note := "adressering (NEN 5825 composed by BRP)"
		if res.Abroad {
			note += "; " + res.Note
		}
		rec.Sources[FactPostalAddress] = src(note)
	} else {
		rec.Sources[FactPostalAddress] = src("no usable address: " + res.Note)
	}
}

// composeAdres turns an Open Klant adres into address lines: the free
// adresregels when given, else street, number and postcode/city.
func composeAdres(name string, a Adres) *event.PostalAddress {
	var lines []string
	for _, l := range []string{a.Adresregel1, a.Adresregel2, a.Adresregel3} {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 && a.Straatnaam != "" {
		l1 := a.Straatnaam
		if a.Huisnummer != nil {
			l1 += fmt.Sprintf(" %d", *a.Huisnummer)
		}
		if a.Huisnummertoevoeging != "" {
			l1 += " " + a.Huisnummertoevoeging
		}
		lines = append(lines, l1)
		if a.Postcode != "" || a.Stad != "" {
			lines = append(lines, strings.TrimSpace(a.Postcode+"  "+strings.ToUpper(a.Stad)))
		}
	}
	if len(lines) == 0 {
		return nil
	}
	land := ""
	if a.Land != "" && !strings.EqualFold(a.Land, "NL") {
		land = a.Land
	}
	return &event.PostalAddress{NameLine: name, Lines: lines, Land: land}
}
