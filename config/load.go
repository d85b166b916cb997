package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// Options tell Load where to look. The zero value reads the environment and
// searches the default directories.
type Options struct {
	// Flags made with AddFlags; nil means none.
	Flags *pflag.FlagSet
	// SearchDirs replaces the directories searched for reelcache.yaml.
	SearchDirs []string
}

// Error is a bad setting.
type Error struct {
	Key    string // e.g. "chunk.size"
	Value  string // the value as given
	Source string // e.g. "config file /etc/reelcache/reelcache.yaml"
	Err    error
}

// Error names the key, the value and the source, but never a value under
// a key whose name could hold a secret (secretName), nor any URL's user
// info or query string (redactURLs), even in the wrapped error's text.
func (e *Error) Error() string {
	if e.Value == "" && e.Key == "" {
		return redactURLs(fmt.Sprintf("%s: %v", e.Source, e.Err))
	}
	v := e.Value
	if secretName(e.Key) {
		v = notShown
	}
	return redactURLs(fmt.Sprintf("%s: %s %q: %v", e.Source, e.Key, v, e.Err))
}

func (e *Error) Unwrap() error { return e.Err }

// ErrUnknownKey is wrapped by the Error for a key reelcache does not have.
var ErrUnknownKey = errors.New("unknown key")

// Load reads the configuration.
func Load(opts Options) (*Config, error) {
	l := &loader{flags: opts.Flags, v: viper.New()}
	file, err := l.findFile(opts.SearchDirs)
	if err != nil {
		return nil, err
	}
	l.file = file
	if err := l.readFile(); err != nil {
		return nil, err
	}
	if err := checkEnv(); err != nil {
		return nil, err
	}
	l.v.AllowEmptyEnv(true) // REELCACHE_REDIS_URL= turns the cache off
	for _, k := range keys {
		l.v.SetDefault(k.name, k.def)
		l.v.BindEnv(k.name, envName(k.name))
		if l.flags != nil {
			if f := l.flags.Lookup(k.flag()); f != nil {
				l.v.BindPFlag(k.name, f)
			}
		}
	}
	return l.config()
}

type loader struct {
	flags *pflag.FlagSet
	v     *viper.Viper // everything merged
	fv    *viper.Viper // the file alone, to tell where a value came from
	file  string
}

func (l *loader) findFile(dirs []string) (string, error) {
	if l.flags != nil {
		if f := l.flags.Lookup("config"); f != nil && f.Value.String() != "" {
			return f.Value.String(), nil
		}
	}
	if f := os.Getenv(configEnv); f != "" {
		return f, nil
	}
	if dirs == nil {
		dirs = []string{"."}
		if d, err := os.UserConfigDir(); err == nil {
			dirs = append(dirs, filepath.Join(d, "reelcache"))
		}
		dirs = append(dirs, "/etc/reelcache")
	}
	for _, d := range dirs {
		for _, name := range []string{"reelcache.yaml", "reelcache.yml"} {
			p := filepath.Join(d, name)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
	}
	return "", nil
}

func (l *loader) readFile() error {
	if l.file == "" {
		return nil
	}
	src := "config file " + l.file
	b, err := os.ReadFile(l.file)
	if err != nil {
		return &Error{Source: src, Err: err}
	}
	typ := strings.TrimPrefix(filepath.Ext(l.file), ".")
	if !slices.Contains([]string{"yaml", "yml", "json", "toml"}, typ) {
		typ = "yaml"
	}
	l.fv = viper.New()
	l.fv.SetConfigType(typ)
	if err := l.fv.ReadConfig(strings.NewReader(string(b))); err != nil {
		return &Error{Source: src, Err: err}
	}
	known := make(map[string]bool, len(keys))
	for _, k := range keys {
		known[k.name] = true
	}
	for _, k := range l.fv.AllKeys() {
		if !known[k] && !isMapSubKey(k) {
			return &Error{Source: src, Key: k, Value: fmt.Sprint(l.fv.Get(k)), Err: ErrUnknownKey}
		}
	}
	l.v.SetConfigType(typ)
	if err := l.v.ReadConfig(strings.NewReader(string(b))); err != nil {
		return &Error{Source: src, Err: err}
	}
	return nil
}

// checkEnv refuses REELCACHE_* variables that set no key: a typo there
// would otherwise be silently ignored.
func checkEnv() error {
	for _, kv := range os.Environ() {
		name, val, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) || name == configEnv {
			continue
		}
		if !slices.ContainsFunc(keys, func(k key) bool { return envName(k.name) == name }) {
			return &Error{Source: "environment variable " + name, Key: name, Value: val, Err: ErrUnknownKey}
		}
	}
	return nil
}

// source says where the value of k came from, for error messages.
func (l *loader) source(k key) string {
	if l.flags != nil {
		if f := l.flags.Lookup(k.flag()); f != nil && f.Changed {
			return "flag --" + k.flag()
		}
	}
	if _, ok := os.LookupEnv(envName(k.name)); ok {
		return "environment variable " + envName(k.name)
	}
	if l.fv != nil && l.fv.IsSet(k.name) {
		return "config file " + l.file
	}
	return "default"
}

func (l *loader) config() (*Config, error) {
	c := &Config{File: l.file}
	var errs []error
	for _, k := range keys {
		if k.name == "auth.signing_key" {
			sk, err := signingKeys(l.v.Get(k.name))
			if err != nil {
				errs = append(errs, &Error{Key: k.name, Value: notShown, Source: l.source(k), Err: err})
			}
			c.Auth.SigningKeys = sk
			continue
		}
		if err := l.checkMapValues(k); err != nil {
			errs = append(errs, err)
			continue
		}
		raw := l.raw(k.name)
		if err := parse(c, k.name, raw); err != nil {
			errs = append(errs, &Error{Key: k.name, Value: display(k.name, raw), Source: l.source(k), Err: err})
		}
	}
	if len(errs) == 0 {
		errs = append(l.checkOrigin(c), l.checkTLS(c)...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// raw returns a key's value as a string; lists are joined with commas.
func (l *loader) raw(name string) string {
	switch v := l.v.Get(name).(type) {
	case []any:
		s := make([]string, len(v))
		for i, e := range v {
			s[i] = fmt.Sprint(e)
		}
		return strings.Join(s, ",")
	case []string:
		return strings.Join(v, ",")
	case map[string]any:
		return mapRaw(v)
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}
