package api

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestOpenAPI checks that the served document parses, is OpenAPI 3.0, and
// describes exactly the routes the mux serves.
func TestOpenAPI(t *testing.T) {
	h := newHarness(t)
	r := h.do(req{method: "GET", path: "/v1/openapi.json", key: "-"})
	r.expect(t, 200, nil)
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
		Comps   struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	var served []string
	for _, rt := range h.srv.routes() {
		served = append(served, rt.pattern)
	}
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Errorf("documented routes\n%q\nserved routes\n%q", documented, served)
	}
	// Every $ref points at something defined.
	var refs []string
	collectRefs(t, r.body, &refs)
	var all map[string]any
	_ = json.Unmarshal(r.body, &all)
	for _, ref := range refs {
		node := any(all)
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			m, ok := node.(map[string]any)
			if !ok || m[part] == nil {
				t.Errorf("dangling $ref %q", ref)
				break
			}
			node = m[part]
		}
	}
}

func collectRefs(t *testing.T, data []byte, refs *[]string) {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if s, ok := c.(string); ok && k == "$ref" {
					*refs = append(*refs, s)
				}
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(v)
}
