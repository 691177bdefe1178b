package rules

// This file holds what the rules know about the Berichtenbox channel: a
// message's bericht (berichttype, subject, body, attachment), the lengths
// Logius accepts, and rendering the bericht for one decision.

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/mijnservices/koerier/internal/event"
)

// Logius' limits (GLOBEBatchRequestTypes_128ch.xsd), in characters. They
// are repeated here rather than imported so the rules do not depend on a
// channel package; channels/berichtenbox checks them again when it builds
// the batch.
const (
	maxBerichtTypeLen  = 8
	maxOnderwerpLen    = 50
	maxBerichtTekstLen = 4000
)

// AttachBesluitDocument attaches the besluit's document(s) from the
// Documenten API (besluitinformatieobjecten) as PDF.
const AttachBesluitDocument = "besluit-document"

// checkBerichtenboxMessage runs after a message is parsed: its nld
// Berichtenbox template must name a berichttype (a rule that can choose
// the Berichtenbox then always has one: checkMessage demands the nld
// template), and language variants without one inherit it.
func (p *parser) checkBerichtenboxMessage(m *Message, k *yaml.Node) {
	nld, ok := m.Variants[defaultLanguage][event.ChannelBerichtenbox]
	for lang, v := range m.Variants {
		t, has := v[event.ChannelBerichtenbox]
		if !has || lang == defaultLanguage {
			continue
		}
		if t.BerichtType == "" {
			t.BerichtType = nld.BerichtType
		}
		if t.Attach == "" {
			t.Attach = nld.Attach
		}
		v[event.ChannelBerichtenbox] = t
	}
	if ok && nld.BerichtType == "" && nld.subject != nil && nld.body != nil {
		p.errf(k, "add bericht_type: <berichttype as registered at Logius> to messages."+m.Name+".berichtenbox",
			"message %q has a berichtenbox template without bericht_type", m.Name)
	}
}

// checkBerichtenbox renders every Berichtenbox subject and body with the
// sample data of every event type and kind and refuses what Logius would
// refuse: a subject longer than 50 characters or empty, a body longer than
// 4000 (line breaks count as \r\n, two characters).
func (c *compiler) checkBerichtenbox() {
	samples := sampleData(c.rs.linkHosts)
	for _, name := range c.rs.Messages() {
		m := c.rs.messages[name]
		for _, lang := range sortedKeys(m.Variants) {
			t, ok := m.Variants[lang][event.ChannelBerichtenbox]
			if !ok || t.subject == nil || t.body == nil {
				continue
			}
			for _, s := range samples {
				subj, err1 := t.subject.render(s.data)
				body, err2 := t.body.render(s.data)
				if err1 != nil || err2 != nil {
					break // checkPersonalisation reports it
				}
				if n := utf8.RuneCountInString(subj); n > maxOnderwerpLen || n == 0 {
					*c.errs = append(*c.errs, Error{Pos: t.subject.pos, Msg: fmt.Sprintf("messages.%s berichtenbox subject renders to %d characters (%s); the Berichtenbox takes 1 to %d: %q",
						name, n, s.label, maxOnderwerpLen, subj), Hint: "shorten the subject; put details in the body"})
					break
				}
				if n := utf8.RuneCountInString(crlf(body)); n > maxBerichtTekstLen {
					*c.errs = append(*c.errs, Error{Pos: t.body.pos, Msg: fmt.Sprintf("messages.%s berichtenbox body renders to %d characters (%s); the Berichtenbox takes at most %d",
						name, n, s.label, maxBerichtTekstLen), Hint: "shorten the body; a line break counts as two characters"})
					break
				}
			}
		}
	}
}

func crlf(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

// renderBerichtenbox renders the message's Berichtenbox bericht for a
// decision; nil and an explanation when it cannot (the channel then fails
// permanently and the plan moves on).
func (rs *RuleSet) renderBerichtenbox(message, language string, env *Env) (*event.BerichtenboxMessage, string) {
	t, ok := rs.MessageTemplate(message, event.ChannelBerichtenbox, language)
	if !ok || t.subject == nil || t.body == nil {
		return nil, fmt.Sprintf("Bericht %q heeft geen berichtenbox-tekst.", message)
	}
	data := templateData(env)
	subj, err := t.subject.render(data)
	if err != nil {
		return nil, fmt.Sprintf("Berichtenbox-onderwerp van %q (%s) geweigerd: %s.", message, t.subject.pos, err)
	}
	body, err := t.body.render(data)
	if err != nil {
		return nil, fmt.Sprintf("Berichtenbox-tekst van %q (%s) geweigerd: %s.", message, t.body.pos, err)
	}
	return &event.BerichtenboxMessage{BerichtType: t.BerichtType, Subject: subj, Body: body, Attach: t.Attach}, ""
}
