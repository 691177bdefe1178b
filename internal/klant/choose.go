package klant

import (
	"errors"
	"strings"

	"github.com/mijnservices/koerier/internal/event"
)

// NormalizePhone returns a phone number in E.164 form. Open Klant accepts
// local Dutch numbers (0612345678), +-international and 00-international
// numbers; a number without a country code is Dutch.
func NormalizePhone(s string) (string, error) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.' || r == '/':
		default:
			return "", errors.New("klant: phone number has an unexpected character")
		}
	}
	n := b.String()
	switch {
	case strings.HasPrefix(n, "+"):
	case strings.HasPrefix(n, "00"):
		n = "+" + n[2:]
	case strings.HasPrefix(n, "0") && len(n) == 10:
		n = "+31" + n[1:]
	default:
		return "", errors.New("klant: phone number is neither Dutch nor international")
	}
	// "+31 (0)6..." is a common way of writing a Dutch number.
	if strings.HasPrefix(n, "+310") {
		n = "+31" + n[4:]
	}
	digits := len(n) - 1
	if digits < 8 || digits > 15 || n[1] == '0' {
		return "", errors.New("klant: phone number has the wrong length for E.164")
	}
	return n, nil
}

// Why an address was chosen; these sentences end up in Sources and in
// explain output.
const (
	reasonReferentie = "referentie equals the zaak identificatie"
	reasonVoorkeur   = "voorkeursDigitaalAdres of the partij"
	reasonStandaard  = "isStandaardAdres for its soort"
	reasonFirst      = "first address of its soort"
)

// chosen is one picked digitaal adres with the reason it won.
type chosen struct {
	Adres  DigitaalAdres
	Value  string // normalised (E.164 for phones)
	Reason string
}

// choice is the outcome of choosing among a partij's digitale adressen.
type choice struct {
	Email, Phone *chosen
	// Preferred is event.ChannelEmail or event.ChannelSMS when the partij
	// (or a per-zaak referentie) says which one to use.
	Preferred       string
	PreferredReason string
	PreferredRecord string
	// Skipped notes addresses that could not be used (bad phone number).
	Skipped []string
}

// chooseAddresses applies the order users expect, per soort: an address
// whose referentie equals the zaak identificatie (a per-zaak address the
// citizen gave for this case), then the partij's voorkeursDigitaalAdres,
// then the isStandaardAdres one, then the first one. adressen must be in a
// deterministic order; voorkeurURL may be empty.
func chooseAddresses(adressen []DigitaalAdres, voorkeurURL, zaakID string) choice {
	var c choice
	usable := make([]DigitaalAdres, 0, len(adressen))
	values := map[string]string{}
	for _, a := range adressen {
		switch a.Soort() {
		case SoortEmail:
			v := strings.TrimSpace(a.Adres)
			if !strings.Contains(v, "@") {
				c.Skipped = append(c.Skipped, a.URL+": not an email address")
				continue
			}
			values[a.URL] = v
		case SoortTelefoonnummer:
			v, err := NormalizePhone(a.Adres)
			if err != nil {
				c.Skipped = append(c.Skipped, a.URL+": "+strings.TrimPrefix(err.Error(), "klant: "))
				continue
			}
			values[a.URL] = v
		default:
			continue
		}
		usable = append(usable, a)
	}
	pick := func(soort string) *chosen {
		type rule struct {
			ok     func(DigitaalAdres) bool
			reason string
		}
		rules := []rule{
			{func(a DigitaalAdres) bool { return zaakID != "" && a.Referentie == zaakID }, reasonReferentie},
			{func(a DigitaalAdres) bool { return voorkeurURL != "" && a.URL == voorkeurURL }, reasonVoorkeur},
			{func(a DigitaalAdres) bool { return a.IsStandaardAdres }, reasonStandaard},
			{func(DigitaalAdres) bool { return true }, reasonFirst},
		}
		for _, r := range rules {
			for _, a := range usable {
				if a.Soort() == soort && r.ok(a) {
					return &chosen{Adres: a, Value: values[a.URL], Reason: r.reason}
				}
			}
		}
		return nil
	}
	c.Email = pick(SoortEmail)
	c.Phone = pick(SoortTelefoonnummer)

	channelOf := func(a DigitaalAdres) string {
		if a.Soort() == SoortEmail {
			return event.ChannelEmail
		}
		return event.ChannelSMS
	}
	// The preferred channel follows the same precedence: a per-zaak address
	// beats the partij's general voorkeur.
	for _, a := range usable {
		if zaakID != "" && a.Referentie == zaakID {
			c.Preferred, c.PreferredReason, c.PreferredRecord = channelOf(a), reasonReferentie, a.URL
			return c
		}
	}
	for _, a := range usable {
		if voorkeurURL != "" && a.URL == voorkeurURL {
			c.Preferred, c.PreferredReason, c.PreferredRecord = channelOf(a), reasonVoorkeur, a.URL
			return c
		}
	}
	return c
}
