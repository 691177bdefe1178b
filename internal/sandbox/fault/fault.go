// Package fault injects failures into the sandbox fakes of external peers:
// a status code (429 with Retry-After, 5xx, 401), a delay (timeouts) or a
// malformed body, for the next N matching requests. Every fake in
// internal/sandbox wraps its handler with an Injector.
package fault

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rule describes one fault. Method and PathPrefix select requests (empty
// matches all); Times is how many matching requests fail (0 = every one
// until Clear).
type Rule struct {
	Method     string
	PathPrefix string
	Times      int
	// Status is the status to answer with; 0 means no status fault (use
	// with Delay to simulate a slow peer).
	Status int
	// Body is sent with Status; default a problem+json body.
	Body        string
	ContentType string
	RetryAfter  time.Duration
	// Delay is slept before answering (or before passing on when Status is
	// 0); the request's context ends the sleep early.
	Delay time.Duration
}

// Injector holds fault rules and wraps handlers.
type Injector struct {
	mu    sync.Mutex
	rules []*rule
}

type rule struct {
	Rule
	left int // remaining; -1 unlimited
}

// Add installs a rule; rules are checked in the order added.
func (in *Injector) Add(r Rule) {
	in.mu.Lock()
	defer in.mu.Unlock()
	left := r.Times
	if left == 0 {
		left = -1
	}
	in.rules = append(in.rules, &rule{Rule: r, left: left})
}

// Clear removes all rules.
func (in *Injector) Clear() {
	in.mu.Lock()
	in.rules = nil
	in.mu.Unlock()
}

func (in *Injector) match(req *http.Request) (Rule, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for i, r := range in.rules {
		if r.Method != "" && r.Method != req.Method {
			continue
		}
		if r.PathPrefix != "" && !strings.HasPrefix(req.URL.Path, r.PathPrefix) {
			continue
		}
		if r.left > 0 {
			r.left--
			if r.left == 0 {
				in.rules = append(in.rules[:i:i], in.rules[i+1:]...)
			}
		}
		return r.Rule, true
	}
	return Rule{}, false
}

// Wrap returns next with the injector's faults in front of it.
func (in *Injector) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r, ok := in.match(req)
		if !ok {
			next.ServeHTTP(w, req)
			return
		}
		if r.Delay > 0 {
			t := time.NewTimer(r.Delay)
			select {
			case <-t.C:
			case <-req.Context().Done():
				t.Stop()
				return
			}
		}
		if r.Status == 0 {
			next.ServeHTTP(w, req)
			return
		}
		if r.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(r.RetryAfter.Seconds())))
		}
		ct, body := r.ContentType, r.Body
		if body == "" {
			ct = "application/problem+json"
			body = `{"type":"about:blank","title":"injected fault","status":` + strconv.Itoa(r.Status) + `}`
		}
		if ct == "" {
			ct = "application/json"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(r.Status)
		_, _ = w.Write([]byte(body))
	})
}
