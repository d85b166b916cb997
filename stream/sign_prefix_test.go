package stream

import (
	"net/url"
	"testing"
	"time"
)

// TestSignPrefix: a prefix signature covers exactly the clean paths under
// its prefix, until it expires, and stands in for no other token.
func TestSignPrefix(t *testing.T) {
	s, _ := NewSigner([]string{"key-one"})
	now := time.Now()
	q, _ := url.ParseQuery(s.SignPrefix("/hls/films/t/", now.Add(time.Minute)))
	exp, pfx, sig := q.Get("exp"), q.Get("pfx"), q.Get("sig")
	cases := []struct {
		path, pfx string
		at        time.Time
		want      error
	}{
		{"/hls/films/t/master.m3u8", pfx, now, nil},
		{"/hls/films/t/a.mp4/seg-3.m4s", pfx, now, nil},
		{"/hls/films/t/master.m3u8", pfx, now.Add(2 * time.Minute), ErrExpired},
		{"/hls/films/other/master.m3u8", pfx, now, ErrScope},
		{"/hls/films/t/../x/seg-1.m4s", pfx, now, ErrScope},
		{"/hls/films/t//seg-1.m4s", pfx, now, ErrScope},
		{"/hls/films/t/./seg-1.m4s", pfx, now, ErrScope},
		{"/hls/films/t/a\\b", pfx, now, ErrScope},
		{"/hls/films/x", "/hls/films/", now, ErrSignature}, // a wider prefix than signed
		{"/media/films/t/a.mp4", "/media/films/t/", now, ErrSignature},
	}
	for _, c := range cases {
		if err := s.VerifyPrefix(c.path, c.pfx, exp, sig, c.at); err != c.want {
			t.Errorf("VerifyPrefix(%q, %q): %v, want %v", c.path, c.pfx, err, c.want)
		}
	}
	// The prefix signature is no media URL signature, and the reverse.
	if err := s.Verify("/hls/films/t/", exp, sig, now); err != ErrSignature {
		t.Errorf("prefix signature accepted as a path signature: %v", err)
	}
	u, _ := url.Parse(s.SignPath("/hls/films/t/", now.Add(time.Minute)))
	if err := s.VerifyPrefix("/hls/films/t/x", "/hls/films/t/", u.Query().Get("exp"), u.Query().Get("sig"), now); err != ErrSignature {
		t.Errorf("path signature accepted as a prefix signature: %v", err)
	}
}
