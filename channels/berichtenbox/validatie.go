package berichtenbox

// This file is the client for Logius' BerichtenboxValidatieService
// (ValidateAbonnementen, WUS SOAP 1.1 document/literal): is an inwoner
// subscribed to a berichttype in MijnOverheid? Logius limits these calls,
// so lookups are batched (up to 250 BSNs per call, concurrent lookups
// coalesced) and answers cached per BSN and berichttype.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/httpclient"
	"github.com/mijnservices/koerier/internal/store"
)

// Namespaces of the ValidatieService WSDL and XSDs.
const (
	NSService = "http://schemas.rdw.nl/GEB/BerichtenboxValidatieService/2009/01"
	NSTypes   = "http://schemas.rdw.nl/GEB/BerichtenboxValidatieService/Types/2009/01"
	NSShared  = "http://schemas.rdw.nl/GEB/Shared/Types/2009/01"
	NSSoap11  = "http://schemas.xmlsoap.org/soap/envelope/"
	// SOAPActionValidate is the soapAction of ValidateAbonnementen.
	SOAPActionValidate = NSService + "/IBerichtenboxValidatieService/ValidateAbonnementen"
)

// MaxKlantenPerCall is Logius' limit on BSNs in one ValidateAbonnementen.
const MaxKlantenPerCall = 250

// DefaultValidatieCacheTTL is the usual lifetime of a subscription answer.
const DefaultValidatieCacheTTL = 24 * time.Hour

// ValidatorOptions configure a Validator.
type ValidatorOptions struct {
	// URL is the ValidatieService endpoint.
	URL string
	// BerichtleverancierCode identifies the gemeente as sender to Logius
	// (required by the XSD).
	BerichtleverancierCode string
	// HTTPClient should come from httpclient.New with
	// httpclient.MutualTLS as Transport (Logius requires PKIoverheid mTLS)
	// and RetryMax -1: SOAP faults arrive as HTTP 500, and retrying an
	// ApplicationFault in-process only spends Logius' call quota. The
	// default client does exactly that.
	HTTPClient *http.Client
	// Cache keeps answers per BSN and berichttype for CacheTTL; nil or a
	// CacheTTL of 0 disables caching.
	Cache    store.Cache
	CacheTTL time.Duration
	// CacheKeySecret keys the HMAC that turns a BSN into a cache key.
	CacheKeySecret []byte
	// BatchWindow is how long the first lookup waits for others to share
	// its call (default 25ms); MaxBatch caps a call (default and maximum
	// 250).
	BatchWindow time.Duration
	MaxBatch    int
	Logger      *slog.Logger
}

// Validator checks Berichtenbox subscriptions.
type Validator struct {
	o ValidatorOptions

	mu      sync.Mutex
	pending map[string]*batch // by berichttype
}

// NewValidator returns a Validator.
func NewValidator(o ValidatorOptions) (*Validator, error) {
	if o.URL == "" {
		return nil, errors.New("berichtenbox: validatie URL is required")
	}
	if o.BerichtleverancierCode == "" {
		return nil, errors.New("berichtenbox: berichtleverancier code is required")
	}
	if o.HTTPClient == nil {
		o.HTTPClient = httpclient.New(httpclient.Options{RetryMax: -1})
	}
	if o.BatchWindow <= 0 {
		o.BatchWindow = 25 * time.Millisecond
	}
	if o.MaxBatch <= 0 || o.MaxBatch > MaxKlantenPerCall {
		o.MaxBatch = MaxKlantenPerCall
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Validator{o: o, pending: map[string]*batch{}}, nil
}

// Checker is a Validator bound to one berichttype; it implements the
// klant.SubscriptionChecker interface.
type Checker struct {
	v           *Validator
	berichtType string
}

// ForBerichtType binds the validator to a berichttype.
func (v *Validator) ForBerichtType(berichtType string) *Checker {
	return &Checker{v: v, berichtType: berichtType}
}

// Subscribed answers whether bsn is subscribed, with the source of the
// answer.
func (c *Checker) Subscribed(ctx context.Context, bsn string) (event.Tri, event.Source, error) {
	tri, cached, err := c.v.check(ctx, c.berichtType, bsn)
	if err != nil {
		return event.Unknown, event.Source{}, err
	}
	note := "ValidateAbonnementen berichtType " + c.berichtType
	if cached {
		note += " (cached answer)"
	}
	return tri, event.Source{Registry: "berichtenbox", Record: c.v.o.URL, Note: note}, nil
}

// Check answers whether bsn is subscribed to berichtType. Concurrent calls
// for the same berichttype share one ValidateAbonnementen call.
func (v *Validator) Check(ctx context.Context, berichtType, bsn string) (event.Tri, error) {
	tri, _, err := v.check(ctx, berichtType, bsn)
	return tri, err
}

func (v *Validator) check(ctx context.Context, berichtType, bsn string) (event.Tri, bool, error) {
	if tri, ok := v.fromCache(ctx, berichtType, bsn); ok {
		return tri, true, nil
	}
	b := v.join(berichtType, bsn)
	select {
	case <-b.done:
	case <-ctx.Done():
		return event.Unknown, false, fmt.Errorf("berichtenbox: validate abonnementen: %w", ctx.Err())
	}
	if b.err != nil {
		return event.Unknown, false, b.err
	}
	return b.answers[bsn], false, nil
}

// CheckMany answers for many BSNs at once, in calls of at most MaxBatch.
func (v *Validator) CheckMany(ctx context.Context, berichtType string, bsns []string) (map[string]event.Tri, error) {
	out := make(map[string]event.Tri, len(bsns))
	var todo []string
	seen := map[string]bool{}
	for _, b := range bsns {
		if seen[b] {
			continue
		}
		seen[b] = true
		if tri, ok := v.fromCache(ctx, berichtType, b); ok {
			out[b] = tri
			continue
		}
		todo = append(todo, b)
	}
	for len(todo) > 0 {
		n := min(len(todo), v.o.MaxBatch)
		ans, err := v.call(ctx, berichtType, todo[:n])
		if err != nil {
			return nil, err
		}
		for k, t := range ans {
			out[k] = t
		}
		todo = todo[n:]
	}
	return out, nil
}

// batch is one ValidateAbonnementen call being gathered.
type batch struct {
	bsns    []string
	seen    map[string]bool
	timer   *time.Timer
	done    chan struct{}
	answers map[string]event.Tri
	err     error
}

func (v *Validator) join(berichtType, bsn string) *batch {
	v.mu.Lock()
	defer v.mu.Unlock()
	b := v.pending[berichtType]
	if b == nil {
		b = &batch{seen: map[string]bool{}, done: make(chan struct{})}
		v.pending[berichtType] = b
		b.timer = time.AfterFunc(v.o.BatchWindow, func() { v.flush(berichtType, b) })
	}
	if !b.seen[bsn] {
		b.seen[bsn] = true
		b.bsns = append(b.bsns, bsn)
	}
	if len(b.bsns) >= v.o.MaxBatch {
		b.timer.Stop()
		delete(v.pending, berichtType)
		go v.run(berichtType, b)
	}
	return b
}

func (v *Validator) flush(berichtType string, b *batch) {
	v.mu.Lock()
	if v.pending[berichtType] != b {
		// Already sent because it filled up.
		v.mu.Unlock()
		return
	}
	delete(v.pending, berichtType)
	v.mu.Unlock()
	v.run(berichtType, b)
}

func (v *Validator) run(berichtType string, b *batch) {
	// The call serves every waiter, so no single caller's context may
	// cancel it; the HTTP client's timeout bounds it.
	b.answers, b.err = v.call(context.Background(), berichtType, b.bsns)
	close(b.done)
}

// call does one ValidateAbonnementen and caches the answers.
func (v *Validator) call(ctx context.Context, berichtType string, bsns []string) (map[string]event.Tri, error) {
	body, err := marshalRequest(v.o.BerichtleverancierCode, berichtType, bsns)
	if err != nil {
		return nil, fmt.Errorf("berichtenbox: validate abonnementen: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.o.URL, bytes.NewReader(body))
	if err != nil {
		return nil, failure.Permanent("ongeldig-verzoek", fmt.Errorf("berichtenbox: validate abonnementen: %w", err))
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"`+SOAPActionValidate+`"`)
	resp, err := v.o.HTTPClient.Do(req)
	if err != nil {
		var ue *url.Error
		for errors.As(err, &ue) && ue.Err != nil {
			err = ue.Err
		}
		return nil, failure.Temporary(fmt.Errorf("berichtenbox: validate abonnementen: %w", err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, failure.Temporary(fmt.Errorf("berichtenbox: validate abonnementen: read body: %w", err))
	}
	abos, ferr := unmarshalResponse(raw)
	if ferr != nil {
		var f *Fault
		if errors.As(ferr, &f) {
			if f.Temporary() {
				return nil, failure.RetryAfter(fmt.Errorf("berichtenbox: validate abonnementen: %w", f), httpclient.RetryAfter(resp))
			}
			return nil, failure.Permanent("soap-fout", fmt.Errorf("berichtenbox: validate abonnementen: %w", f))
		}
		if resp.StatusCode/100 != 2 {
			e := fmt.Errorf("berichtenbox: validate abonnementen: %s", resp.Status)
			if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
				return nil, failure.RetryAfter(e, httpclient.RetryAfter(resp))
			}
			return nil, failure.Permanent("geweigerd", e)
		}
		return nil, failure.Temporary(fmt.Errorf("berichtenbox: validate abonnementen: %w", ferr))
	}
	out := make(map[string]event.Tri, len(bsns))
	for _, b := range bsns {
		// A BSN the service leaves out has no subscription to report.
		out[b] = event.No
	}
	for _, a := range abos {
		if _, asked := out[a.Klant.Key]; !asked {
			continue
		}
		if a.IsBerichtSturen {
			out[a.Klant.Key] = event.Yes
		}
	}
	for b, t := range out {
		v.toCache(ctx, berichtType, b, t)
	}
	return out, nil
}

// CacheKey is the store key for one BSN and berichttype: a keyed hash, so
// the key does not reveal the BSN.
func CacheKey(secret []byte, berichtType, bsn string) string {
	if len(secret) == 0 {
		secret = []byte("koerier/berichtenbox/abonnement/v1")
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(berichtType + "|" + bsn))
	return "berichtenbox:abonnement:" + hex.EncodeToString(m.Sum(nil))
}

func (v *Validator) fromCache(ctx context.Context, berichtType, bsn string) (event.Tri, bool) {
	if v.o.Cache == nil || v.o.CacheTTL <= 0 {
		return event.Unknown, false
	}
	b, ok, err := v.o.Cache.Get(ctx, CacheKey(v.o.CacheKeySecret, berichtType, bsn))
	if err != nil {
		v.o.Logger.WarnContext(ctx, "berichtenbox: cache get failed", "err", err)
		return event.Unknown, false
	}
	if !ok {
		return event.Unknown, false
	}
	switch t := event.Tri(b); t {
	case event.Yes, event.No:
		return t, true
	}
	return event.Unknown, false
}

func (v *Validator) toCache(ctx context.Context, berichtType, bsn string, t event.Tri) {
	if v.o.Cache == nil || v.o.CacheTTL <= 0 {
		return
	}
	if err := v.o.Cache.Set(ctx, CacheKey(v.o.CacheKeySecret, berichtType, bsn), []byte(t), v.o.CacheTTL); err != nil {
		v.o.Logger.WarnContext(ctx, "berichtenbox: cache set failed", "err", err)
	}
}

// Wire format. encoding/xml writes a namespace per element, which is
// verbose but exactly what elementFormDefault="qualified" asks for.

type envelope struct {
	XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
	Body    struct {
		Request  *validateAbonnementen         `xml:"http://schemas.rdw.nl/GEB/BerichtenboxValidatieService/2009/01 ValidateAbonnementen,omitempty"`
		Response *validateAbonnementenResponse `xml:"http://schemas.rdw.nl/GEB/BerichtenboxValidatieService/2009/01 ValidateAbonnementenResponse,omitempty"`
		Fault    *soapFault                    `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

type validateAbonnementen struct {
	Aanvraag struct {
		BerichtleverancierCode string `xml:"http://schemas.rdw.nl/GEB/BerichtenboxValidatieService/Types/2009/01 berichtleverancierCode"`
		BerichtTypeCode        string `xml:"http://schemas.rdw.nl/GEB/BerichtenboxValidatieService/Types/2009/01 berichtTypeCode"`
		Klanten                struct {
			Klant []Klant `xml:"http://schemas.rdw.nl/GEB/Shared/Types/2009/01 Klant"`
		} `xml:"http://schemas.rdw.nl/GEB/BerichtenboxValidatieService/Types/2009/01 klanten"`
	} `xml:"http://schemas.rdw.nl/GEB/BerichtenboxValidatieService/2009/01 validateAbonnementenAanvraag"`
}

type validateAbonnementenResponse struct {
	Result struct {
		Abonnement []Abonnement `xml:"http://schemas.rdw.nl/GEB/BerichtenboxValidatieService/Types/2009/01 Abonnement"`
	} `xml:"http://schemas.rdw.nl/GEB/BerichtenboxValidatieService/2009/01 ValidateAbonnementenResult"`
}

// Klant is a citizen in a ValidateAbonnementen request or answer.
type Klant struct {
	Key string `xml:"http://schemas.rdw.nl/GEB/Shared/Types/2009/01 Key"`
	Rol string `xml:"http://schemas.rdw.nl/GEB/Shared/Types/2009/01 Rol"`
}

// Abonnement is one answer: whether messages may be sent to the klant.
type Abonnement struct {
	Klant           Klant `xml:"http://schemas.rdw.nl/GEB/BerichtenboxValidatieService/Types/2009/01 klant"`
	IsBerichtSturen bool  `xml:"http://schemas.rdw.nl/GEB/BerichtenboxValidatieService/Types/2009/01 isBerichtSturen"`
}

type soapFault struct {
	Code   string `xml:"faultcode"`
	String string `xml:"faultstring"`
	Detail struct {
		Dependent *struct {
			Message string `xml:"http://schemas.rdw.nl/GEB/Shared/Types/2009/01 Message"`
		} `xml:"http://schemas.rdw.nl/GEB/Shared/Types/2009/01 DependentServiceFault"`
		Application *struct {
			Message string `xml:"http://schemas.rdw.nl/GEB/Shared/Types/2009/01 Message"`
		} `xml:"http://schemas.rdw.nl/GEB/Shared/Types/2009/01 ApplicationFault"`
	} `xml:"detail"`
}

// Fault is a SOAP fault from the ValidatieService.
type Fault struct {
	Code, String string
	// Kind is DependentServiceFault, ApplicationFault or "" (a plain SOAP
	// fault).
	Kind    string
	Message string
}

func (f *Fault) Error() string {
	s := "SOAP fault " + f.Code
	if f.Kind != "" {
		s += " " + f.Kind
	}
	if m := firstNonEmpty(f.Message, f.String); m != "" {
		s += ": " + m
	}
	return s
}

// Temporary reports whether trying again later may help: a dependent
// service of Logius was down, or the fault blames the server.
func (f *Fault) Temporary() bool {
	if f.Kind == "DependentServiceFault" {
		return true
	}
	if f.Kind == "ApplicationFault" {
		return false
	}
	return strings.HasSuffix(f.Code, "Server")
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// marshalRequest builds the SOAP envelope of a ValidateAbonnementen call.
func marshalRequest(leverancier, berichtType string, bsns []string) ([]byte, error) {
	var env envelope
	env.Body.Request = &validateAbonnementen{}
	a := &env.Body.Request.Aanvraag
	a.BerichtleverancierCode = leverancier
	a.BerichtTypeCode = berichtType
	for _, b := range bsns {
		a.Klanten.Klant = append(a.Klanten.Klant, Klant{Key: b, Rol: "Burger"})
	}
	out, err := xml.Marshal(env)
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), out...), nil
}

// unmarshalResponse reads a ValidateAbonnementenResponse; a SOAP fault
// comes back as *Fault.
func unmarshalResponse(raw []byte) ([]Abonnement, error) {
	var env envelope
	if err := xml.Unmarshal(raw, &env); err != nil {
		return nil, fmt.Errorf("decode SOAP envelope: %w", err)
	}
	if f := env.Body.Fault; f != nil {
		out := &Fault{Code: f.Code, String: f.String}
		switch {
		case f.Detail.Dependent != nil:
			out.Kind, out.Message = "DependentServiceFault", f.Detail.Dependent.Message
		case f.Detail.Application != nil:
			out.Kind, out.Message = "ApplicationFault", f.Detail.Application.Message
		}
		return nil, out
	}
	if env.Body.Response == nil {
		return nil, errors.New("no ValidateAbonnementenResponse in the SOAP body")
	}
	return env.Body.Response.Result.Abonnement, nil
}
