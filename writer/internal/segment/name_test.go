package segment

import (
	"testing"
	"time"
)

func TestNameRoundTrip(t *testing.T) {
	start := time.Date(2026, 11, 25, 6, 1, 2, 123456789, time.UTC)
	tests := []struct {
		name string
		n    Name
		want string
	}{
		{"simple", Name{Signal: "traces", Start: start, WriterID: "w1", Seq: 1}, "traces-20261125T060102.123456789Z-w1-000001.arrows"},
		{"dash in id", Name{Signal: "logs", Start: start, WriterID: "writer-0", Seq: 42}, "logs-20261125T060102.123456789Z-writer-0-000042.arrows"},
		{"big seq", Name{Signal: "metrics", Start: start.In(time.FixedZone("x", 3600)), WriterID: "a_b.c", Seq: 1234567}, "metrics-20261125T060102.123456789Z-a_b.c-1234567.arrows"},
		{"parquet", Name{Signal: "traces", Start: start, WriterID: "w1", Seq: 7, Format: Parquet}, "traces-20261125T060102.123456789Z-w1-000007.parquet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.n.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
			for _, partial := range []bool{false, true} {
				s := tt.n.String()
				if partial {
					s = tt.n.Partial()
				}
				got, gotPartial, ok := ParseName(s)
				if !ok {
					t.Fatalf("ParseName(%q) not ok", s)
				}
				if gotPartial != partial {
					t.Fatalf("ParseName(%q) partial = %v, want %v", s, gotPartial, partial)
				}
				if got.Signal != tt.n.Signal || !got.Start.Equal(tt.n.Start) || got.WriterID != tt.n.WriterID || got.Seq != tt.n.Seq || got.Format != tt.n.Format {
					t.Fatalf("ParseName(%q) = %+v, want %+v", s, got, tt.n)
				}
			}
		})
	}
}

func TestParseNameRejects(t *testing.T) {
	for _, s := range []string{
		"",
		"traces.arrows",
		"traces-20261125T060102.123456789Z-w1-000001.parquet.zst",
		"traces-20261125T060102.123456789Z-w1-000001.arrows.parquet.x",
		"traces-20261125T060102Z-w1-000001.arrows",
		"traces-20261125T060102.123456789Z-w1-00001.arrows",
		"traces-20261125T060102.123456789Z-w1-+00001.arrows",
		"traces-20261125T060102.123456789Z--000001.arrows",
		"traces-20261125T060102.123456789Z-w1-000001.arrows.partial.journal",
	} {
		if n, _, ok := ParseName(s); ok {
			t.Errorf("ParseName(%q) = %+v, want not ok", s, n)
		}
	}
}
