package origin

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reelcache/reelcache/internal/nginxtest"
)

// TestListingCachedAndCoalesced: with a manifest, listing an HTTP origin
// costs one manifest GET per origin TTL however many list at once, and one
// HEAD per object per TTL, shared with Open (issue 21 item 2: every call
// used to send one HEAD per listed object, 3 calls of 2,000 objects 6,000
// HEADs).
func TestListingCachedAndCoalesced(t *testing.T) {
	const n = 200
	dir := t.TempDir()
	var names []string
	for i := range n {
		name := fmt.Sprintf("v%03d.mp4", i)
		writeOld(t, dir, "m/"+name, []byte(name), time.Hour)
		names = append(names, name)
	}
	manifest, _ := json.Marshal(append(names, "gone.mp4"))
	writeOld(t, dir, "list.json", manifest, time.Hour)
	ng := nginxtest.Start(t, nginxtest.Options{Root: dir})
	o, _ := newHTTP(t, HTTPOptions{URL: ng.URL() + "m/", Manifest: "/list.json", Options: Options{TTL: time.Hour}})
	all := func(string) bool { return true }

	var wg sync.WaitGroup
	for range 5 { // at once: one flight
		wg.Go(func() {
			infos, err := o.List(t.Context(), all)
			if err != nil || len(infos) != n {
				t.Errorf("List: %d objects, %v; want %d", len(infos), err, n)
			}
		})
	}
	wg.Wait()
	for range 3 { // then within the TTL: from the cache
		infos, err := o.List(t.Context(), func(s string) bool { return strings.HasPrefix(s, "v1") })
		if err != nil || len(infos) != 100 {
			t.Fatalf("List: %d objects, %v; want 100", len(infos), err)
		}
	}
	for _, name := range names[:10] { // and Open shares what List learned
		if _, err := o.Open(t.Context(), name); err != nil {
			t.Fatal(err)
		}
	}
	log := settled(ng, "HEAD /m/", n+1)
	time.Sleep(200 * time.Millisecond) // any extra line would be written by now
	log = ng.AccessLog()
	if heads, gets := count(log, "HEAD /m/"), count(log, "GET /list.json"); heads != n+1 || gets != 1 {
		t.Fatalf("5 concurrent and 3 later listings of %d objects and 10 Opens: %d HEADs and %d manifest GETs, want %d and 1",
			n, heads, gets, n+1)
	}
}
