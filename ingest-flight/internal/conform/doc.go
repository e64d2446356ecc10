// Package conform checks that an incoming Arrow schema is a compatible
// subset of one of the bus schemas and turns its batches into that schema,
// and splits batches by their service_name column.
//
// Compatible means: every column is named after a column of the target
// schema (no name twice), has the target's type, except that utf8,
// large_utf8 and dictionary<integer, utf8> stand for one another; missing
// columns must be nullable in the target and become all-null. A batch whose
// schema equals the target is used as it is.
package conform
