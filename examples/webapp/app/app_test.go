package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/examples/webapp/app"
	"github.com/sessioning/sessioning/memstore"
)

// device is an HTTP client with its own cookie jar that does not follow
// redirects, so tests see where the site sends it.
type device struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newSite(t *testing.T) (*sessioning.Manager, string) {
	t.Helper()
	m, err := sessioning.New(memstore.New(), nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := app.New(m, &app.Config{Insecure: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return m, srv.URL
}

func newDevice(t *testing.T, base string) *device {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &device{t: t, base: base, hc: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// do sends a request as a browser would (same-origin for forms) and
// returns the status, the redirect target and the body.
func (d *device) do(method, path string, form url.Values, site string) (int, string, string) {
	d.t.Helper()
	req, err := http.NewRequest(method, d.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		d.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	req.Header.Set("User-Agent", "TestDevice/1.0")
	if method == "POST" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", site)
	}
	resp, err := d.hc.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

func (d *device) signIn(password string) (int, string) {
	d.t.Helper()
	status, loc, _ := d.do("POST", "/login", url.Values{"username": {app.DemoUser}, "password": {password}, "next": {"/account"}}, "same-origin")
	return status, loc
}

func TestSignInAndOut(t *testing.T) {
	m, base := newSite(t)
	d := newDevice(t, base)

	if status, loc, _ := d.do("GET", "/account", nil, ""); status != http.StatusSeeOther || loc != "/login?next=%2Faccount" {
		t.Errorf("signed out /account: %d to %q, want 303 to the sign-in form", status, loc)
	}
	if status, _ := d.signIn("wrong"); status != http.StatusUnauthorized {
		t.Errorf("wrong password: status %d, want 401", status)
	}
	if status, loc := d.signIn(app.DemoPassword); status != http.StatusSeeOther || loc != "/account" {
		t.Fatalf("sign-in: %d to %q", status, loc)
	}
	if status, _, body := d.do("GET", "/account", nil, ""); status != http.StatusOK || !strings.Contains(body, `<b id="user">demo</b>`) {
		t.Errorf("signed in /account: %d %q", status, body)
	}
	if status, _, body := d.do("GET", "/account/sessions", nil, ""); status != http.StatusOK || !strings.Contains(body, "TestDevice/1.0") {
		t.Errorf("sessions page: %d, user agent missing in %q", status, body)
	}
	if status, loc, _ := d.do("POST", "/logout", nil, "same-origin"); status != http.StatusSeeOther || loc != "/login" {
		t.Errorf("sign-out: %d to %q", status, loc)
	}
	if list, err := m.List(context.Background(), app.DemoUser); err != nil || len(list) != 0 {
		t.Errorf("sessions after sign-out: %v, %v", list, err)
	}
}

func TestCrossSiteFormsAreRejected(t *testing.T) {
	m, base := newSite(t)
	d := newDevice(t, base)
	if status, _ := d.signIn(app.DemoPassword); status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", status)
	}
	for _, path := range []string{"/logout", "/account/sessions/revoke-all"} {
		if status, _, _ := d.do("POST", path, nil, "cross-site"); status != http.StatusForbidden {
			t.Errorf("cross-site POST %s: status %d, want 403", path, status)
		}
	}
	if list, err := m.List(context.Background(), app.DemoUser); err != nil || len(list) != 1 {
		t.Errorf("sessions after forged requests: %v, %v; want the one still there", list, err)
	}
	// A forged sign-in (login CSRF) is refused too.
	if status, _, _ := d.do("POST", "/login", url.Values{"username": {"demo"}, "password": {"demo"}}, "cross-site"); status != http.StatusForbidden {
		t.Errorf("cross-site sign-in: status %d, want 403", status)
	}
}

func TestSignOutEverywhere(t *testing.T) {
	m, base := newSite(t)
	a, b := newDevice(t, base), newDevice(t, base)
	a.signIn(app.DemoPassword)
	b.signIn(app.DemoPassword)
	if status, loc, _ := a.do("POST", "/account/sessions/revoke-all", nil, "same-origin"); status != http.StatusSeeOther || loc != "/login" {
		t.Errorf("sign out everywhere: %d to %q", status, loc)
	}
	for name, d := range map[string]*device{"a": a, "b": b} {
		if status, _, _ := d.do("GET", "/account", nil, ""); status != http.StatusSeeOther {
			t.Errorf("device %s after sign-out everywhere: status %d, want 303", name, status)
		}
	}
	if list, _ := m.List(context.Background(), app.DemoUser); len(list) != 0 {
		t.Errorf("%d sessions left", len(list))
	}
}

func TestRevokeUnknownHandle(t *testing.T) {
	m, base := newSite(t)
	d := newDevice(t, base)
	d.signIn(app.DemoPassword)
	status, loc, _ := d.do("POST", "/account/sessions/revoke", url.Values{"handle": {"not-a-handle"}}, "same-origin")
	if status != http.StatusSeeOther || loc != "/account/sessions" {
		t.Errorf("revoke unknown handle: %d to %q", status, loc)
	}
	if list, _ := m.List(context.Background(), app.DemoUser); len(list) != 1 {
		t.Errorf("%d sessions, want 1", len(list))
	}
}

func TestOffSiteNextIsIgnored(t *testing.T) {
	_, base := newSite(t)
	d := newDevice(t, base)
	status, loc, _ := d.do("POST", "/login", url.Values{"username": {"demo"}, "password": {"demo"}, "next": {"//evil.example/"}}, "same-origin")
	if status != http.StatusSeeOther || loc != "/account" {
		t.Errorf("sign-in with off-site next: %d to %q, want /account", status, loc)
	}
}
