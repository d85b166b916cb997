package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/reelcache/reelcache/chunker/origin"
)

// Origin says where the media lives when it is not media.root.
type Origin struct {
	// URL is "" (the media.root directory), http(s)://host[:port]/prefix/
	// or s3://bucket/prefix/.
	URL     string
	TTL     time.Duration // how long a remote object's metadata is trusted
	Timeout time.Duration // deadline of each request to the origin, one retry included

	HTTPHeaders  map[string]string // added to every request to an http(s) origin
	HTTPManifest string            // JSON list of an http(s) origin's objects; "" turns listing off

	S3Endpoint  string // S3 API URL; "" means AWS
	S3Region    string // "" means the AWS configuration's
	S3PathStyle bool   // bucket in the path, not the host name
}

// Kind returns "dir", "http" or "s3".
func (o Origin) Kind() string {
	switch {
	case o.URL == "":
		return "dir"
	case strings.HasPrefix(o.URL, "s3://"):
		return "s3"
	}
	return "http"
}

// originKeys are the keys of remote origins; reelcache.example.yaml
// documents each.
var originKeys = []key{
	{"media.origin", "", "where media lives: empty for media.root, http(s)://host/prefix/ or s3://bucket/prefix/"},
	{"media.origin_ttl", "10s", "how long a remote object's size, ETag and type are trusted before the next HEAD"},
	{"media.origin_timeout", "10s", "deadline of each request to a remote origin, its one retry included"},
	{"media.http.headers", "", "headers added to every request to an http(s) origin (Name=Value, comma-separated)"},
	{"media.http.manifest", "", "URL (or path on the origin) of a JSON list of an http(s) origin's objects; empty: no listing"},
	{"media.s3.endpoint", "", "S3 API URL of an s3:// origin (empty: AWS)"},
	{"media.s3.region", "", "region of an s3:// origin (default: AWS_REGION or the profile's)"},
	{"media.s3.path_style", "false", "address the bucket in the URL path (most S3-compatible stores)"},
}

// mapKeys are keys whose value is a map: their sub-keys are the map's.
var mapKeys = []string{"media.http.headers"}

func isMapSubKey(k string) bool {
	return slices.ContainsFunc(mapKeys, func(m string) bool { return strings.HasPrefix(k, m+".") })
}

// checkMapValues refuses a map key (mapKeys) whose map holds a value that
// is not a string, naming the sub-key: fmt.Sprint would turn a nested map
// into "map[token:abc]", and YAML reads 0123 as the number 83 (issue 21
// item 10). The value is not shown: it is a header's.
func (l *loader) checkMapValues(k key) error {
	m, ok := l.v.Get(k.name).(map[string]any)
	if !ok || !slices.Contains(mapKeys, k.name) {
		return nil
	}
	names := slices.Sorted(maps.Keys(m))
	for _, name := range names {
		if _, ok := m[name].(string); !ok {
			return &Error{Key: k.name + "." + name, Value: notShown, Source: l.source(k),
				Err: errors.New("want a string: write the value in quotes (YAML reads 0123 as a number, and a: b as a map)")}
		}
	}
	return nil
}

// mapRaw encodes a map value as JSON, the form parseHeaders reads.
func mapRaw(m map[string]any) string {
	s := make(map[string]string, len(m))
	for k, v := range m {
		s[k] = fmt.Sprint(v)
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// display is a value as an error may show it: without the password or query
// string of a URL, and with header values hidden.
func display(name, raw string) string {
	switch name {
	case "cache.integrity_key", "http.tls.acme.storage_key":
		return notShown
	case "media.origin", "media.http.manifest", "media.s3.endpoint", "redis.url":
		return redactURLs(raw)
	case "media.http.headers":
		h, err := parseHeaders(raw)
		if err != nil {
			return "(hidden)"
		}
		var names []string
		for k := range h {
			names = append(names, k+": ***")
		}
		slices.Sort(names)
		return strings.Join(names, ", ")
	}
	return raw
}

// parseOrigin validates a key of originKeys; ok is false for other keys.
func parseOrigin(c *Config, name, raw string) (ok bool, err error) {
	o := &c.Media.Origin
	switch name {
	case "media.origin":
		switch {
		case raw == "":
		case strings.HasPrefix(raw, "s3:"):
			if _, _, err := origin.ParseS3(raw); err != nil {
				return true, err
			}
		case strings.HasPrefix(raw, "http:"), strings.HasPrefix(raw, "https:"):
			if _, err := origin.ParseHTTP(raw); err != nil {
				return true, err
			}
		default:
			scheme, _, found := strings.Cut(raw, "://")
			if !found {
				return true, errors.New("want http(s)://host/prefix/ or s3://bucket/prefix/; for a directory set media.root and leave this empty")
			}
			return true, fmt.Errorf("unknown scheme %q: want http://, https:// or s3://", scheme)
		}
		o.URL = raw
	case "media.origin_ttl":
		return true, setPositive(&o.TTL, raw, "10s")
	case "media.origin_timeout":
		return true, setPositive(&o.Timeout, raw, "10s")
	case "media.http.headers":
		h, err := parseHeaders(raw)
		if err != nil {
			return true, err
		}
		o.HTTPHeaders = h
	case "media.http.manifest":
		if raw != "" {
			if _, err := url.Parse(raw); err != nil {
				return true, errors.New("want a URL, or a path on the origin such as /media/list.json")
			}
		}
		o.HTTPManifest = raw
	case "media.s3.endpoint":
		if raw != "" {
			u, err := url.Parse(raw)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return true, errors.New("not a URL: want https://host[:port], or empty for AWS")
			}
			if err := origin.CheckEndpointSecrets(u); err != nil {
				return true, err
			}
		}
		o.S3Endpoint = raw
	case "media.s3.region":
		if strings.ContainsFunc(raw, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') }) {
			return true, errors.New("want a region such as eu-west-1")
		}
		o.S3Region = raw
	case "media.s3.path_style":
		return true, setBool(&o.S3PathStyle, raw)
	default:
		return false, nil
	}
	return true, nil
}

// parseHeaders reads media.http.headers: a JSON object (how a YAML map
// arrives), or Name=Value (or Name: Value) pairs separated by commas, as an
// environment variable or flag gives them. Errors name headers, never
// their values.
func parseHeaders(raw string) (map[string]string, error) {
	h := make(map[string]string)
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return h, nil
	}
	if strings.HasPrefix(raw, "{") {
		if err := json.Unmarshal([]byte(raw), &h); err != nil {
			return nil, errors.New("want a map of header names to values")
		}
	} else {
		for pair := range strings.SplitSeq(raw, ",") {
			if pair = strings.TrimSpace(pair); pair == "" {
				continue
			}
			i := strings.IndexAny(pair, "=:")
			if i <= 0 {
				return nil, errors.New("want Name=Value pairs separated by commas, e.g. Authorization=Bearer TOKEN")
			}
			h[strings.TrimSpace(pair[:i])] = strings.TrimSpace(pair[i+1:])
		}
	}
	for k, v := range h {
		if err := origin.CheckHeader(k, v); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// checkOrigin refuses settings that the chosen origin would ignore, naming
// the key and where it was set.
func (l *loader) checkOrigin(c *Config) []error {
	kind := c.Media.Origin.Kind()
	var errs []error
	for _, k := range originKeys {
		var only string
		switch {
		case strings.HasPrefix(k.name, "media.http.") && kind != "http":
			only = "an http:// or https:// media.origin"
		case strings.HasPrefix(k.name, "media.s3.") && kind != "s3":
			only = "an s3:// media.origin"
		default:
			continue
		}
		if raw := l.raw(k.name); raw != k.def && raw != "{}" {
			errs = append(errs, &Error{Key: k.name, Value: display(k.name, raw), Source: l.source(k), Err: fmt.Errorf("only for %s", only)})
		}
	}
	return errs
}
