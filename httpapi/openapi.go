package httpapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
)

// openAPISource is the OpenAPI 3 description of every route, written with
// the default base path /api.
//
//go:embed openapi.json
var openAPISource []byte

// openAPIDocument returns the document with its concept paths moved under
// base.
func openAPIDocument(base string) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(openAPISource, &doc); err != nil {
		return nil, fmt.Errorf("httpapi: embedded openapi.json: %w", err)
	}
	paths, _ := doc["paths"].(map[string]any)
	moved := make(map[string]any, len(paths))
	for p, v := range paths {
		if rest, ok := strings.CutPrefix(p, DefaultBasePath+"/"); ok {
			p = base + "/" + rest
		}
		moved[p] = v
	}
	doc["paths"] = moved
	return json.MarshalIndent(doc, "", " ")
}
