// Package console is Koerier's web console for functional admins and the
// KCC: Overzicht, Regels, Regeltester, Spoor, Dode brieven (and
// Printbatches once a print channel offers them), in Dutch, rendered on the
// server with html/template and plain forms: no script, so the
// Content-Security-Policy can forbid every script.
//
// It owns login (a token, kept in a signed HttpOnly, SameSite=Strict
// cookie), roles, CSRF protection and the audit log of what a beheerder
// changes. It does not know the bus, the store backends or the pipeline:
// it reads and acts through Backend, which internal/app implements.
package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/rules"
)

// DefaultSessionTTL is how long a login lasts when Options.SessionTTL is 0.
const DefaultSessionTTL = 8 * time.Hour

// Prefix is where the console is mounted.
const Prefix = "/console/"

// Role is what a logged-in user may do.
type Role string

const (
	// Beheerder may do everything: overview, rules, reload, replay.
	Beheerder Role = "beheerder"
	// KCC may only read the trail and use the rule tester.
	KCC Role = "kcc"
)

// Check is the health of one part (bus, store, a peer).
type Check struct {
	Name   string
	OK     bool
	Detail string
}

// Queue is the backlog of one bus topic.
type Queue struct {
	Topic   string
	Pending int
	Err     string
}

// TrailQuery says whose trail to read: an id (notification, event or
// delivery), a subject (found by its keyed hash, never stored in clear), or
// a text found in the ledger's sentences (a zaak identificatie or URL).
type TrailQuery struct {
	ID      string
	Subject event.Subject
	Text    string
}

// DeadLetter is what the console shows of a dead letter: routing facts and
// ids, never the payload; Reason is already masked.
type DeadLetter struct {
	UUID, Topic, Handler, Reason, Kind      string
	Notification, EventID, DeliveryID, Chan string
	Replayed                                int
	DeadSince                               time.Time
}

// ReplayFilter says which dead letters to replay: one (UUID), or all whose
// reason contains Reason (empty: all).
type ReplayFilter struct {
	UUID   string
	Reason string
}

// ReplayResult counts what a replay did.
type ReplayResult struct{ Replayed, Left, FailedAgain int }

// Backend is what the console reads and changes.
type Backend interface {
	Health(ctx context.Context) []Check
	Queues(ctx context.Context) []Queue
	// Recent returns up to n newest ledger records, newest first.
	Recent(ctx context.Context, n int) ([]store.Record, error)
	RulesStatus() rules.ReloadStatus
	// Rules is the rule set in force and the sources it was loaded from.
	Rules() (*rules.RuleSet, []rules.Source, error)
	ReloadRules() error
	// HasChannel says whether the installation has a channel.
	HasChannel(name string) bool
	Trail(ctx context.Context, q TrailQuery) ([]store.Record, error)
	DeadLetters(ctx context.Context, max int) ([]DeadLetter, error)
	Replay(ctx context.Context, f ReplayFilter) (ReplayResult, error)
	// LookupRecipient resolves a subject live, as the route stage does.
	LookupRecipient(ctx context.Context, s event.Subject) (event.Recipient, error)
}

// PrintBatch is one print batch as the Printbatches page lists it.
type PrintBatch struct {
	ID       string
	Profile  string
	State    string
	Letters  int
	SealedAt time.Time
}

// PrintBatches is the hook for the print channel: while Options.PrintBatches
// is nil the Printbatches page is not offered.
type PrintBatches interface {
	List(ctx context.Context) ([]PrintBatch, error)
	// Manifest returns a batch's manifest file (name and content).
	Manifest(ctx context.Context, id string) (name string, data []byte, err error)
}

// Options configure the console. Backend is required.
type Options struct {
	Backend      Backend
	PrintBatches PrintBatches
	// AdminTokens log in as beheerder, KCCTokens as kcc. A token is
	// accepted as typed or with "Bearer " or "Token " before it, because
	// server.admin_tokens holds whole Authorization values.
	AdminTokens []string
	KCCTokens   []string
	// SessionKey signs session cookies; empty means a random key.
	SessionKey []byte
	SessionTTL time.Duration
	// InsecureCookie drops the cookie's Secure flag (plain HTTP).
	InsecureCookie bool
	// RecipientLookup offers the live look-up of a recipient by BSN or KVK
	// number in the rule tester.
	RecipientLookup bool
	// Examples holds example events (events/*.json) and recipients
	// (recipients/*.json) for the rule tester; nil for none.
	Examples fs.FS
	Now      func() time.Time
	// Logger receives the audit log (who, what, when) of every replay and
	// reload, and errors.
	Logger *slog.Logger
}

// Console is the console's http.Handler, mounted at Prefix.
type Console struct {
	o     Options
	mux   *http.ServeMux
	tmpl  *template.Template
	key   []byte
	admin [][sha256.Size]byte
	kcc   [][sha256.Size]byte
	log   *slog.Logger
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// New builds the console. It panics without a Backend: a wiring mistake.
func New(o Options) *Console {
	if o.Backend == nil {
		panic("console: New needs Options.Backend")
	}
	o.Now = clock.Or(o.Now)
	if o.SessionTTL <= 0 {
		o.SessionTTL = DefaultSessionTTL
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Console{o: o, mux: http.NewServeMux(), log: o.Logger.With("component", "console"),
		admin: hashTokens(o.AdminTokens), kcc: hashTokens(o.KCCTokens)}
	c.key = o.SessionKey
	if len(c.key) == 0 {
		c.key = make([]byte, 32)
		_, _ = rand.Read(c.key)
	}
	c.tmpl = template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html"))
	c.routes()
	return c
}

// ServeHTTP sets the security headers every answer carries, then routes.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: with no-referrer Chromium sends
	// "Origin: null" on the console's own form posts, which sameOrigin must
	// refuse. Nothing leaves the site either way.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	c.mux.ServeHTTP(w, r)
}

// session is what the signed cookie carries.
type session struct {
	Role    Role   `json:"r"`
	Who     string `json:"w"`
	Expires int64  `json:"e"`
	Nonce   string `json:"n"`
}

const (
	sessionCookie = "koerier_sessie"
	loginCookie   = "koerier_login"
)

func (c *Console) sign(b []byte) string {
	m := hmac.New(sha256.New, c.key)
	m.Write(b)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (c *Console) encodeSession(s session) string {
	b, _ := json.Marshal(s)
	return base64.RawURLEncoding.EncodeToString(b) + "." + c.sign(b)
}

// sessionOf returns the request's valid session, if any.
func (c *Console) sessionOf(r *http.Request) (session, bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	body, sig, ok := strings.Cut(ck.Value, ".")
	if !ok {
		return session{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || !hmac.Equal([]byte(sig), []byte(c.sign(b))) {
		return session{}, false
	}
	var s session
	if json.Unmarshal(b, &s) != nil || c.o.Now().Unix() >= s.Expires || (s.Role != Beheerder && s.Role != KCC) {
		return session{}, false
	}
	return s, true
}

// csrfToken is bound to the session: a form from another session (or a
// page an attacker rendered) does not carry it.
func (c *Console) csrfToken(s session) string { return c.sign([]byte("csrf\x00" + s.Nonce)) }

func (c *Console) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge, HttpOnly: true,
		Secure: !c.o.InsecureCookie, SameSite: http.SameSiteStrictMode}
}

func hashTokens(tokens []string) [][sha256.Size]byte {
	var out [][sha256.Size]byte
	for _, t := range tokens {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, sha256.Sum256([]byte(t)))
		}
	}
	return out
}

// matches compares typed against every token in constant time (over
// hashes, so neither the lengths nor the position of a match show), as
// typed and with the schemes an Authorization value may carry.
func matches(typed string, sums [][sha256.Size]byte) bool {
	typed = strings.TrimSpace(typed)
	if typed == "" {
		return false
	}
	found := 0
	for _, cand := range []string{typed, "Bearer " + typed, "Token " + typed} {
		h := sha256.Sum256([]byte(cand))
		for i := range sums {
			found |= subtle.ConstantTimeCompare(h[:], sums[i][:])
		}
	}
	return found == 1
}

// who names a login in the audit log without revealing the token.
func who(role Role, token string) string {
	h := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return string(role) + "/token-" + hex.EncodeToString(h[:4])
}

// audit writes one line of the audit log.
func (c *Console) audit(r *http.Request, s session, what string, args ...any) {
	c.log.InfoContext(r.Context(), "audit: "+what, append([]any{"audit", true, "who", s.Who, "role", string(s.Role), "at", c.o.Now().UTC()}, args...)...)
}

var errForbidden = errors.New("geen toegang")

var amsterdam = clock.Amsterdam

func subtleEq(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func randomString() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
