package main

import (
	"reflect"
	"testing"
)

// parseCase is a row of a parser's table: want is what parsing in gives,
// the zero value when wantErr says it fails.
type parseCase[T any] struct {
	in      string
	want    T
	wantErr bool
}

// checkParse runs parse, called name in failures, on each case's input and
// reports every result or error that is not the case's.
func checkParse[T any](t *testing.T, name string, parse func(string) (T, error), tests []parseCase[T]) {
	t.Helper()
	for _, tt := range tests {
		got, err := parse(tt.in)
		if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s(%q) = %+v, %v; want %+v, error %v", name, tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
