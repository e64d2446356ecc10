package forward

import (
	"errors"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// validFilter checks a NATS subject filter: non-empty tokens without white
// space, '*' and '>' only as whole tokens, '>' only last.
func validFilter(f string) error {
	toks := strings.Split(f, ".")
	for i, t := range toks {
		switch {
		case t == "":
			return errors.New("empty token (leading, trailing or double '.')")
		case strings.ContainsAny(t, " \t\r\n"):
			return errors.New("white space in a token")
		case t == ">" && i != len(toks)-1:
			return errors.New("'>' must be the last token")
		case t != "*" && t != ">" && strings.ContainsAny(t, "*>"):
			return errors.New("'*' and '>' must be whole tokens")
		}
	}
	return nil
}

// filterOverlaps reports whether filter can match a bus subject of sig,
// otlp.<sig>.<service> (three tokens, the last any).
func filterOverlaps(filter string, sig schema.Signal) bool {
	lit := []string{"otlp", string(sig)}
	toks := strings.Split(filter, ".")
	for i, t := range toks {
		if t == ">" {
			return i < 3
		}
		if i >= 3 {
			return false
		}
		if i < 2 && t != "*" && t != lit[i] {
			return false
		}
	}
	return len(toks) == 3
}

// consumerFilter returns the filter of the forwarder's consumer on the
// stream of sig: the intersection of filter (assumed to overlap sig) with
// otlp.<sig>.>, or otlp.<sig>.> when filter is empty.
func consumerFilter(filter string, sig schema.Signal) string {
	if filter == "" {
		return bus.SubjectFilter(sig)
	}
	toks := strings.Split(filter, ".")
	if toks[0] == ">" || len(toks) < 2 || toks[1] == ">" {
		return bus.SubjectFilter(sig)
	}
	toks[0], toks[1] = "otlp", string(sig)
	return strings.Join(toks, ".")
}

// consumerFilters returns the filters of the forwarder's consumer on the
// stream of sig: consumerFilter's, and the subject of messages of several
// services when that filter does not match it (their rows are selected by
// service when they are handled).
func consumerFilters(filter string, sig schema.Signal) []string {
	f := consumerFilter(filter, sig)
	if mixed := bus.MixedSubject(sig); !subjectMatches(f, mixed) {
		return []string{f, mixed}
	}
	return []string{f}
}

// filtersOf returns the filter subjects of a consumer configuration.
func filtersOf(cc jetstream.ConsumerConfig) []string {
	if cc.FilterSubject != "" {
		return append([]string{cc.FilterSubject}, cc.FilterSubjects...)
	}
	return cc.FilterSubjects
}

// setFilters sets the filter subjects of cc: FilterSubject for one,
// FilterSubjects for several.
func setFilters(cc *jetstream.ConsumerConfig, filters []string) {
	cc.FilterSubject, cc.FilterSubjects = "", nil
	if len(filters) == 1 {
		cc.FilterSubject = filters[0]
		return
	}
	cc.FilterSubjects = filters
}

// subjectMatches reports whether subject matches the NATS filter.
func subjectMatches(filter, subject string) bool {
	ft := strings.Split(filter, ".")
	st := strings.Split(subject, ".")
	for i, f := range ft {
		if f == ">" {
			return len(st) > i
		}
		if i >= len(st) || (f != "*" && f != st[i]) {
			return false
		}
	}
	return len(ft) == len(st)
}
