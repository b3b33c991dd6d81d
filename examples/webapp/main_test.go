package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/httpapi"
	"github.com/sessioning/sessioning/memstore"
)

// start runs the program with args on port 0 and returns its base URL; the
// program stops, and must return nil, when the test ends.
func start(t *testing.T, getenv func(string) string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), getenv, pw)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	lines := bufio.NewScanner(pr)
	if !lines.Scan() {
		t.Fatalf("no output: %v", <-done)
	}
	go io.Copy(io.Discard, pr) // the log
	_, rest, ok := strings.Cut(lines.Text(), "serving on ")
	if !ok {
		t.Fatalf("first line %q does not say where it serves", lines.Text())
	}
	return strings.Fields(rest)[0]
}

func signIn(t *testing.T, base string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(url.Values{"username": {"demo"}, "password": {"demo"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/account" || !strings.Contains(string(body), `id="user">demo<`) {
		t.Fatalf("sign-in ended on %s with %d", resp.Request.URL.Path, resp.StatusCode)
	}
}

func TestRunEmbedded(t *testing.T) {
	base := start(t, func(string) string { return "" })
	signIn(t, base)
}

func TestRunRemote(t *testing.T) {
	m, err := sessioning.New(memstore.New(), nil)
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(m, &httpapi.Options{ServiceKey: "k3y"})
	if err != nil {
		t.Fatal(err)
	}
	sessiond := httptest.NewServer(api)
	t.Cleanup(sessiond.Close)
	env := map[string]string{"SESSIOND_KEY": "k3y"}
	base := start(t, func(k string) string { return env[k] }, "-sessiond", sessiond.URL+"/api")
	signIn(t, base)
	if list, err := m.List(context.Background(), "demo"); err != nil || len(list) != 1 {
		t.Errorf("sessions in the remote sessiond: %v, %v; want 1", list, err)
	}
}
