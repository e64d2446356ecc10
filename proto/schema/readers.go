package schema

import (
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// errList collects the errors of looking up many columns, so a reader is
// built in one pass and reports every misfit column at once.
type errList struct{ errs []error }

func (e *errList) add(err error) {
	if err != nil {
		e.errs = append(e.errs, err)
	}
}

func (e *errList) err() error { return errors.Join(e.errs...) }

func (e *errList) col(a *array.FixedSizeBinary, err error) *array.FixedSizeBinary {
	e.add(err)
	return a
}

func (e *errList) str(s strCol, err error) strCol { e.add(err); return s }

func (e *errList) u32(a *array.Uint32, err error) *array.Uint32 { e.add(err); return a }

func (e *errList) u64(a *array.Uint64, err error) *array.Uint64 { e.add(err); return a }

func (e *errList) i32(a *array.Int32, err error) *array.Int32 { e.add(err); return a }

func (e *errList) i64(a *array.Int64, err error) *array.Int64 { e.add(err); return a }

func (e *errList) f64(a *array.Float64, err error) *array.Float64 { e.add(err); return a }

func (e *errList) boolean(a *array.Boolean, err error) *array.Boolean { e.add(err); return a }

func (e *errList) ts(a *array.Timestamp, err error) *array.Timestamp { e.add(err); return a }

func (e *errList) attrs(a attrReader, err error) attrReader { e.add(err); return a }

// listOfStruct returns the named list<struct> column and its struct values,
// or nils when the column is missing.
func (e *errList) listOfStruct(cols colSet, name string) (*array.List, *array.Struct) {
	l, err := typedCol[*array.List](cols, name)
	if err != nil || l == nil {
		e.add(err)
		return nil, nil
	}
	st, ok := l.ListValues().(*array.Struct)
	if !ok {
		e.add(fmt.Errorf("%w: column %s is %s, want a list of structs", ErrInvalid, name, l.DataType()))
		return nil, nil
	}
	return l, st
}
