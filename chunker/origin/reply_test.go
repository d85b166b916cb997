package origin

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/reelcache/reelcache/chunker"
)

func TestCheckReply(t *testing.T) {
	lm := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	strong := validators{size: 1000, etag: `"abc"`, lastMod: lm}
	weak := validators{size: 1000, etag: `W/"abc"`, lastMod: lm}
	ok206 := func(start, end, total int64) reply {
		return reply{status: 206, crStart: start, crEnd: end, crTotal: total, crOK: true, length: end - start + 1, val: validators{etag: `"abc"`, lastMod: lm}}
	}
	r := &Remote{desc: "test", log: slog.New(slog.DiscardHandler), logged: map[string]time.Time{}}
	for _, tt := range []struct {
		name   string
		want   validators
		off, n int64
		rep    reply
		err    error // nil: accepted
	}{
		{"exact", strong, 100, 50, ok206(100, 149, 1000), nil},
		{"no validators in the reply", strong, 0, 10, reply{status: 206, crStart: 0, crEnd: 9, crTotal: 1000, crOK: true, length: -1}, nil},
		{"whole object as 200", strong, 0, 1000, reply{status: 200, length: 1000, val: validators{etag: `"abc"`}}, nil},
		{"200 for a part", strong, 10, 100, reply{status: 200, length: 1000}, chunker.ErrOriginUnavailable},
		{"412", strong, 0, 10, reply{status: 412}, chunker.ErrChanged},
		{"416", strong, 0, 10, reply{status: 416}, chunker.ErrChanged},
		{"404 mid-read", strong, 0, 10, reply{status: 404}, chunker.ErrChanged},
		{"other total", strong, 100, 50, ok206(100, 149, 2000), chunker.ErrChanged},
		{"other ETag", strong, 100, 50, func() reply { r := ok206(100, 149, 1000); r.val.etag = `"def"`; return r }(), chunker.ErrChanged},
		{"other Last-Modified", weak, 100, 50, func() reply {
			r := ok206(100, 149, 1000)
			r.val.etag, r.val.lastMod = `W/"abc"`, lm.Add(time.Second)
			return r
		}(), chunker.ErrChanged},
		{"other range", strong, 100, 50, ok206(0, 49, 1000), chunker.ErrOriginUnavailable},
		{"206 without Content-Range", strong, 0, 10, reply{status: 206, length: 10}, chunker.ErrOriginUnavailable},
		{"wrong length", strong, 100, 50, func() reply { r := ok206(100, 149, 1000); r.length = 49; return r }(), chunker.ErrOriginUnavailable},
		{"compressed", strong, 100, 50, func() reply { r := ok206(100, 149, 1000); r.encoding = "gzip"; return r }(), chunker.ErrOriginUnavailable},
		{"denied", strong, 0, 10, reply{status: 403}, chunker.ErrOriginDenied},
	} {
		err := r.checkReply("a.mp4", tt.want, tt.off, tt.n, tt.rep)
		if (tt.err == nil) != (err == nil) || (tt.err != nil && !errors.Is(err, tt.err)) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.err)
		}
	}
}

func TestParseContentRange(t *testing.T) {
	for _, tt := range []struct {
		in                string
		start, end, total int64
		ok                bool
	}{
		{"bytes 0-9/100", 0, 9, 100, true},
		{"bytes */100", -1, -1, 100, true},
		{"bytes 5-4/100", 0, 0, 0, false},
		{"bytes 0-100/100", 0, 0, 0, false},
		{"bytes 0-9/*", 0, 0, 0, false},
		{"items 0-9/100", 0, 0, 0, false},
		{"", 0, 0, 0, false},
		{"bytes -1-9/100", 0, 0, 0, false},
	} {
		s, e, n, ok := parseContentRange(tt.in)
		if s != tt.start || e != tt.end || n != tt.total || ok != tt.ok {
			t.Errorf("parseContentRange(%q) = %d, %d, %d, %v; want %d, %d, %d, %v", tt.in, s, e, n, ok, tt.start, tt.end, tt.total, tt.ok)
		}
	}
}

func TestVersions(t *testing.T) {
	lm := time.Unix(1700000000, 0)
	a := validators{size: 10, etag: `"x"`, lastMod: lm}
	if a.version("a.mp4") == a.version("b.mp4") {
		t.Error("two names share a version")
	}
	b := a
	b.lastMod = lm.Add(time.Hour)
	if a.version("a") != b.version("a") {
		t.Error("a strong ETag's version depends on Last-Modified")
	}
	w := validators{size: 10, etag: `W/"x"`, lastMod: lm}
	v := w
	v.lastMod = lm.Add(time.Second)
	if w.version("a") == v.version("a") {
		t.Error("a weak ETag's version ignores Last-Modified")
	}
	v = w
	v.size = 11
	if w.version("a") == v.version("a") {
		t.Error("the version ignores the size")
	}
	if !a.strong() || w.strong() || (validators{etag: `x`}).strong() {
		t.Error("strong()")
	}
}

func TestRedactAndParse(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pw@cdn.example/p/?token=abc": "https://cdn.example/p/?REDACTED",
		"http://h:8080/media/":                     "http://h:8080/media/",
		"s3://bucket/prefix/":                      "s3://bucket/prefix/",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	for _, tt := range []struct{ in, bucket, prefix, err string }{
		{"s3://media/lib", "media", "lib/", ""},
		{"s3://media/", "media", "", ""},
		{"s3:///lib/", "", "", "bucket is missing"},
		{"s3://Bad_Bucket/", "", "", "lower-case"},
		{"s3://key:secret@media/", "", "", "no credentials"},
		{"http://media/", "", "", "want s3://"},
	} {
		b, p, err := ParseS3(tt.in)
		if b != tt.bucket || p != tt.prefix || (err == nil) != (tt.err == "") || (err != nil && !contains(err.Error(), tt.err)) {
			t.Errorf("ParseS3(%q) = %q, %q, %v; want %q, %q, %q", tt.in, b, p, err, tt.bucket, tt.prefix, tt.err)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
