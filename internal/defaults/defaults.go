// Package defaults fills the unset fields of options structs, the one
// idiom behind "the zero value of each field means its default".
//
// Where only the zero value means the default (a string, a pointer, a
// count that may not be negative anyway), the standard library's cmp.Or
// does it: opts.Logger = cmp.Or(opts.Logger, slog.Default()). Positive is
// for numbers where zero and every negative value mean the default (a
// timeout, a size, a count of workers). A field where a negative value is
// an error is not for either: check it where it is validated.
package defaults

// number is the types Positive takes: signed integers, floats and the
// types built on them, such as time.Duration.
type number interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~float32 | ~float64
}

// Positive returns v if it is above zero, else def.
func Positive[T number](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}
