package conform

import (
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

var target = arrow.NewSchema([]arrow.Field{
	{Name: "service_name", Type: dictString, Nullable: true},
	{Name: "resource_attributes_str", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String), Nullable: true},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "kind", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "id", Type: &arrow.FixedSizeBinaryType{ByteWidth: 8}},
}, nil)

func TestNewPlanErrors(t *testing.T) {
	for _, tt := range []struct {
		name   string
		fields []arrow.Field
		want   []string
	}{
		{"unknown", []arrow.Field{{Name: "id", Type: target.Field(4).Type}, {Name: "bogus", Type: arrow.BinaryTypes.String}}, []string{`unknown column "bogus"`}},
		{"wrong type", []arrow.Field{{Name: "id", Type: target.Field(4).Type}, {Name: "kind", Type: arrow.BinaryTypes.String}}, []string{`column "kind" has type utf8, want int32`}},
		{"required missing", []arrow.Field{{Name: "name", Type: arrow.BinaryTypes.String}}, []string{`missing column "id" is required`}},
		{"twice", []arrow.Field{{Name: "id", Type: target.Field(4).Type}, {Name: "id", Type: target.Field(4).Type}}, []string{`"id" appears twice`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewPlan(target, arrow.NewSchema(tt.fields, nil))
			if !errors.Is(err, ErrIncompatible) {
				t.Fatalf("NewPlan = %v, want ErrIncompatible", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestApply(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	if p, err := NewPlan(target, target); err != nil || !p.Identical() {
		t.Fatalf("identical schema: plan %v, %v", p, err)
	}
	// A subset, out of order: name as a dictionary, no service_name (taken
	// from the resource attributes), no kind.
	in := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: target.Field(4).Type},
		{Name: "name", Type: dictString, Nullable: true},
		{Name: "resource_attributes_str", Type: target.Field(1).Type, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, in)
	defer b.Release()
	b.Field(0).(*array.FixedSizeBinaryBuilder).AppendValues([][]byte{[]byte("12345678"), []byte("abcdefgh")}, nil)
	nb := b.Field(1).(*array.BinaryDictionaryBuilder)
	_ = nb.AppendString("op")
	nb.AppendNull()
	mb := b.Field(2).(*array.MapBuilder)
	mb.Append(true)
	mb.KeyBuilder().(*array.StringBuilder).AppendValues([]string{"host", "service.name"}, nil)
	mb.ItemBuilder().(*array.StringBuilder).AppendValues([]string{"h", "cart"}, nil)
	mb.AppendNull()
	rec := b.NewRecordBatch()
	defer rec.Release()

	p, err := NewPlan(target, in)
	if err != nil {
		t.Fatal(err)
	}
	if p.Identical() {
		t.Fatal("subset plan claims identical")
	}
	out, err := p.Apply(mem, rec)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	if !out.Schema().Equal(target) {
		t.Fatalf("schema %s", out.Schema())
	}
	svc := out.Column(0).(*array.Dictionary)
	if got := svc.Dictionary().(*array.String).Value(svc.GetValueIndex(0)); got != "cart" || !svc.IsNull(1) {
		t.Errorf("service_name = %q, null %v", got, svc.IsNull(1))
	}
	name := out.Column(2).(*array.String)
	if name.Value(0) != "op" || !name.IsNull(1) {
		t.Errorf("name = %v", name)
	}
	if out.Column(3).NullN() != 2 {
		t.Errorf("kind not all null")
	}
	if err := array.ValidateRecordFull(out); err != nil {
		t.Error(err)
	}
}

// TestApplyIdenticalTakesTargetSchema: a batch in a schema equal to the
// target comes out with the target's own *arrow.Schema (the payload encoder
// keeps its writers per schema pointer) and the same columns.
func TestApplyIdenticalTakesTargetSchema(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	in := arrow.NewSchema(target.Fields(), nil) // equal, another pointer
	p, err := NewPlan(target, in)
	if err != nil || !p.Identical() {
		t.Fatalf("plan %v, %v", p, err)
	}
	b := array.NewRecordBuilder(mem, in)
	defer b.Release()
	for _, f := range b.Fields() {
		f.AppendNull()
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	out, err := p.Apply(mem, rec)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	if out.Schema() != target {
		t.Errorf("schema: got another pointer, want the target's")
	}
	for i := range rec.Columns() {
		if out.Column(i) != rec.Column(i) {
			t.Errorf("column %d: not shared", i)
		}
	}
}
