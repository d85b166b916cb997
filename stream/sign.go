package stream

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Errors of Signer.Verify and Signer.VerifyGrant.
var (
	ErrUnsigned  = errors.New("stream: media URL is not signed")
	ErrExpired   = errors.New("stream: signed URL has expired")
	ErrSignature = errors.New("stream: bad signature")
	ErrScope     = errors.New("stream: grant does not cover this file")
)

// Signer signs and verifies two kinds of tokens, with domain separation so
// that neither can stand in for the other:
//
//   - media URLs, /media/PATH?exp=UNIX&sig=SIG, where SIG is the unpadded
//     base64url HMAC-SHA256, under a key, of the URL's decoded path followed
//     by exp (the message starts with "/media/");
//   - page grants, EXP.SIG.SCOPE, where SIG is the HMAC of
//     "reelcache grant\x00" + SCOPE + "\x00" + EXP. A grant lets the API
//     (/api/media, /api/chunks/) answer for SCOPE until EXP: one file, a
//     directory (ending in "/"), or the whole library ("").
//
// It signs with the first key and accepts any, so keys rotate by putting a
// new one first and dropping the old one once what it signed has expired.
// It is safe for concurrent use.
type Signer struct {
	keys [][]byte
}

// NewSigner returns a Signer for keys, the first of which signs.
func NewSigner(keys []string) (*Signer, error) {
	if len(keys) == 0 {
		return nil, errors.New("stream: no signing keys")
	}
	s := &Signer{}
	for _, k := range keys {
		s.keys = append(s.keys, []byte(k))
	}
	return s, nil
}

func mac(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// grantDomain starts every grant's MAC message. A media URL's message
// starts with "/media/", so the two never collide.
const grantDomain = "reelcache grant\x00"

// SignURL returns the signed URL (path and query) of the media file name,
// valid until exp.
func (s *Signer) SignURL(name string, exp time.Time) string {
	return s.SignPath("/media/"+name, exp)
}

// SignPath returns the signed URL (escaped path and query) of the decoded
// URL path p, valid until exp: what RequireSignature accepts for p. Other
// routes behind MediaMiddleware sign their URLs with it: the packagers'
// playlists (/hls/.../master.m3u8), seek previews' sprites.
func (s *Signer) SignPath(p string, exp time.Time) string {
	e := strconv.FormatInt(exp.Unix(), 10)
	// The MAC covers the decoded path, as the server sees it.
	sig := base64.RawURLEncoding.EncodeToString(mac(s.keys[0], p, e))
	return fmt.Sprintf("%s?exp=%s&sig=%s", (&url.URL{Path: p}).EscapedPath(), e, sig)
}

// Verify checks exp and sig for the decoded URL path at time now. The MAC is
// compared in constant time.
func (s *Signer) Verify(path, exp, sig string, now time.Time) error {
	if exp == "" || sig == "" {
		return ErrUnsigned
	}
	return s.check(exp, sig, now, path, exp)
}

// check verifies sig over parts with every key (so timing does not say which
// one matched), then the expiry exp.
func (s *Signer) check(exp, sig string, now time.Time, parts ...string) error {
	t, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !digits(exp, false) {
		return ErrSignature
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return ErrSignature
	}
	ok := false
	for _, k := range s.keys {
		if hmac.Equal(got, mac(k, parts...)) {
			ok = true
		}
	}
	if !ok {
		return ErrSignature
	}
	if now.Unix() > t {
		return ErrExpired
	}
	return nil
}

// Grant is a verified page grant.
type Grant struct {
	Scope string    // "" the whole library, "dir/" a directory, else one file
	Exp   time.Time // when it stops working
}

// Covers reports whether the grant lets the API answer for the media file
// name (a path relative to the media root).
func (g Grant) Covers(name string) bool {
	if !fs.ValidPath(name) {
		return false
	}
	switch {
	case g.Scope == "":
		return true
	case strings.HasSuffix(g.Scope, "/"):
		return strings.HasPrefix(name, g.Scope)
	}
	return name == g.Scope
}

// CheckScope reports whether scope can be granted: "" (the whole library),
// a directory ending in "/", or a file, as slash-separated paths relative to
// the media root without "." or ".." elements.
func CheckScope(scope string) error {
	if scope == "" {
		return nil
	}
	p := strings.TrimSuffix(scope, "/")
	if !fs.ValidPath(p) || p == "." || strings.ContainsAny(p, "\\\x00") {
		return fmt.Errorf("scope %q: want a path relative to the media root, such as movies/a.mp4 or movies/", scope)
	}
	return nil
}

// SignGrant returns a page grant for scope valid until exp. scope must pass
// CheckScope.
func (s *Signer) SignGrant(scope string, exp time.Time) string {
	e := strconv.FormatInt(exp.Unix(), 10)
	sig := base64.RawURLEncoding.EncodeToString(mac(s.keys[0], grantDomain, scope, "\x00", e))
	return e + "." + sig + "." + scope
}

// VerifyGrant checks a page grant at time now and returns it.
func (s *Signer) VerifyGrant(token string, now time.Time) (Grant, error) {
	if token == "" {
		return Grant{}, ErrUnsigned
	}
	exp, rest, ok1 := strings.Cut(token, ".")
	sig, scope, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || CheckScope(scope) != nil {
		return Grant{}, ErrSignature
	}
	if err := s.check(exp, sig, now, grantDomain, scope, "\x00", exp); err != nil {
		return Grant{}, err
	}
	t, _ := strconv.ParseInt(exp, 10, 64)
	return Grant{Scope: scope, Exp: time.Unix(t, 0)}, nil
}

// prefixDomain starts the MAC message of a prefix signature, so that it can
// stand in for neither a media URL's (which starts with "/") nor a grant's.
const prefixDomain = "reelcache prefix\x00"

// SignPrefix returns the query (exp=E&pfx=P&sig=S, encoded) of a signature
// valid until exp for every URL path under prefix, a decoded URL path
// ending in "/" such as "/hls/movies/title/". The packagers put it on the
// URLs inside a playlist or an MPD, whose segment templates cannot carry
// one signature per URL; it expires with the playlist's own.
func (s *Signer) SignPrefix(prefix string, exp time.Time) string {
	e := strconv.FormatInt(exp.Unix(), 10)
	sig := base64.RawURLEncoding.EncodeToString(mac(s.keys[0], prefixDomain, prefix, "\x00", e))
	return url.Values{"exp": {e}, "pfx": {prefix}, "sig": {sig}}.Encode()
}

// VerifyPrefix checks a prefix signature for the decoded URL path at time
// now: path must lie under prefix and be clean (no empty, "." or ".."
// element), so that no spelling of a path escapes the prefix.
func (s *Signer) VerifyPrefix(path, prefix, exp, sig string, now time.Time) error {
	if exp == "" || sig == "" {
		return ErrUnsigned
	}
	rest, ok := strings.CutPrefix(path, prefix)
	if !ok || !strings.HasPrefix(prefix, "/") || !strings.HasSuffix(prefix, "/") ||
		!fs.ValidPath(rest) || strings.ContainsAny(path, "\\\x00") || !fs.ValidPath(prefix[1:len(prefix)-1]) {
		return ErrScope
	}
	return s.check(exp, sig, now, prefixDomain, prefix, "\x00", exp)
}
