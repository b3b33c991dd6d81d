package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// listening runs sessionload's reference server and returns its base URL.
func listening(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"reference", "-addr", "127.0.0.1:0"}, pw) }()
	t.Cleanup(func() {
		cancel()
		pr.Close()
		if err := <-done; err != nil {
			t.Errorf("reference server: %v", err)
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	return "http://" + strings.TrimPrefix(strings.TrimSpace(line), "listening on ") + "/api"
}

func TestLoadAgainstReference(t *testing.T) {
	url := listening(t)
	out := filepath.Join(t.TempDir(), "r.json")
	var stdout bytes.Buffer
	err := run(context.Background(), []string{"-url", url, "-clients", "1,3", "-n", "60", "-warmup", "10", "-label", "ref", "-json", out}, &stdout)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d results, want 6 (2 client counts × 3 phases):\n%s", len(lines), b)
	}
	for _, l := range lines {
		var r Result
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r.Ops != 60 || r.Errors != 0 || r.System != "ref" || r.P50 <= 0 || r.P99 < r.P50 {
			t.Errorf("result %+v", r)
		}
	}
}

func TestWrongAnswersAreErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ User string }
		json.NewDecoder(r.Body).Decode(&in)
		switch {
		case strings.HasSuffix(r.URL.Path, "/create"):
			json.NewEncoder(w).Encode(map[string]string{"session": "t", "user": in.User})
		case strings.HasSuffix(r.URL.Path, "/_getUser"):
			io.WriteString(w, `[{"user":"someone-else"}]`)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"-url", srv.URL + "/api", "-clients", "2", "-n", "20", "-warmup", "0"}, &stdout); err != nil {
		t.Fatal(err)
	}
	got := stdout.String()
	for _, want := range []string{"first error: wrong answer: _getUser", "first error: delete: status 503"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}
