package main

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestChartAndTable(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "r.json")
	var lines []string
	for _, sys := range []string{"sessiond", "reference"} {
		for _, ph := range []string{"create", "_getUser", "delete"} {
			for _, c := range []string{"1", "8", "32", "128"} {
				for _, v := range []string{"1000", "3000", "2000"} { // median 2000
					lines = append(lines, `{"system":"`+sys+`","phase":"`+ph+`","clients":`+c+`,"opsPerSec":`+v+`,"p50ms":0.1,"p99ms":`+c+`,"load1":1}`)
				}
			}
		}
	}
	os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	svg := filepath.Join(dir, "c.svg")
	var table bytes.Buffer
	if err := run([]string{"-o", svg, in}, &table); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "| sessiond | _getUser | 32 | 2000 | 0.100 | 32.000 | 0 | 3 | 1.0 |") {
		t.Errorf("table:\n%s", table.String())
	}
	if !strings.Contains(table.String(), "| sessiond | create | 128 | 1.00 |") {
		t.Errorf("ratio table:\n%s", table.String())
	}
	b, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(b, new(struct{})); err != nil {
		t.Fatalf("SVG is not well-formed XML: %v", err)
	}
	if n := strings.Count(string(b), "<polyline"); n != 12 {
		t.Errorf("%d lines drawn, want 12 (2 systems × 3 phases × 2 panels)", n)
	}
}
