package app

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/mijnservices/koerier/channels/notifynl"
	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/httpclient"
	"github.com/mijnservices/koerier/internal/zgw"
	"github.com/mijnservices/koerier/rules"
)

// Check does the fallible work New would do with cfg before it opens the
// bus and the store: load the rules and build the peers' clients (which
// parses the Notify API key and reads TLS files, but calls nobody). Each
// error names the configuration key and line it is about.
func Check(cfg config.Config) (*rules.RuleSet, []error) {
	var errs []error
	at := func(key string, err error) {
		errs = append(errs, &config.Error{File: cfg.File, Line: cfg.Line(key), Key: key, Msg: err.Error()})
	}
	rs, err := rules.Load(cfg.Rules.Path)
	if err != nil {
		var res rules.Errors
		if errors.As(err, &res) {
			at("rules.path", fmt.Errorf("%s does not load (%d error(s) below)", cfg.Rules.Path, len(res)))
		} else {
			at("rules.path", err)
		}
		errs = append(errs, err)
	}
	if cfg.Notify.URL != "" {
		if _, err := notifynl.ParseAPIKey(cfg.Notify.APIKey); err != nil {
			at("notify.api_key", err)
		}
	}
	for _, t := range []struct {
		key string
		tls config.TLS
		on  bool
	}{{"brp.tls", cfg.BRP.TLS, cfg.BRP.URL != ""}, {"berichtenbox.tls", cfg.Berichtenbox.TLS, cfg.Berichtenbox.ValidatieURL != ""}} {
		if t.on && t.tls.CertFile != "" {
			if _, err := httpclient.MutualTLS(t.tls.CertFile, t.tls.KeyFile, t.tls.CAFile); err != nil {
				at(t.key, err)
			}
		}
	}
	if len(errs) > 0 {
		return rs, errs
	}
	// What the checks above do not cover, the constructors do.
	log := slog.New(slog.DiscardHandler)
	if _, err := zgw.New(ZGWConfig(cfg, nil, log)); err != nil {
		at("zgw", err)
	}
	if _, err := Resolver(cfg, nil, log); err != nil {
		at("openklant", err)
	}
	if _, err := Channels(cfg, log, nil); err != nil {
		at("notify", err)
	}
	return rs, errs
}
