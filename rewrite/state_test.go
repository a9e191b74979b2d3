package rewrite

import (
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// notState are the state fields sameAs leaves out on purpose: the count
// of blocked elements says nothing about how the rest is rewritten.
var notState = map[string]bool{"blockedCounts": true}

// leaves lists the paths of every field of t, down to non-struct ones.
func leaves(t reflect.Type, prefix []int, name string, out *[]leaf) {
	for i := range t.NumField() {
		f := t.Field(i)
		path := append(append([]int(nil), prefix...), i)
		n := name + f.Name
		if f.Type.Kind() == reflect.Struct {
			leaves(f.Type, path, n+".", out)
			continue
		}
		*out = append(*out, leaf{path, n})
	}
}

type leaf struct {
	path []int
	name string
}

// field reaches an unexported field for writing.
func field(v reflect.Value, path []int) reflect.Value {
	for _, i := range path {
		v = v.Field(i)
		v = reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
	}
	return v
}

// setOther makes v differ from its zero value.
func setOther(v reflect.Value) {
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(2)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(2)
	case reflect.String:
		v.SetString("x")
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		e := s.Index(0)
		if e.Kind() == reflect.Struct {
			setOther(field(e, []int{0}))
		} else {
			setOther(e)
		}
		v.Set(s)
	default:
		panic("state_test: no way to set a " + v.Kind().String())
	}
}

// TestStateCopyCoversEveryField: replay resumes a page from a copy of
// the writer's state and compares states field by field. A field added
// to state (or to a struct in it) and forgotten in sameAs or copyFrom
// would resume a page in the wrong state: this test names it.
func TestStateCopyCoversEveryField(t *testing.T) {
	var ls []leaf
	leaves(reflect.TypeOf(state{}), nil, "", &ls)
	if len(ls) < 30 {
		t.Fatalf("found only %d fields", len(ls))
	}
	for _, l := range ls {
		base := state{mode: modeHeld}
		changed := base
		setOther(field(reflect.ValueOf(&changed).Elem(), l.path))
		if l.name == "mode" {
			changed.mode = modeHeld + 1
		}
		if !notState[l.name] && base.sameAs(&changed) {
			t.Errorf("sameAs does not compare %s", l.name)
		}
		var c state
		setOther(field(reflect.ValueOf(&c).Elem(), []int{fieldIndex("fst")}))
		c.copyFrom(&changed)
		if !reflect.DeepEqual(c, changed) && !(len(c.fst) == 0 && len(changed.fst) == 0) {
			t.Errorf("copyFrom does not copy %s: %+v vs %+v", l.name, c, changed)
		}
		if !notState[l.name] && !c.sameAs(&changed) {
			t.Errorf("a copy differs from its source in %s", l.name)
		}
		// A copy shares no storage with its source.
		if v := field(reflect.ValueOf(&changed).Elem(), l.path); v.Kind() == reflect.Slice {
			e := v.Index(0)
			if e.Kind() == reflect.Struct {
				e = field(e, []int{0})
			}
			setOther(e)
			if e.Kind() == reflect.Int || e.Kind() == reflect.Int32 {
				e.SetInt(7)
			} else {
				e.SetUint(7)
			}
			if c.sameAs(&changed) && !notState[l.name] {
				t.Errorf("copyFrom shares %s's storage with its source", l.name)
			}
		}
	}
}

func fieldIndex(name string) int {
	f, ok := reflect.TypeOf(state{}).FieldByName(name)
	if !ok || len(f.Index) != 1 || strings.Contains(name, ".") {
		panic(name)
	}
	return f.Index[0]
}
