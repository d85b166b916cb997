package stream

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Errors of Signer.Verify.
var (
	ErrUnsigned  = errors.New("stream: media URL is not signed")
	ErrExpired   = errors.New("stream: signed URL has expired")
	ErrSignature = errors.New("stream: bad signature")
)

// Signer signs and verifies media URLs: /media/PATH?exp=UNIX&sig=SIG where
// SIG is the unpadded base64url HMAC-SHA256, under a key, of the URL's
// decoded path followed by exp. It signs with the first key and accepts any,
// so keys rotate by putting a new one first and dropping the old one once
// the URLs it signed have expired. It is safe for concurrent use.
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

func mac(key []byte, path, exp string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(path))
	m.Write([]byte(exp))
	return m.Sum(nil)
}

// SignURL returns the signed URL (path and query) of the media file name,
// valid until exp.
func (s *Signer) SignURL(name string, exp time.Time) string {
	path := MediaURL(name)
	e := strconv.FormatInt(exp.Unix(), 10)
	// The MAC covers the decoded path, as the server sees it.
	sig := base64.RawURLEncoding.EncodeToString(mac(s.keys[0], "/media/"+name, e))
	return fmt.Sprintf("%s?exp=%s&sig=%s", path, e, sig)
}

// Verify checks exp and sig for the decoded URL path at time now. The MAC is
// compared in constant time.
func (s *Signer) Verify(path, exp, sig string, now time.Time) error {
	if exp == "" || sig == "" {
		return ErrUnsigned
	}
	t, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return ErrSignature
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return ErrSignature
	}
	ok := false
	for _, k := range s.keys {
		// Every key is tried, so timing does not say which one matched.
		if hmac.Equal(got, mac(k, path, exp)) {
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
