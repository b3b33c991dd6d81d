// Package client is a Go client for a remote sessiond. *Client implements
// sessioning.Service, so an application switches between the in-process
// *sessioning.Manager and a shared sessiond by configuration:
//
//	var svc sessioning.Service = manager
//	if url := os.Getenv("SESSIOND_URL"); url != "" {
//		svc, err = client.New(url, os.Getenv("SESSIOND_KEY"), nil)
//	}
//
// It speaks sessiond's wire format (POST {base}/Sessioning/{name} with a
// JSON object body) and maps the replies back to the sentinel errors of
// package sessioning:
//
//   - an unknown, expired or malformed session (200 {"error": …}):
//     sessioning.ErrNotFound;
//   - 400 and 413: sessioning.ErrInvalidInput, wrapping the server's
//     message;
//   - 401 and 403 (a missing or wrong service key): sessioning.ErrUnauthorized;
//   - 5xx, a connection failure, a timeout of the client or a reply that is
//     not what the API promises: sessioning.ErrUnavailable;
//   - the cancellation or deadline of the caller's ctx: ctx.Err(), so
//     errors.Is(err, context.Canceled) holds.
//
// Tokens travel only in request bodies, never in URLs, and never appear in
// errors.
//
// # The service key
//
// The key is sent as "Authorization: Bearer <key>" on every call, not only
// on the privileged ones (create, list, revoke, revoke-all) that need it, so
// that a server which makes more routes privileged keeps working. Use an
// https:// base URL whenever the connection leaves the machine: the key and
// the tokens are credentials.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sessioning/sessioning"
)

// Defaults for Options fields left zero.
const (
	DefaultTimeout          = 10 * time.Second
	DefaultMaxResponseBytes = 32 << 20
)

// Options are the client's optional settings; the zero value of each field
// means its documented default.
type Options struct {
	// HTTPClient sends the requests. Nil means a client of its own with
	// Timeout, up to 64 idle connections kept to the server, and no
	// redirects followed.
	HTTPClient *http.Client
	// Timeout bounds each call, in addition to the caller's ctx, when
	// HTTPClient is nil. Zero means DefaultTimeout.
	Timeout time.Duration
	// MaxResponseBytes bounds a reply body. Zero means
	// DefaultMaxResponseBytes.
	MaxResponseBytes int64
}

// Client calls a remote sessiond. It is safe for concurrent use.
type Client struct {
	base  string // e.g. "http://127.0.0.1:8000/api/Sessioning/"
	key   string
	hc    *http.Client
	limit int64
}

var _ sessioning.Service = (*Client)(nil)

// New returns a client for the sessiond API at baseURL, such as
// "https://sessions.internal:8000/api". A base URL without a path means
// sessiond's default base path "/api"; use a trailing "/" alone
// ("https://host/") for a server whose base path is the root. serviceKey
// may be empty if only unprivileged calls are made or the server trusts
// loopback clients. A nil opts means all defaults.
func New(baseURL, serviceKey string, opts *Options) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: %w: base URL must be an absolute http or https URL", sessioning.ErrInvalidInput)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("client: %w: base URL must not have credentials, a query or a fragment", sessioning.ErrInvalidInput)
	}
	if strings.ContainsAny(serviceKey, "\r\n") {
		return nil, fmt.Errorf("client: %w: service key must be one line", sessioning.ErrInvalidInput)
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Timeout < 0 {
		return nil, fmt.Errorf("client: %w: timeout must be positive", sessioning.ErrInvalidInput)
	}
	if o.MaxResponseBytes == 0 {
		o.MaxResponseBytes = DefaultMaxResponseBytes
	}
	hc := o.HTTPClient
	if hc == nil {
		// Every request of an app may look a session up, so keep enough
		// idle connections to sessiond for concurrent requests.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		hc = &http.Client{
			Transport: tr,
			Timeout:   o.Timeout,
			// A redirect is never part of the API; following one could
			// send the key and tokens elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	path := u.Path
	switch {
	case path == "":
		path = "/api"
	case path == "/":
		path = ""
	}
	u.Path = strings.TrimSuffix(path, "/") + "/Sessioning/"
	u.RawPath = ""
	return &Client{base: u.String(), key: serviceKey, hc: hc, limit: o.MaxResponseBytes}, nil
}

// errorReply is the body of a failure: {"error": "…"}.
type errorReply struct {
	Error *string `json:"error"`
}

// call posts in to the route name and decodes the 200 reply into out.
// A reply {"error": …} with status 200 is sessioning.ErrNotFound.
func (c *Client) call(ctx context.Context, name string, in any, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("sessiond %s: %w: %v", name, sessioning.ErrInvalidInput, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+name, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("sessiond %s: %w", name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("sessiond %s: %w", name, ctxErr)
		}
		// The *url.Error names the URL, which holds no token; its cause
		// says what failed (refused, reset, timeout).
		return fmt.Errorf("sessiond %s: %w: %v", name, sessioning.ErrUnavailable, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, c.limit+1))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("sessiond %s: %w", name, ctxErr)
		}
		return fmt.Errorf("sessiond %s: %w: reading the reply: %v", name, sessioning.ErrUnavailable, err)
	}
	if int64(len(raw)) > c.limit {
		return fmt.Errorf("sessiond %s: %w: reply larger than %d bytes", name, sessioning.ErrUnavailable, c.limit)
	}
	if resp.StatusCode != http.StatusOK {
		return statusErr(name, resp.StatusCode, raw)
	}
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		var e errorReply
		if err := json.Unmarshal(raw, &e); err == nil && e.Error != nil {
			return fmt.Errorf("sessiond %s: %w", name, sessioning.ErrNotFound)
		}
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("sessiond %s: %w: malformed reply: %v", name, sessioning.ErrUnavailable, err)
	}
	return nil
}

// statusErr maps a non-200 reply to a sentinel error, keeping the
// server's message (which never holds a token).
func statusErr(name string, status int, raw []byte) error {
	var e errorReply
	msg := http.StatusText(status)
	if json.Unmarshal(raw, &e) == nil && e.Error != nil && *e.Error != "" {
		msg = *e.Error
	}
	var sentinel error
	switch {
	case status == http.StatusBadRequest, status == http.StatusRequestEntityTooLarge:
		sentinel = sessioning.ErrInvalidInput
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		sentinel = sessioning.ErrUnauthorized
	case status >= 500:
		sentinel = sessioning.ErrUnavailable
	default:
		// 404, 405, …: the base URL does not point at a sessiond API.
		return fmt.Errorf("sessiond %s: unexpected status %d: %s (is the base URL right?)", name, status, msg)
	}
	return fmt.Errorf("sessiond %s: %w: %s", name, sentinel, msg)
}

type sessionIn struct {
	Session string `json:"session"`
}

type userIn struct {
	User string `json:"user"`
}

// Create mints a session for user with optional metadata. It needs the
// service key.
func (c *Client) Create(ctx context.Context, user string, md sessioning.Metadata) (sessioning.Session, error) {
	// The library's own checks run here too: JSON would silently replace
	// invalid UTF-8, so the server could not reject it as the Manager does.
	if err := sessioning.ValidateUser(user); err != nil {
		return sessioning.Session{}, err
	}
	if err := sessioning.ValidateMetadata(md); err != nil {
		return sessioning.Session{}, err
	}
	in := struct {
		User     string              `json:"user"`
		Metadata sessioning.Metadata `json:"metadata,omitempty"`
	}{user, md}
	var s sessioning.Session
	if err := c.call(ctx, "create", in, &s); err != nil {
		return sessioning.Session{}, err
	}
	if s.Token == "" {
		return sessioning.Session{}, fmt.Errorf("sessiond create: %w: reply without a session", sessioning.ErrUnavailable)
	}
	return s, nil
}

// Lookup returns the live session a token stands for, or
// sessioning.ErrNotFound.
func (c *Client) Lookup(ctx context.Context, token string) (sessioning.Info, error) {
	var out []sessioning.Info
	if err := c.call(ctx, "_getSession", sessionIn{token}, &out); err != nil {
		return sessioning.Info{}, err
	}
	if len(out) == 0 {
		return sessioning.Info{}, fmt.Errorf("sessiond _getSession: %w", sessioning.ErrNotFound)
	}
	return out[0], nil
}

// User returns the user a token stands for: the concept's _getUser.
func (c *Client) User(ctx context.Context, token string) (string, error) {
	var out []userIn
	if err := c.call(ctx, "_getUser", sessionIn{token}, &out); err != nil {
		return "", err
	}
	if len(out) == 0 {
		return "", fmt.Errorf("sessiond _getUser: %w", sessioning.ErrNotFound)
	}
	return out[0].User, nil
}

// Delete ends the session a token stands for (logout), or returns
// sessioning.ErrNotFound.
func (c *Client) Delete(ctx context.Context, token string) error {
	return c.call(ctx, "delete", sessionIn{token}, &struct{}{})
}

// Rotate gives the session a new token; the old one stops working.
func (c *Client) Rotate(ctx context.Context, token string) (sessioning.Session, error) {
	var s sessioning.Session
	if err := c.call(ctx, "rotate", sessionIn{token}, &s); err != nil {
		return sessioning.Session{}, err
	}
	if s.Token == "" {
		return sessioning.Session{}, fmt.Errorf("sessiond rotate: %w: reply without a session", sessioning.ErrUnavailable)
	}
	return s, nil
}

// List returns user's live sessions, oldest first. It needs the service
// key.
func (c *Client) List(ctx context.Context, user string) ([]sessioning.Info, error) {
	if err := sessioning.ValidateUser(user); err != nil {
		return nil, err
	}
	var out []sessioning.Info
	if err := c.call(ctx, "_listSessions", userIn{user}, &out); err != nil {
		return nil, err
	}
	if out == nil {
		out = []sessioning.Info{}
	}
	return out, nil
}

// Revoke ends user's session with the given handle, or returns
// sessioning.ErrNotFound. It needs the service key.
func (c *Client) Revoke(ctx context.Context, user, handle string) error {
	if err := sessioning.ValidateUser(user); err != nil {
		return err
	}
	if err := sessioning.ValidateHandle(handle); err != nil {
		return err
	}
	in := struct {
		User   string `json:"user"`
		Handle string `json:"handle"`
	}{user, handle}
	return c.call(ctx, "revoke", in, &struct{}{})
}

// RevokeOwn ends the session with the given handle if it belongs to the
// same user as token, or returns sessioning.ErrNotFound. Unlike Revoke it
// needs no service key, only the user's own token.
func (c *Client) RevokeOwn(ctx context.Context, token, handle string) error {
	in := struct {
		Session string `json:"session"`
		Handle  string `json:"handle"`
	}{token, handle}
	return c.call(ctx, "revokeOwn", in, &struct{}{})
}

// RevokeAll ends every session of user and returns how many it ended. It
// needs the service key.
func (c *Client) RevokeAll(ctx context.Context, user string) (int, error) {
	if err := sessioning.ValidateUser(user); err != nil {
		return 0, err
	}
	var out struct {
		Count *int `json:"count"`
	}
	if err := c.call(ctx, "revokeAll", userIn{user}, &out); err != nil {
		return 0, err
	}
	if out.Count == nil {
		return 0, fmt.Errorf("sessiond revokeAll: %w: reply without a count", sessioning.ErrUnavailable)
	}
	return *out.Count, nil
}
