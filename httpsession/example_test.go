package httpsession_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/httpsession"
	"github.com/sessioning/sessioning/memstore"
)

// The middleware in a small app: /login signs in, /me needs a session.
func Example() {
	m, _ := sessioning.New(memstore.New(), nil) // or client.New(url, key, nil) for a remote sessiond
	sessions, _ := httpsession.New(m, &httpsession.Config{LoginPath: "/login"})

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// … check the password first …
		if _, err := sessions.Login(w, r, "alice", httpsession.RequestMetadata(r)); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
		}
	})
	mux.Handle("GET /me", sessions.Required(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _ := httpsession.UserFrom(r.Context())
		fmt.Fprintf(w, "hello %s", user)
	})))
	handler := sessions.CSRF(sessions.Optional(mux))

	// A browser signing in, then asking for /me with the cookie it got.
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, httptest.NewRequest("POST", "https://app.example/login", nil))
	cookie := w.Result().Cookies()[0]
	fmt.Println(cookie.Name, cookie.HttpOnly, cookie.Secure, cookie.SameSite == http.SameSiteLaxMode)

	r := httptest.NewRequest("GET", "https://app.example/me", nil)
	r.AddCookie(cookie)
	w = httptest.NewRecorder()
	handler.ServeHTTP(w, r)
	fmt.Println(w.Body)

	// Without the cookie, a browser is sent to sign in.
	r = httptest.NewRequest("GET", "https://app.example/me", nil)
	r.Header.Set("Accept", "text/html")
	w = httptest.NewRecorder()
	handler.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("Location"))
	// Output:
	// __Host-session true true true
	// hello alice
	// 303 /login?next=%2Fme
}
