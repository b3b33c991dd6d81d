package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessioning/sessioning/httpapi"
)

// FuzzHandler drives the handler with arbitrary names, bodies and
// headers: it must never panic nor answer 5xx over a working store, and
// every reply must be JSON.
func FuzzHandler(f *testing.F) {
	seeds := []struct{ method, name, body string }{
		{"POST", "create", `{"user": "alice", "metadata": {"ua": "x"}}`},
		{"POST", "create", `{"user": {"$ne": null}}`},
		{"POST", "create", `{"user": "a", "metadata": {"": ""}}`},
		{"POST", "_getUser", `{"session": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`},
		{"POST", "_getUser", `{"session": {"$ne": "x"}}`},
		{"POST", "_getSession", `{"session": "legacy-id"}`},
		{"POST", "delete", `{"session": null}`},
		{"POST", "logout", `[]`},
		{"POST", "rotate", `{"session": "x", "session": 1}`},
		{"POST", "_listSessions", `{"user": "\ud800"}`},
		{"POST", "revoke", `{"user": "a", "handle": "h"}`},
		{"POST", "revokeOwn", `{"session": "s", "handle": ""}`},
		{"POST", "revokeAll", `{"user": 1e400}`},
		{"POST", "nope", `{}`},
		{"GET", "_getUser", ``},
		{"POST", "../../healthz", `{`},
		{"POST", "create", "\xff\xfe"},
		{"POST", "create", `{"user": "` + strings.Repeat("a", 600) + `"}`},
	}
	for _, s := range seeds {
		f.Add(s.method, s.name, s.body, "")
	}
	f.Add("POST", "create", `{"user": "a"}`, "Bearer x")
	f.Fuzz(func(t *testing.T, method, name, body, auth string) {
		fx := newFixture(t, &httpapi.Options{MaxBodyBytes: 4096})
		// A live session, so that lookups can hit something. Unclean
		// paths may be redirected by the router (3xx, not JSON).
		fx.create("fuzz")
		hr, err := http.NewRequest(method, "http://sessiond/api/Sessioning/"+name, strings.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		hr.RemoteAddr = loopbackAddr
		if auth != "" {
			hr.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		fx.h.ServeHTTP(w, hr)
		if w.Code >= 500 {
			t.Fatalf("%s %q %q: status %d %s", method, name, body, w.Code, w.Body)
		}
		if ct := w.Header().Get("Content-Type"); (w.Code < 300 || w.Code >= 400) && w.Code != http.StatusNoContent && !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("%s %q %q: status %d, content type %q", method, name, body, w.Code, ct)
		}
	})
}
