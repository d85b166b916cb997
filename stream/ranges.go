package stream

import (
	"math"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// fixRange rewrites r's Range header where http.ServeContent's own parsing
// departs from RFC 9110, so that ServeContent (which still does all Range
// and conditional-request work, If-Range included) answers correctly:
//
//   - A Range on a method other than GET is ignored (RFC 9110 §14.2: "GET
//     is the only method for which range handling is defined"); ServeContent
//     honours it on HEAD.
//   - Range units are case-insensitive (§14.1), and a unit the server does
//     not understand must be ignored, not answered with 416 (§14.2).
//     ServeContent accepts only a literal "bytes=" and answers anything
//     else with 416.
//   - A suffix-range of length 0 ("bytes=-0") is unsatisfiable (§14.1.1:
//     a set is satisfiable only through a first-pos below the length or a
//     non-zero suffix-length). ServeContent turns it into an empty range
//     and sends 206 with the invalid "Content-Range: bytes N-(N-1)/N".
//     Such specs are dropped; if none is left the answer is 416 with
//     "Content-Range: bytes */N".
//   - Positions are 1*DIGIT with no upper bound (§14.1.1). ServeContent
//     answers ones beyond int64 with 416; a last-pos that large just
//     means "to the end", and a first-pos or suffix-length that large is
//     clamped like any other past the end.
//   - A suffix-range on an empty representation: ServeContent sends 206
//     with the invalid "Content-Range: bytes 0--1/0" (issue 21 item 9).
//     A non-zero suffix is satisfiable (§14.1.1) but no Content-Range can
//     name an empty range, so the Range is ignored and the empty body
//     sent with 200, as nginx does.
//   - Signs are not digits: ServeContent reads "bytes=+5-" as 5-. Such
//     malformed specs get what ServeContent gives every other malformed
//     header: 416 without Content-Range.
//
// Beyond the fixes, fixRange applies the server's range policy (§14.2: a
// server "MAY ignore or reject a Range header field that contains a
// range-set with more than two overlapping ranges", and may limit the
// number): a header with more than maxRanges range-specs, or in which more
// than two ranges overlap one another, is ignored, and the whole
// representation is sent (200), as nginx does past max_ranges. Parsing
// stops at maxRanges+1 specs, so a huge header costs no more than that.
//
// fixRange returns the satisfiable ranges as [start, end] pairs against size
// (nil when there is no Range to honour), so the caller can tell which
// chunks a multipart answer will read.
func fixRange(r *http.Request, size int64, maxRanges int) [][2]int64 {
	v := r.Header.Get("Range")
	if v == "" {
		return nil
	}
	if r.Method != http.MethodGet {
		r.Header.Del("Range")
		return nil
	}
	unit, set, ok := strings.Cut(v, "=")
	if !ok {
		return nil // malformed: ServeContent answers 416
	}
	unit = textproto.TrimString(unit)
	if !strings.EqualFold(unit, "bytes") {
		if isToken(unit) {
			r.Header.Del("Range") // a unit we do not serve: ignore
		}
		return nil
	}

	var specs []string
	var ranges [][2]int64
	dropped, suffix := false, false
	n := 0
	for spec := range strings.SplitSeq(set, ",") {
		spec = textproto.TrimString(spec)
		if spec == "" {
			continue
		}
		if n++; n > maxRanges {
			r.Header.Del("Range") // too many: the whole representation
			return nil
		}
		first, last, ok := strings.Cut(spec, "-")
		first, last = textproto.TrimString(first), textproto.TrimString(last)
		if !ok || !digits(first, true) || !digits(last, true) || (first == "" && last == "") {
			r.Header.Set("Range", "bytes=malformed")
			return nil
		}
		if first == "" { // suffix-range
			n := parsePos(last)
			if n == 0 {
				dropped = true
				continue
			}
			specs = append(specs, "-"+strconv.FormatInt(n, 10))
			suffix = true
			if size > 0 {
				ranges = append(ranges, [2]int64{size - min(n, size), size - 1})
			}
			continue
		}
		f := parsePos(first)
		s := strconv.FormatInt(f, 10) + "-"
		end := size - 1
		if last != "" {
			l := parsePos(last)
			if l < f {
				return nil // invalid range-spec: ServeContent answers 416
			}
			s += strconv.FormatInt(l, 10)
			end = min(l, size-1)
		}
		specs = append(specs, s)
		if f < size {
			ranges = append(ranges, [2]int64{f, end})
		}
	}
	if overlapping(ranges) > 2 || (size == 0 && suffix) {
		r.Header.Del("Range")
		return nil
	}
	if dropped && len(specs) == 0 {
		// Only zero-length suffixes: unsatisfiable. A first-pos at the
		// length makes ServeContent say so, with Content-Range */N.
		specs = append(specs, strconv.FormatInt(size, 10)+"-")
	}
	r.Header.Set("Range", "bytes="+strings.Join(specs, ","))
	return ranges
}

// digits reports whether s is all ASCII digits (or empty, when allowed).
func digits(s string, emptyOK bool) bool {
	if s == "" {
		return emptyOK
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parsePos parses a run of digits, saturating at math.MaxInt64.
func parsePos(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return math.MaxInt64 // only overflow is possible after digits()
	}
	return n
}

// isToken reports whether s is an RFC 9110 token (§5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// overlapping returns how many of the ranges overlap at least one other.
// Quadratic, but over at most maxRanges ranges.
func overlapping(ranges [][2]int64) int {
	n := 0
	for i, a := range ranges {
		for j, b := range ranges {
			if i != j && a[0] <= b[1] && b[0] <= a[1] {
				n++
				break
			}
		}
	}
	return n
}
