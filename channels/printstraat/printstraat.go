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
	// Exactly one of Dir, SFTP and REST is set.
	Dir string
	// SFTP is the SFTP sink: the batch folder is uploaded under a
	// temporary name and renamed.
	SFTP *SFTP
	// REST is the REST sink: each letter is POSTed on its own.
	REST *REST
}

// Config is the print channel's configuration.
type Config struct {
	Sender   []string
	Logo     []byte
	LogoType string
	Window   Window // zero: DefaultWindow
	// Envelopes are other envelopes by name, for print: {envelope: name}.
	Envelopes map[string]Window
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
	sinks    map[string]sink
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
	c := &Channel{cfg: cfg, sinks: map[string]sink{}, now: clock.Or(cfg.Now)}
	for _, p := range cfg.Profiles {
		cut, err := batch.ParseCutoff(p.Cutoff)
		if err != nil {
			return nil, fmt.Errorf("printstraat: profile %s: %w", p.Name, err)
		}
		sk, err := newSink(p)
		if err != nil {
			return nil, fmt.Errorf("printstraat: profile %s: %w", p.Name, err)
		}
		c.profiles = append(c.profiles, batch.Profile{Name: p.Name, Schedule: cut})
		c.sinks[p.Name] = sk
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
	english := d.Recipient.Language == "eng" || d.Decision.Language == "eng"
	path, err := LetterFile(c.cfg.TemplateDir, d.TemplateID, english)
	if err != nil {
		return Letter{}, failure.Config(fmt.Errorf("printstraat: %w", err))
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return Letter{}, failure.Config(fmt.Errorf("printstraat: read letter template: %w", err))
	}
	body, err := RenderBody(d.TemplateID, string(src), d.Personalisation)
	if err != nil {
		return Letter{}, failure.Config(err)
	}
	l := Letter{
		Address: *d.Recipient.PostalAddress, Sender: c.cfg.Sender, Logo: c.cfg.Logo, LogoType: c.cfg.LogoType,
		Date: c.now(), Zaak: d.Personalisation["zaak_identificatie"], Reference: d.ID, Body: body,
		English: english,
	}
	if d.Envelope != "" {
		w, ok := c.cfg.Envelopes[d.Envelope]
		if !ok {
			return Letter{}, failure.Config(fmt.Errorf("printstraat: the rules ask for envelope %q, which print.envelopes does not define", d.Envelope))
		}
		l.Window = &w
	}
	return l, nil
}

// LetterFile finds the template of letter name (the rules' print:
// {letter: name}) in dir, the rules' folder: letters/<name>.en.md for an
// English reader when it exists, else letters/<name>.nl.md. A name with a
// slash or a .md suffix is a path relative to dir.
func LetterFile(dir, name string, english bool) (string, error) {
	if strings.Contains(name, "/") || strings.HasSuffix(name, ".md") {
		return filepath.Join(dir, filepath.FromSlash(name)), nil
	}
	var tried []string
	langs := []string{"nl"}
	if english {
		langs = []string{"en", "nl"}
	}
	for _, lang := range langs {
		p := filepath.Join(dir, "letters", name+"."+lang+".md")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		tried = append(tried, p)
	}
	return "", fmt.Errorf("no letter template %q: looked for %s", name, strings.Join(tried, ", "))
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

// Hand implements batch.Channel: it hands the batch to the profile's sink
// (folder, SFTP or REST). A batch already handed over (a sealer that
// crashed after the rename) is not written again.
func (c *Channel) Hand(ctx context.Context, b batch.Sealed) ([]batch.Result, error) {
	sk, ok := c.sinks[b.Profile]
	if !ok {
		return nil, fmt.Errorf("printstraat: no profile %q", b.Profile)
	}
	return sk.hand(ctx, b, c.letter, c.cfg.Window)
}

// sink is where a profile's sealed batches go.
type sink interface {
	hand(ctx context.Context, b batch.Sealed, letter func(event.Delivery) (Letter, error), win Window) ([]batch.Result, error)
}

type folderSink string

func (f folderSink) hand(ctx context.Context, b batch.Sealed, letter func(event.Delivery) (Letter, error), win Window) ([]batch.Result, error) {
	return writeFolder(ctx, string(f), b, letter, win)
}

func newSink(p Profile) (sink, error) {
	n := 0
	for _, set := range []bool{p.Dir != "", p.SFTP != nil, p.REST != nil} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		return nil, errors.New("set dir (a folder), sftp or rest: where the print street picks the letters up")
	case n > 1:
		return nil, errors.New("set only one of dir, sftp and rest")
	case p.SFTP != nil:
		return newSFTPSink(*p.SFTP)
	case p.REST != nil:
		return newRESTSink(*p.REST)
	}
	return folderSink(p.Dir), nil
}
