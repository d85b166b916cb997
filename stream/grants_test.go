package stream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reelcache/reelcache/chunker"
)

// TestGrants: with signing on, the API answers only with a page grant
// (issue 13 item 4): anonymous requests mint no media URL and see no cache
// state; a grant lists only its scope, its URLs work and expire with it or
// after Options.URLTTL, whichever is first; a media signature is no grant.
func TestGrants(t *testing.T) {
	signer, _ := NewSigner([]string{"grant-key-0123456789abcdef"})
	other, _ := NewSigner([]string{"someone-elses-key-0123456789"})
	const ttl = 5 * time.Minute
	s := newServer(t, serverOptions{chunkSize: 64 << 10, fill: chunker.FillSync, opts: func(o *Options) { o.Signer, o.URLTTL = signer, ttl }})
	s.write(t, "films/a.mp4", 1000, 1)
	s.write(t, "films/b.mp4", 1000, 2)
	s.write(t, "filmsx/c.mp4", 1000, 3)
	s.write(t, "d.mp4", 1000, 4)

	list := func(grant string, extra ...string) (int, []mediaItem) {
		t.Helper()
		q := url.Values{"grant": {grant}}
		for i := 0; i+1 < len(extra); i += 2 {
			q.Set(extra[i], extra[i+1])
		}
		r := get(t, "GET", s.srv.URL+"/api/media?"+q.Encode())
		var items []mediaItem
		if r.status == 200 {
			if err := json.Unmarshal(r.body, &items); err != nil {
				t.Fatalf("decode %s: %v", r.body, err)
			}
		}
		if r.status == 403 && bytes.Contains(r.body, []byte("/media/")) {
			t.Errorf("a 403 lists media: %s", r.body)
		}
		return r.status, items
	}
	paths := func(items []mediaItem) string {
		var p []string
		for _, it := range items {
			p = append(p, it.Path)
		}
		return strings.Join(p, " ")
	}
	hour := time.Now().Add(time.Hour)
	media := signer.SignURL("d.mp4", hour)
	mexp, _, _ := strings.Cut(strings.TrimPrefix(media[strings.Index(media, "?"):], "?exp="), "&")
	msig := media[strings.Index(media, "sig=")+4:]
	for _, tt := range []struct {
		name, grant string
		status      int
		want        string // paths listed
	}{
		{"no grant", "", 403, ""},
		{"expired", signer.SignGrant("", time.Now().Add(-time.Second)), 403, ""},
		{"forged", other.SignGrant("", hour), 403, ""},
		{"scope widened", strings.TrimSuffix(signer.SignGrant("films/", hour), "films/"), 403, ""},
		{"later expiry", strings.Replace(signer.SignGrant("", hour), fmt.Sprint(hour.Unix()), fmt.Sprint(hour.Unix()+1), 1), 403, ""},
		{"a media signature", mexp + "." + msig + ".d.mp4", 403, ""},
		{"garbage", "x.y.z", 403, ""},
		{"whole library", signer.SignGrant("", hour), 200, "d.mp4 films/a.mp4 films/b.mp4 filmsx/c.mp4"},
		{"a directory", signer.SignGrant("films/", hour), 200, "films/a.mp4 films/b.mp4"},
		{"a file", signer.SignGrant("films/b.mp4", hour), 200, "films/b.mp4"},
		{"a file by prefix is not its directory", signer.SignGrant("films", hour), 200, ""},
	} {
		status, items := list(tt.grant)
		if status != tt.status || paths(items) != tt.want {
			t.Errorf("%s: status %d, listed %q; want %d, %q", tt.name, status, paths(items), tt.status, tt.want)
		}
	}

	// The URLs work, and expire with the grant or after the TTL.
	soon := time.Now().Add(time.Minute)
	for _, tt := range []struct {
		grantExp time.Time
		max      time.Time
	}{
		{hour, time.Now().Add(ttl + time.Second)},
		{soon, soon},
	} {
		_, items := list(signer.SignGrant("films/", tt.grantExp), "path", "films/a.mp4")
		if len(items) != 1 {
			t.Fatalf("?path=films/a.mp4: %d items", len(items))
		}
		u, _ := url.Parse(items[0].URL)
		e, _ := strconv.ParseInt(u.Query().Get("exp"), 10, 64)
		if e > tt.max.Unix() || e < time.Now().Unix() {
			t.Errorf("grant until %v: URL expires at %v, want by %v", tt.grantExp, time.Unix(e, 0), tt.max)
		}
		if r := get(t, "GET", s.srv.URL+items[0].URL); r.status != 200 || len(r.body) != 1000 {
			t.Errorf("listed URL %s: status %d", items[0].URL, r.status)
		}
	}

	// The chunk map answers only within the grant's scope.
	chunks := func(name, grant string) int {
		return get(t, "GET", s.srv.URL+"/api/chunks/"+name+"?grant="+url.QueryEscape(grant)).status
	}
	g := signer.SignGrant("films/", hour)
	for _, tt := range []struct {
		name, grant string
		status      int
	}{
		{"films/a.mp4", g, 200},
		{"filmsx/c.mp4", g, 403},
		{"d.mp4", g, 403},
		{"films/../d.mp4", g, 403},
		{"d.mp4", "", 403},
		{"d.mp4", signer.SignGrant("d.mp4", hour), 200},
		{"films/nope.mp4", g, 404},
	} {
		if got := chunks(tt.name, tt.grant); got != tt.status {
			t.Errorf("/api/chunks/%s with grant %.20q: status %d, want %d", tt.name, tt.grant, got, tt.status)
		}
	}
}
