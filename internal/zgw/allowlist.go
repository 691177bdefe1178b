package zgw

import (
	"fmt"
	"net/url"
	"path"
	"strings"
)

// AllowList holds the API roots Koerier may fetch from. A notification's
// resourceUrl and every URL found inside a fetched object are attacker
// controllable (anyone who can post to a ZGW API can put any URL in a
// reference), so every outbound GET is checked against it: scheme, host
// (with port) and a path prefix on a segment boundary must match.
type AllowList struct {
	roots []*url.URL
}

// NewAllowList parses the API roots; a root must be an absolute http(s) URL.
func NewAllowList(roots ...string) (*AllowList, error) {
	al := &AllowList{}
	for _, r := range roots {
		u, err := url.Parse(r)
		if err != nil {
			return nil, fmt.Errorf("zgw: allow-list root %q: %w", r, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("zgw: allow-list root %q is not an absolute http(s) URL", r)
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		u.RawQuery, u.Fragment = "", ""
		al.roots = append(al.roots, u)
	}
	return al, nil
}

// ForbiddenURLError is returned for a URL outside the allow-list.
type ForbiddenURLError struct {
	URL    string
	Reason string
}

func (e *ForbiddenURLError) Error() string {
	return fmt.Sprintf("zgw: url %q is not on the allow-list: %s", e.URL, e.Reason)
}

// Check returns nil when raw is under one of the roots, and a
// *ForbiddenURLError otherwise.
func (al *AllowList) Check(raw string) error {
	_, err := al.root(raw)
	return err
}

// root returns the allow-listed root raw falls under.
func (al *AllowList) root(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", &ForbiddenURLError{URL: raw, Reason: "unparsable"}
	}
	if u.User != nil {
		return "", &ForbiddenURLError{URL: raw, Reason: "userinfo in url"}
	}
	// A path that cleans to something else ("/zaken/api/v1/../../admin")
	// could pass a prefix test and still reach another service.
	p := u.Path
	if p == "" {
		p = "/"
	}
	if c := path.Clean(p); c != strings.TrimSuffix(p, "/") && c != p {
		return "", &ForbiddenURLError{URL: raw, Reason: "path is not clean"}
	}
	for _, r := range al.roots {
		if !strings.EqualFold(u.Scheme, r.Scheme) || !strings.EqualFold(u.Host, r.Host) {
			continue
		}
		if r.Path == "" || u.Path == r.Path || strings.HasPrefix(u.Path, r.Path+"/") {
			return r.String(), nil
		}
	}
	return "", &ForbiddenURLError{URL: raw, Reason: "no configured api root matches"}
}
