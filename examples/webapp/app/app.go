// Package app is the example site of examples/webapp: a sign-in form, a page
// only signed-in users see, a page listing the user's sessions with buttons
// to revoke them, and sign-out. It uses only the public API of sessioning
// and httpsession, so it runs the same over an embedded Manager or a remote
// sessiond.
package app

import (
	"crypto/subtle"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/httpsession"
)

// The demo account, shown on the sign-in form.
const (
	DemoUser     = "demo"
	DemoPassword = "demo"
)

//go:embed templates/*.html
var templateFS embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
}).ParseFS(templateFS, "templates/*.html"))

// Config holds the site's optional settings.
type Config struct {
	// Insecure is httpsession's development switch: set it when the site
	// is served over plain HTTP on localhost, never in production.
	Insecure bool
	// Logger receives errors. Nil means slog.Default().
	Logger *slog.Logger
}

type site struct {
	svc      sessioning.Service
	sessions *httpsession.Sessions
	log      *slog.Logger
}

// New returns the site's handler over svc. A nil cfg means all defaults.
func New(svc sessioning.Service, cfg *Config) (http.Handler, error) {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	sessions, err := httpsession.New(svc, &httpsession.Config{
		Insecure:  c.Insecure,
		LoginPath: "/login",
		Logger:    c.Logger,
	})
	if err != nil {
		return nil, err
	}
	s := &site{svc: svc, sessions: sessions, log: c.Logger}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET /login", s.loginForm)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.logout)
	private := http.NewServeMux()
	private.HandleFunc("GET /account", s.account)
	private.HandleFunc("GET /account/sessions", s.sessionList)
	private.HandleFunc("POST /account/sessions/revoke", s.revoke)
	private.HandleFunc("POST /account/sessions/revoke-all", s.revokeAll)
	mux.Handle("/account", sessions.Required(private))
	mux.Handle("/account/", sessions.Required(private))

	return headers(sessions.CSRF(sessions.Optional(mux))), nil
}

// headers sets the response headers every page gets: pages depend on the
// session, so no cache may keep them (nor show them after sign-out on
// "back"), and the site is not to be framed.
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

func (s *site) render(w http.ResponseWriter, status int, name string, data map[string]any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		s.log.Error("render", "page", name, "err", err)
	}
}

// fail answers a request whose session operation failed.
func (s *site) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.log.ErrorContext(r.Context(), "session operation failed", "path", r.URL.Path, "err", err)
	s.render(w, http.StatusServiceUnavailable, "error.html", map[string]any{
		"Message": "Sessions are unavailable right now. Please try again.",
	})
}

func (s *site) home(w http.ResponseWriter, r *http.Request) {
	user, _ := httpsession.UserFrom(r.Context())
	s.render(w, http.StatusOK, "home.html", map[string]any{"User": user})
}

func (s *site) loginForm(w http.ResponseWriter, r *http.Request) {
	user, _ := httpsession.UserFrom(r.Context())
	s.render(w, http.StatusOK, "login.html", map[string]any{
		"User": user, "Next": httpsession.SafeNext(r.URL.Query().Get("next"), "/account"),
		"DemoUser": DemoUser, "DemoPassword": DemoPassword,
	})
}

func (s *site) login(w http.ResponseWriter, r *http.Request) {
	user, password := r.PostFormValue("username"), r.PostFormValue("password")
	next := httpsession.SafeNext(r.PostFormValue("next"), "/account")
	if !checkPassword(user, password) {
		s.render(w, http.StatusUnauthorized, "login.html", map[string]any{
			"Error": "Wrong user name or password.", "Next": next,
			"DemoUser": DemoUser, "DemoPassword": DemoPassword,
		})
		return
	}
	if _, err := s.sessions.Login(w, r, user, httpsession.RequestMetadata(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// checkPassword knows the demo account only; a real site checks a
// password hash here.
func checkPassword(user, password string) bool {
	u := subtle.ConstantTimeCompare([]byte(user), []byte(DemoUser))
	p := subtle.ConstantTimeCompare([]byte(password), []byte(DemoPassword))
	return u&p == 1
}

func (s *site) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.sessions.Logout(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *site) account(w http.ResponseWriter, r *http.Request) {
	info, _ := httpsession.InfoFrom(r.Context())
	s.render(w, http.StatusOK, "account.html", map[string]any{"User": info.User, "Session": info})
}

func (s *site) sessionList(w http.ResponseWriter, r *http.Request) {
	info, _ := httpsession.InfoFrom(r.Context())
	list, err := s.svc.List(r.Context(), info.User)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "sessions.html", map[string]any{
		"User": info.User, "Current": info.Handle, "Sessions": list,
	})
}

func (s *site) revoke(w http.ResponseWriter, r *http.Request) {
	info, _ := httpsession.InfoFrom(r.Context())
	handle := r.PostFormValue("handle")
	err := s.svc.Revoke(r.Context(), info.User, handle)
	switch {
	case errors.Is(err, sessioning.ErrNotFound), errors.Is(err, sessioning.ErrInvalidInput):
		// Already gone, or never this user's: the list shows what is left.
	case err != nil:
		s.fail(w, r, err)
		return
	}
	if handle == info.Handle {
		s.sessions.ClearCookie(w)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/account/sessions", http.StatusSeeOther)
}

func (s *site) revokeAll(w http.ResponseWriter, r *http.Request) {
	info, _ := httpsession.InfoFrom(r.Context())
	if _, err := s.svc.RevokeAll(r.Context(), info.User); err != nil {
		s.fail(w, r, err)
		return
	}
	s.sessions.ClearCookie(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
