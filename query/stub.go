//go:build !cgo || nosql

package query

import (
	"context"
	"fmt"
)

// Engine is the SQL engine; this build has none.
type Engine struct{}

// Open returns ErrUnavailable: this binary was built without SQL.
func Open(context.Context, Options) (*Engine, error) {
	return nil, fmt.Errorf("%w", ErrUnavailable)
}

// Close does nothing.
func (*Engine) Close() error { return nil }

// Query returns ErrUnavailable.
func (*Engine) Query(context.Context, string) (*Result, error) {
	return nil, fmt.Errorf("%w", ErrUnavailable)
}

// Schema returns ErrUnavailable.
func (*Engine) Schema(string) ([]Column, error) {
	return nil, fmt.Errorf("%w", ErrUnavailable)
}

// Available reports whether this build carries the SQL engine.
const Available = false
