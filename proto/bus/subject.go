package bus

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// Message headers. Every bus message carries them; see docs/bus.md.
const (
	// HeaderSignal holds the signal: traces, metrics or logs.
	HeaderSignal = "Otlp-Signal"
	// HeaderSchema holds the payload's schema version, e.g. "traces/v1".
	HeaderSchema = "Otlp-Schema"
	// HeaderRows holds the number of rows in the payload, in decimal.
	HeaderRows = "Otlp-Rows"
	// HeaderSource names the ingest path: grpc, http, flight, otap or sdk.
	HeaderSource = "Otlp-Source"
	// HeaderPad holds 1 to 8 '0' characters that make the header block a
	// multiple of 8 bytes long (see [NewMsg]); consumers ignore it.
	HeaderPad = "Otlp-Pad"
	// HeaderServices lists the exact service.name of the payload's rows, in
	// the order they first appear, as a JSON array of strings written in
	// ASCII (see [EncodeServices]). Contract 2.
	HeaderServices = "Otlp-Services"
	// HeaderContract holds the bus contract version, [ContractVersion].
	// Messages without it are contract 1 (one service per message, no
	// Otlp-Services).
	HeaderContract = "Otlp-Contract"
	// ContractVersion is the contract this package publishes: messages may
	// hold several services, listed in Otlp-Services; docs/bus.md.
	ContractVersion = "2"
	// HeaderContentType is the standard Content-Type header.
	HeaderContentType = "Content-Type"
	// ContentType is the Content-Type of every payload: one Arrow IPC stream.
	ContentType = "application/vnd.apache.arrow.stream"
)

// Durable consumer names declared with the streams.
const (
	// DurableWriter is the writer stage's consumer, always declared.
	DurableWriter = "writer"
	// DurableForwarder is the forwarder stage's consumer, declared when
	// forwarding is on.
	DurableForwarder = "forwarder"
)

// Log attribute keys shared by every stage.
const (
	LogKeyStage   = "stage"
	LogKeySubject = "subject"
	LogKeyStream  = "stream"
	LogKeyFile    = "file"
)

const (
	subjectRoot = "otlp"
	// DeadStream is the stream holding dead letters on otlp.dead.>.
	DeadStream = "OTLP_DEAD"
	// maxTokenLen keeps subjects well under the server's control line limit.
	maxTokenLen = 255
	// MixedToken is the last subject token of a message holding the rows
	// of several services: otlp.<signal>._mixed. ServiceToken never
	// returns it.
	MixedToken = "_mixed"
)

// StreamName returns the JetStream stream of a signal: OTLP_TRACES,
// OTLP_METRICS or OTLP_LOGS.
func StreamName(sig schema.Signal) string {
	return "OTLP_" + strings.ToUpper(string(sig))
}

// Subject returns the subject a payload of sig from service is published
// on: otlp.<signal>.<token>, where token is ServiceToken(service).
func Subject(sig schema.Signal, service string) string {
	return subjectRoot + "." + string(sig) + "." + ServiceToken(service)
}

// MixedSubject returns the subject of messages holding several services:
// otlp.<signal>._mixed.
func MixedSubject(sig schema.Signal) string {
	return subjectRoot + "." + string(sig) + "." + MixedToken
}

// MessageSubject returns the subject of a message holding the rows of
// services: the service's subject for one (or none: unknown), MixedSubject
// for several.
func MessageSubject(sig schema.Signal, services []string) string {
	switch len(services) {
	case 0:
		return Subject(sig, "")
	case 1:
		return Subject(sig, services[0])
	}
	return MixedSubject(sig)
}

// SubjectFilter returns the filter matching every subject of sig:
// otlp.<signal>.>.
func SubjectFilter(sig schema.Signal) string {
	return subjectRoot + "." + string(sig) + ".>"
}

// DeadSubject returns the subject of dead letters of sig: otlp.dead.<signal>.
func DeadSubject(sig schema.Signal) string {
	return subjectRoot + ".dead." + string(sig)
}

// ServiceToken makes a service name into one NATS subject token: '.', '*',
// '>', white space, control characters and invalid UTF-8 become '_', an
// empty name becomes "unknown", and names longer than 255 bytes are cut
// (at a character boundary). Other characters, non-ASCII letters included,
// are kept; a name that would give MixedToken gets another '_' in front.
func ServiceToken(service string) string {
	if service == "" {
		return "unknown"
	}
	if service == MixedToken {
		return "_" + MixedToken
	}
	var b strings.Builder
	b.Grow(len(service))
	for i, r := range service {
		if b.Len()+utf8.RuneLen(r) > maxTokenLen {
			break
		}
		switch {
		case r == utf8.RuneError && !validRuneAt(service, i):
			b.WriteByte('_')
		case r == '.' || r == '*' || r == '>' || unicode.IsSpace(r) || unicode.IsControl(r):
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// validRuneAt reports whether the RuneError at s[i] was written as such
// rather than decoded from an invalid byte.
func validRuneAt(s string, i int) bool {
	_, size := utf8.DecodeRuneInString(s[i:])
	return size == 3
}

// serviceFromSubject returns the service token of a bus subject.
func serviceFromSubject(subject string) string {
	parts := strings.SplitN(subject, ".", 3)
	if len(parts) != 3 {
		return ""
	}
	return parts[2]
}

// EncodeServices writes the Otlp-Services value of services: a JSON array
// of strings in ASCII (other characters as \u escapes, as JSON allows), so
// that any name, commas, quotes and the empty name included, reads back
// exactly with any JSON parser. Invalid UTF-8 becomes U+FFFD.
func EncodeServices(services []string) string {
	var b strings.Builder
	b.Grow(2 + 3*len(services) + servicesLen(services))
	b.WriteByte('[')
	for i, s := range services {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for _, r := range s {
			switch {
			case r == '"' || r == '\\':
				b.WriteByte('\\')
				b.WriteRune(r)
			case r >= 0x20 && r < 0x7f:
				b.WriteRune(r)
			case r > 0xffff:
				r1, r2 := utf16.EncodeRune(r)
				fmt.Fprintf(&b, "\\u%04x\\u%04x", r1, r2)
			default:
				fmt.Fprintf(&b, "\\u%04x", r)
			}
		}
		b.WriteByte('"')
	}
	b.WriteByte(']')
	return b.String()
}

func servicesLen(services []string) int {
	n := 0
	for _, s := range services {
		n += len(s)
	}
	return n
}

// ParseServices reads an Otlp-Services value (see EncodeServices; any JSON
// array of strings is accepted).
func ParseServices(v string) ([]string, error) {
	var out []string
	if err := json.Unmarshal([]byte(v), &out); err != nil || out == nil {
		return nil, fmt.Errorf("bad %s header %q: want a JSON array of strings", HeaderServices, v)
	}
	return out, nil
}
