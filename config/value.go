package config

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

// The kinds of value keys take, each parsed and checked in one place. A
// setter stores a good value in *dst and leaves *dst alone otherwise; its
// error says what a good value is, never what the bad one was (Error adds
// that, hiding secrets).

// forever is the largest duration: the upper bound of one that has none.
const forever = time.Duration(math.MaxInt64)

// set parses raw with parse and stores the value in *dst when it lies in
// [lo, hi]; otherwise the error is want.
func set[T cmp.Ordered](dst *T, raw string, parse func(string) (T, error), lo, hi T, want string) error {
	v, err := parse(raw)
	if err != nil || v < lo || v > hi {
		return errors.New(want)
	}
	*dst = v
	return nil
}

// setPositive stores raw in *dst when it is a duration above zero; the
// error gives example as one.
func setPositive(dst *time.Duration, raw, example string) error {
	return set(dst, raw, time.ParseDuration, time.Nanosecond, forever, "want a positive duration such as "+example)
}

// parseSize reads a size such as 1MiB, 256KiB or 1048576 (humanize); one
// past an int64 is an error rather than a negative number.
func parseSize(raw string) (int64, error) {
	n, err := humanize.ParseBytes(raw)
	if err != nil {
		return 0, err
	}
	if n > math.MaxInt64 {
		return 0, strconv.ErrRange
	}
	return int64(n), nil
}

// setBool stores raw, true or false (strconv.ParseBool), in *dst.
func setBool(dst *bool, raw string) error {
	b, err := strconv.ParseBool(raw)
	if err != nil {
		return errors.New("want true or false")
	}
	*dst = b
	return nil
}

// setOneOf stores raw in *dst when it is one of allowed (at least two); the
// error lists them: "want a, b or c".
func setOneOf(dst *string, raw string, allowed ...string) error {
	if !slices.Contains(allowed, raw) {
		last := len(allowed) - 1
		return errors.New("want " + strings.Join(allowed[:last], ", ") + " or " + allowed[last])
	}
	*dst = raw
	return nil
}

// parseList reads a comma-separated list, skipping empty items, and passes
// each item, without the spaces around it, through item, which returns it
// as stored or an error; an empty list is nil.
func parseList(raw string, item func(string) (string, error)) ([]string, error) {
	var list []string
	for s := range strings.SplitSeq(raw, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		s, err := item(s)
		if err != nil {
			return nil, err
		}
		list = append(list, s)
	}
	return list, nil
}
