package domain

import "testing"

// A rendering is found under its own variant and id only: renderings that
// differ in any field of the variant are different bytes.
func TestRendersKeepVariantsApart(t *testing.T) {
	c := newRenders(1 << 20)
	base := RenderVariant{API: "v2", View: "agent", Base: "http://a.example", Year: 2026}
	variants := []RenderVariant{
		base,
		{API: "legacy", View: base.View, Base: base.Base, Year: base.Year},
		{API: base.API, View: "end-user", Base: base.Base, Year: base.Year},
		{API: base.API, View: base.View, Base: "http://b.example", Year: base.Year},
		{API: base.API, View: base.View, Base: base.Base, Year: 2027},
	}
	for i, v := range variants {
		c.put(renderKey{v, 7}, []byte{byte(i)}, 1)
	}
	c.put(renderKey{base, 8}, []byte{99}, 1)
	for i, v := range variants {
		body, _, ok := c.get(renderKey{v, 7})
		if !ok || len(body) != 1 || body[0] != byte(i) {
			t.Errorf("variant %+v: got %v, %v; want [%d]", v, body, ok, i)
		}
	}
	if body, _, _ := c.get(renderKey{base, 8}); len(body) != 1 || body[0] != 99 {
		t.Errorf("user 8: got %v, want [99]", body)
	}
}

// The budget counts keys and bodies; the least recently used go first.
func TestRendersEvictLeastRecentlyUsed(t *testing.T) {
	v := RenderVariant{API: "v2"}
	entry := renderKey{v, 1}.size() + 10
	c := newRenders(3 * entry)
	for id := int64(1); id <= 3; id++ {
		c.put(renderKey{v, id}, make([]byte, 10), 1)
	}
	c.get(renderKey{v, 1}) // 2 is now the least recently used
	c.put(renderKey{v, 4}, make([]byte, 10), 1)
	for id, want := range map[int64]bool{1: true, 2: false, 3: true, 4: true} {
		if _, _, ok := c.get(renderKey{v, id}); ok != want {
			t.Errorf("user %d kept: %v, want %v", id, ok, want)
		}
	}
	if c.size != 3*entry {
		t.Errorf("size %d, want %d", c.size, 3*entry)
	}
}
