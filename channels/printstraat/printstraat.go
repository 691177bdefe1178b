// Package printstraat is the print channel: it renders each delivery as a
// PDF letter (address in the envelope window, sender block, date,
// reference, the rules' letter template), and hands a sealed batch to the
// print street as ZIPs of PDFs plus manifest.csv, manifest.json and
// SHA256SUMS. It implements batch.Channel: the deliver stage only
// enqueues, and the batch sealer calls Hand at the profile's cut-off.
//
// It knows nothing of the router or the store; the recipient's postal
// address comes resolved on the delivery (BRP adressering, Open Klant,
// KVK).
package printstraat

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mijnservices/koerier/channels/batch"
	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/rules"
)

// Limits of one ZIP, as print streets ask.
const (
	MaxLettersPerZIP = 500
	MaxBytesPerZIP   = 40 << 20
)

// Profile is one print profile: when its batch is cut off and where it goes.
type Profile struct {
	Name string
	// Cutoff such as "16:00 ma-vr" (Europe/Amsterdam).
	Cutoff string
	// Dir is the folder sink: batches appear there complete, by rename.
	Dir string
}

// Config is the print channel's configuration.
type Config struct {
	Sender   []string
	Logo     []byte
	LogoType string
	Window   Window // zero: DefaultWindow
	// TemplateDir is where letter templates live (next to the rules); a
	// delivery's TemplateID is a path relative to it.
	TemplateDir string
	Profiles    []Profile
	Now         func() time.Time
}

// Channel is the print channel.
type Channel struct {
	cfg      Config
	profiles []batch.Profile
	dirs     map[string]string
	now      func() time.Time
}

var _ batch.Channel = (*Channel)(nil)

// New checks cfg and builds the channel.
func New(cfg Config) (*Channel, error) {
	if cfg.Window == (Window{}) {
		cfg.Window = DefaultWindow
	}
	if len(cfg.Profiles) == 0 {
		return nil, errors.New("printstraat: no print profile is configured")
	}
	c := &Channel{cfg: cfg, dirs: map[string]string{}, now: clock.Or(cfg.Now)}
	for _, p := range cfg.Profiles {
		cut, err := batch.ParseCutoff(p.Cutoff)
		if err != nil {
			return nil, fmt.Errorf("printstraat: profile %s: %w", p.Name, err)
		}
		if p.Dir == "" {
			return nil, fmt.Errorf("printstraat: profile %s: set dir, the folder the print street reads", p.Name)
		}
		c.profiles = append(c.profiles, batch.Profile{Name: p.Name, Schedule: cut})
		c.dirs[p.Name] = p.Dir
	}
	return c, nil
}

// Name implements batch.Channel.
func (c *Channel) Name() string { return event.ChannelPrint }

// Profiles implements batch.Channel.
func (c *Channel) Profiles() []batch.Profile { return c.profiles }

// Profile implements batch.Channel: a letter needs a living recipient with
// a postal address. Every delivery goes to the first profile.
func (c *Channel) Profile(_ context.Context, d event.Delivery) (string, error) {
	if err := checkRecipient(d.Recipient); err != nil {
		return "", err
	}
	return c.profiles[0].Name, nil
}

func checkRecipient(r event.Recipient) error {
	switch {
	case r.Deceased:
		return failure.Permanent("overleden", errors.New("geen brief: de ontvanger is volgens de BRP overleden"))
	case r.NoPost:
		return failure.Permanent("geen-post", errors.New("geen brief: er mag niet naar dit adres worden geschreven"))
	case r.PostalAddress == nil || len(r.PostalAddress.Lines) == 0:
		return failure.Permanent("geen-adres", errors.New("geen brief: er is geen postadres bekend (BRP, Open Klant, KVK)"))
	}
	return nil
}

// letter renders one delivery's letter text and facts.
func (c *Channel) letter(d event.Delivery) (Letter, error) {
	if d.TemplateID == "" {
		return Letter{}, failure.Config(fmt.Errorf("printstraat: delivery %s has no letter template (print: {letter: …} in the rules)", d.ID))
	}
	path := filepath.Join(c.cfg.TemplateDir, filepath.FromSlash(d.TemplateID))
	src, err := os.ReadFile(path)
	if err != nil {
		return Letter{}, failure.Config(fmt.Errorf("printstraat: read letter template: %w", err))
	}
	body, err := RenderBody(d.TemplateID, string(src), d.Personalisation)
	if err != nil {
		return Letter{}, failure.Config(err)
	}
	return Letter{
		Address: *d.Recipient.PostalAddress, Sender: c.cfg.Sender, Logo: c.cfg.Logo, LogoType: c.cfg.LogoType,
		Date: c.now(), Zaak: d.Personalisation["zaak_identificatie"], Reference: d.ID, Body: body,
		English: d.Recipient.Language == "eng" || d.Decision.Language == "eng",
	}, nil
}

// RenderBody renders a letter template with the rules' template language
// over a delivery's personalisation; a missing field is an error.
func RenderBody(name, src string, personalisation map[string]string) (string, error) {
	t, err := rules.LetterTemplate(name, src)
	if err != nil {
		return "", fmt.Errorf("printstraat: letter template %s: %w", name, err)
	}
	data := make(map[string]any, len(personalisation))
	for k, v := range personalisation {
		data[k] = v
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("printstraat: letter template %s: %w", name, err)
	}
	return b.String(), nil
}

// Hand implements batch.Channel: it writes the batch to the profile's
// folder. A batch already there (a sealer that crashed after the rename)
// is not written again.
func (c *Channel) Hand(ctx context.Context, b batch.Sealed) ([]batch.Result, error) {
	dir, ok := c.dirs[b.Profile]
	if !ok {
		return nil, fmt.Errorf("printstraat: no profile %q", b.Profile)
	}
	return writeFolder(ctx, dir, b, c.letter, c.cfg.Window)
}
