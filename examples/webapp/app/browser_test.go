package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/client"
	"github.com/sessioning/sessioning/examples/webapp/app"
	"github.com/sessioning/sessioning/httpapi"
	"github.com/sessioning/sessioning/httpsession"
	"github.com/sessioning/sessioning/memstore"
)

// chromium returns the path of the Chromium binary, or skips the test if
// there is none; under CI=true a missing browser fails the test instead, so
// that CI cannot go green without running it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "chromium not found: install Debian's chromium package (apt-get install -y chromium) to run the browser test"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (required under CI=true)")
	}
	t.Skip(msg)
	return ""
}

// browser is one browser context (own cookie jar) on one tab.
type browser struct {
	name string
	ctx  context.Context
}

type browserTest struct {
	t        *testing.T
	base     string
	browsers []*browser
}

// fail saves a screenshot of every browser under a temp dir that outlives
// the test, logs where, and fails the test.
func (bt *browserTest) fail(step string, err error) {
	bt.t.Helper()
	dir, derr := os.MkdirTemp("", "webapp-browser-test-*")
	if derr != nil {
		bt.t.Fatalf("%s: %v (and no screenshot dir: %v)", step, err, derr)
	}
	for _, b := range bt.browsers {
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		buf, serr := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		cancel()
		if serr != nil {
			bt.t.Logf("screenshot of %s: %v", b.name, serr)
			continue
		}
		path := filepath.Join(dir, b.name+".png")
		if werr := os.WriteFile(path, buf, 0o644); werr != nil {
			bt.t.Logf("screenshot of %s: %v", b.name, werr)
			continue
		}
		bt.t.Logf("screenshot of %s at %s: %s", b.name, loc, path)
	}
	bt.t.Fatalf("%s: %v (screenshots in %s)", step, err, dir)
}

// stepTimeout bounds one step, so that a page that never shows what a step
// waits for fails the test quickly, with screenshots, instead of hanging.
const stepTimeout = 20 * time.Second

func (bt *browserTest) do(b *browser, step string, actions ...chromedp.Action[chromedp.Void]) {
	bt.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		bt.fail(b.name+": "+step, err)
	}
}

func run[T any](bt *browserTest, b *browser, step string, a chromedp.Action[T]) T {
	bt.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		bt.fail(b.name+": "+step, err)
	}
	return v
}

// path returns the path of the browser's current page.
func (bt *browserTest) path(b *browser) string {
	bt.t.Helper()
	loc := run(bt, b, "read location", chromedp.Location())
	u, err := url.Parse(loc)
	if err != nil {
		bt.fail(b.name+": parse location", err)
	}
	return u.Path
}

func (bt *browserTest) expectPath(b *browser, want string) {
	bt.t.Helper()
	if got := bt.path(b); got != want {
		bt.fail(b.name+": location", fmt.Errorf("on %s, want %s", got, want))
	}
}

func (bt *browserTest) cookies(b *browser) []*network.Cookie {
	bt.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{bt.base}})
	if err != nil {
		bt.fail(b.name+": read cookies", err)
	}
	return res.Cookies
}

func (bt *browserTest) sessionCookie(b *browser) *network.Cookie {
	bt.t.Helper()
	for _, c := range bt.cookies(b) {
		if c.Name == httpsession.DefaultInsecureCookieName {
			return c
		}
	}
	return nil
}

// signIn goes to the account page, is sent to the sign-in form, signs in
// as the demo user and lands back on the account page.
func (bt *browserTest) signIn(b *browser) {
	bt.t.Helper()
	bt.do(b, "open account page signed out",
		chromedp.Navigate(bt.base+"/account"),
		chromedp.WaitVisible(chromedp.ID("username")),
	)
	bt.expectPath(b, "/login")
	bt.do(b, "sign in",
		chromedp.SendKeys(chromedp.ID("username"), app.DemoUser),
		chromedp.SendKeys(chromedp.ID("password"), app.DemoPassword),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("user")),
	)
	bt.expectPath(b, "/account")
	if user := run(bt, b, "read user", chromedp.Text(chromedp.ID("user"))); user != app.DemoUser {
		bt.fail(b.name+": protected page", fmt.Errorf("shows user %q, want %q", user, app.DemoUser))
	}
}

// sessionRows opens the sessions page and returns, per row, whether it is
// marked as this device.
func (bt *browserTest) sessionRows(b *browser) []bool {
	bt.t.Helper()
	bt.do(b, "open sessions page",
		chromedp.Navigate(bt.base+"/account/sessions"),
		chromedp.WaitVisible(chromedp.ID("signout-everywhere")),
	)
	nodes := run(bt, b, "list session rows", chromedp.Nodes(chromedp.CSSAll("tr.session")))
	rows := make([]bool, len(nodes))
	for i, n := range nodes {
		rows[i] = n.AttributeValue("data-this-device") == "true"
	}
	return rows
}

// TestBrowser drives the example site in headless Chromium with two
// browser contexts, as a user signed in on two devices: once with sessions
// in an embedded Manager, once in a remote sessiond through the client.
func TestBrowser(t *testing.T) {
	execPath := chromium(t)
	t.Run("embedded", func(t *testing.T) {
		m, err := sessioning.New(memstore.New(), nil)
		if err != nil {
			t.Fatal(err)
		}
		browse(t, execPath, m, m)
	})
	t.Run("remote", func(t *testing.T) {
		m, err := sessioning.New(memstore.New(), nil)
		if err != nil {
			t.Fatal(err)
		}
		api, err := httpapi.New(m, &httpapi.Options{ServiceKey: "browser-test-key"})
		if err != nil {
			t.Fatal(err)
		}
		sessiond := httptest.NewServer(api)
		t.Cleanup(sessiond.Close)
		c, err := client.New(sessiond.URL+"/api", "browser-test-key", nil)
		if err != nil {
			t.Fatal(err)
		}
		browse(t, execPath, c, m)
	})
}

// browse runs the scenario against the site over svc; m is the Manager
// behind svc, to check what is left on the server.
func browse(t *testing.T, execPath string, svc sessioning.Service, m *sessioning.Manager) {
	h, err := app.New(svc, &app.Config{Insecure: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(execPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	t.Cleanup(cancelAlloc)
	// The browser lives as long as this context; each step has its own
	// deadline (stepTimeout).
	quiet := chromedp.WithErrorf(func(string, ...any) {})
	ctxA, cancelA := chromedp.NewContext(allocCtx, quiet)
	t.Cleanup(cancelA)
	if err := chromedp.Do(ctxA); err != nil { // start the browser
		t.Fatalf("start chromium: %v", err)
	}
	// A second browser context has its own cookie jar, like another device.
	ctxB, cancelB := chromedp.NewContext(ctxA, chromedp.WithNewBrowserContext())
	t.Cleanup(cancelB)
	if err := chromedp.Do(ctxB); err != nil {
		t.Fatalf("open second browser context: %v", err)
	}
	a := &browser{name: "device-a", ctx: ctxA}
	b := &browser{name: "device-b", ctx: ctxB}
	bt := &browserTest{t: t, base: srv.URL, browsers: []*browser{a, b}}

	// Sign in on device A; its cookie has the attributes the helpers set.
	bt.signIn(a)
	c := bt.sessionCookie(a)
	if c == nil {
		bt.fail("device-a: cookie after sign-in", fmt.Errorf("no %q cookie in %v", httpsession.DefaultInsecureCookieName, bt.cookies(a)))
	}
	if !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax || c.Path != "/" || c.Expires <= 0 {
		bt.fail("device-a: cookie attributes", fmt.Errorf("HttpOnly %v, SameSite %q, Path %q, Expires %v", c.HTTPOnly, c.SameSite, c.Path, c.Expires))
	}

	// Device B has its own jar: it starts signed out, then signs in too.
	if bt.sessionCookie(b) != nil {
		bt.fail("device-b: before sign-in", fmt.Errorf("device B shares device A's cookie"))
	}
	bt.signIn(b)

	// Device A sees two sessions, its own marked.
	rows := bt.sessionRows(a)
	if len(rows) != 2 || rows[0] == rows[1] {
		bt.fail("device-a: sessions page", fmt.Errorf("rows (this device?) = %v, want two with one marked", rows))
	}
	ua := run(bt, a, "read device", chromedp.Text(chromedp.CSS("tr.session")))
	if !strings.Contains(ua, "Chrome") {
		bt.fail("device-a: sessions page", fmt.Errorf("device column %q lacks the user agent", ua))
	}

	// Device A revokes device B's session.
	bt.do(a, "revoke the other session",
		chromedp.Click(chromedp.CSS(`tr.session[data-this-device="false"] button.revoke`)),
		chromedp.WaitNotPresent(chromedp.CSS(`tr.session[data-this-device="false"]`)),
	)
	if rows := bt.sessionRows(a); len(rows) != 1 || !rows[0] {
		bt.fail("device-a: sessions after revoke", fmt.Errorf("rows (this device?) = %v, want only this device", rows))
	}

	// Device B is signed out: the protected page sends it to sign in.
	bt.do(b, "open account page after revocation",
		chromedp.Navigate(bt.base+"/account"),
		chromedp.WaitVisible(chromedp.ID("username")),
	)
	bt.expectPath(b, "/login")

	// Device A is still signed in, then signs out.
	bt.do(a, "open account page",
		chromedp.Navigate(bt.base+"/account"),
		chromedp.WaitVisible(chromedp.ID("user")),
	)
	bt.do(a, "sign out",
		chromedp.Click(chromedp.ID("signout")),
		chromedp.WaitVisible(chromedp.ID("username")),
	)
	bt.expectPath(a, "/login")
	if c := bt.sessionCookie(a); c != nil {
		bt.fail("device-a: cookie after sign-out", fmt.Errorf("cookie %q still set", c.Name))
	}
	bt.do(a, "open account page signed out",
		chromedp.Navigate(bt.base+"/account"),
		chromedp.WaitVisible(chromedp.ID("username")),
	)
	bt.expectPath(a, "/login")

	// Nothing is left on the server either.
	if list, err := m.List(context.Background(), app.DemoUser); err != nil || len(list) != 0 {
		t.Errorf("sessions left after sign-out: %v, %v", list, err)
	}
}
