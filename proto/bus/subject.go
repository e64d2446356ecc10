package bus

import (
	"strings"
	"unicode"
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
// are kept.
func ServiceToken(service string) string {
	if service == "" {
		return "unknown"
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
