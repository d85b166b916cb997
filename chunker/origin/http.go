package origin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// HTTPOptions configure an origin reached over plain HTTP(S).
type HTTPOptions struct {
	Options
	// URL is http://host[:port]/prefix/ or https://...: an object name is
	// appended to the prefix. A user:password in it is sent as Basic
	// authorization, and a query string (a CDN token) is sent with every
	// request; neither appears in logs or errors. Required.
	URL string
	// Headers are added to every request to the origin, e.g.
	// Authorization (media.http.headers). Their values appear in no log
	// or error.
	Headers map[string]string
	// Manifest, when set, turns listing on: the URL (absolute, or relative
	// to URL) of a JSON array of object names relative to the prefix, as
	// strings or as objects with a "name" (nginx's autoindex_format json
	// qualifies; its directories are skipped). Empty: List fails with an
	// error wrapping errors.ErrUnsupported.
	Manifest string
	// Transport is the HTTP transport. Default: a clone of
	// http.DefaultTransport with enough idle connections per host for
	// concurrent chunk reads and no transparent decompression.
	Transport http.RoundTripper
}

// NewHTTP returns the origin at opts.URL. It sends nothing yet: an origin
// that is down at start is an origin that is down, not a bad
// configuration.
func NewHTTP(opts HTTPOptions) (*Remote, error) {
	base, err := ParseHTTP(opts.URL)
	if err != nil {
		return nil, err
	}
	h := &httpBackend{base: base, header: make(http.Header)}
	if base.User != nil {
		h.user = base.User
		base.User = nil
	}
	for k, v := range opts.Headers {
		if err := CheckHeader(k, v); err != nil {
			return nil, err
		}
		h.header.Set(k, v)
	}
	if opts.Manifest != "" {
		m, err := base.Parse(opts.Manifest)
		if err != nil || (m.Scheme != "http" && m.Scheme != "https") || m.Host != base.Host {
			return nil, fmt.Errorf("manifest %s: want a path relative to the origin, or a URL on its host", Redact(opts.Manifest))
		}
		h.manifest = m
	}
	tr := opts.Transport
	if tr == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		t.DisableCompression = true
		tr = t
	}
	h.client = &http.Client{
		Transport: tr,
		// Redirects are not followed: the headers would go with them to
		// wherever they lead. statusError says so.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return newRemote(h, Redact(opts.URL), opts.Options), nil
}

// ParseHTTP checks an http(s) origin URL and returns it with its path
// ending in "/".
func ParseHTTP(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: not a URL", Redact(raw))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%s: want http:// or https://", Redact(raw))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%s: no host", Redact(raw))
	}
	if u.Fragment != "" {
		return nil, fmt.Errorf("%s: a #fragment is never sent to a server", Redact(raw))
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		u.RawPath = ""
	}
	return u, nil
}

// CheckHeader refuses a header that net/http would refuse or that would
// break the requests reelcache makes. The value is never quoted.
func CheckHeader(name, value string) error {
	if name == "" || strings.ContainsFunc(name, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r)
	}) {
		return fmt.Errorf("header name %q is not a valid token", name)
	}
	if strings.ContainsFunc(value, func(r rune) bool { return (r < ' ' && r != '\t') || r == 0x7f }) {
		return fmt.Errorf("header %s: the value has control characters", name)
	}
	switch http.CanonicalHeaderKey(name) {
	case "Range", "If-Match", "If-None-Match", "If-Unmodified-Since", "If-Modified-Since", "If-Range", "Accept-Encoding", "Host", "Content-Length":
		return fmt.Errorf("header %s is reelcache's to set", name)
	}
	return nil
}

// httpBackend speaks plain HTTP to the origin.
type httpBackend struct {
	base     *url.URL // with the prefix, ending in "/"; no user
	user     *url.Userinfo
	header   http.Header
	manifest *url.URL
	client   *http.Client
}

// objectURL returns the URL of name, each path element escaped.
func (h *httpBackend) objectURL(name string) *url.URL {
	u := *h.base
	u.Path = h.base.Path + name
	u.RawPath = ""
	return &u
}

func (h *httpBackend) request(ctx context.Context, method string, u *url.URL) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, err
	}
	for k, v := range h.header {
		req.Header[k] = v
	}
	if h.user != nil {
		p, _ := h.user.Password()
		req.SetBasicAuth(h.user.Username(), p)
	}
	req.Header.Set("Accept-Encoding", "identity")
	return req, nil
}

// sendHead sends a HEAD request for u and closes the response's body: its
// status and header are the answer.
func (h *httpBackend) sendHead(ctx context.Context, u *url.URL) (*http.Response, error) {
	req, err := h.request(ctx, http.MethodHead, u)
	if err != nil {
		return nil, err
	}
	res, err := h.client.Do(req)
	if err != nil {
		return nil, err
	}
	res.Body.Close()
	return res, nil
}

func (h *httpBackend) head(ctx context.Context, name string) (reply, error) {
	res, err := h.sendHead(ctx, h.objectURL(name))
	if err != nil {
		return reply{}, err
	}
	rep := httpReply(res)
	rep.body = nil
	if rep.status == http.StatusOK && res.ContentLength >= 0 && rep.encoding == "" {
		rep.val.size = res.ContentLength
		return rep, nil
	}
	if rep.status != http.StatusOK && rep.status != http.StatusMethodNotAllowed && rep.status != http.StatusNotImplemented {
		return rep, nil
	}
	// No HEAD, or no length in its answer (a dynamic server): the first
	// byte's Content-Range says the size.
	g, err := h.get(ctx, name, 0, 1, conditions{})
	if err != nil {
		return reply{}, err
	}
	g.body.Close()
	switch {
	case g.status == http.StatusPartialContent && g.crOK:
		g.val.size = g.crTotal
		g.status = http.StatusOK
	case g.status == http.StatusRequestedRangeNotSatisfiable && g.crOK: // empty
		g.val.size = 0
		g.status = http.StatusOK
	case g.status == http.StatusOK:
		return reply{status: http.StatusBadGateway}, errors.New("the origin gives no size and ignores Range requests")
	}
	g.body = nil
	return g, nil
}

func (h *httpBackend) get(ctx context.Context, name string, off, n int64, c conditions) (reply, error) {
	req, err := h.request(ctx, http.MethodGet, h.objectURL(name))
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("Range", "bytes="+strconv.FormatInt(off, 10)+"-"+strconv.FormatInt(off+n-1, 10))
	if c.ifMatch != "" {
		req.Header.Set("If-Match", c.ifMatch)
	} else if !c.ifUnmodifiedSince.IsZero() {
		req.Header.Set("If-Unmodified-Since", c.ifUnmodifiedSince.UTC().Format(http.TimeFormat))
	}
	res, err := h.client.Do(req)
	if err != nil {
		return reply{}, err
	}
	return httpReply(res), nil
}

// httpReply reads what reelcache checks from a response's header.
func httpReply(res *http.Response) reply {
	rep := reply{status: res.StatusCode, length: res.ContentLength, body: res.Body}
	rep.val.etag = res.Header.Get("ETag")
	if t, err := http.ParseTime(res.Header.Get("Last-Modified")); err == nil {
		rep.val.lastMod = t.Truncate(time.Second)
	}
	rep.val.contentType = res.Header.Get("Content-Type")
	if e := res.Header.Get("Content-Encoding"); e != "" && !strings.EqualFold(e, "identity") {
		rep.encoding = e
	}
	rep.crStart, rep.crEnd, rep.crTotal, rep.crOK = parseContentRange(res.Header.Get("Content-Range"))
	rep.location = res.Header.Get("Location")
	return rep
}

// parseContentRange parses "bytes START-END/TOTAL" and "bytes */TOTAL"
// (RFC 9110 §14.4); for the latter start and end are -1.
func parseContentRange(s string) (start, end, total int64, ok bool) {
	s, ok = strings.CutPrefix(s, "bytes ")
	if !ok {
		return 0, 0, 0, false
	}
	rng, tot, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, 0, false
	}
	total, err := strconv.ParseInt(tot, 10, 64)
	if err != nil || total < 0 {
		return 0, 0, 0, false
	}
	if rng == "*" {
		return -1, -1, total, true
	}
	a, b, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, 0, false
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start || end >= total {
		return 0, 0, 0, false
	}
	return start, end, total, true
}

// check asks the origin something cheap: the manifest when there is one,
// else the prefix, where any answer but 401 or a server error shows the
// origin is up (a prefix is often 403 or 404 of its own).
func (h *httpBackend) check(ctx context.Context) (reply, error) {
	u := h.base
	if h.manifest != nil {
		u = h.manifest
	}
	res, err := h.sendHead(ctx, u)
	if err != nil {
		return reply{}, err
	}
	rep := reply{status: res.StatusCode}
	if h.manifest == nil && rep.status != http.StatusUnauthorized && rep.status < 500 {
		rep.status = http.StatusOK
	}
	return rep, nil
}
