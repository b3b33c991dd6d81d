// Package httpapi serves the Sessioning concept over HTTP in the wire
// format of the concept server the original implementation ran behind:
//
//	POST {base}/Sessioning/{name}   body: a JSON object
//
// The reply is the raw result with status 200: an object for an action, a
// bare JSON array for a query, {"error": "…"} for an ordinary failure such
// as an unknown session. Input that is not what the route expects (not
// JSON, not an object, a field of the wrong type) is refused with a 4xx
// status and {"error": "…"} saying what is wrong, before anything changes.
//
// # Security model
//
// Routes that mint or enumerate sessions for an arbitrary user (create,
// _listSessions, revoke, revokeAll) are privileged: with a service key
// configured they need "Authorization: Bearer <key>"; without one they are
// served only to clients connecting from a loopback address with no
// proxy forwarding headers. The other routes need only possession of a
// session token. Tokens travel only in request and response bodies and
// never appear in logs, metrics or error messages. Cross-origin browser
// requests are refused unless their origin is allowed.
//
// # Operations
//
// The handler also serves GET /healthz (alive), GET /readyz (store
// reachable), GET /metrics (Prometheus, on the handler's own registry) and
// GET {base}/openapi.json (the OpenAPI 3 description of every route).
package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/sessioning/sessioning"
)

// Defaults for Options fields left zero.
const (
	DefaultBasePath     = "/api"
	DefaultMaxBodyBytes = 64 << 10
)

// Options are the handler's optional settings; the zero value of each field
// means its documented default.
type Options struct {
	// BasePath prefixes the concept routes and the OpenAPI document.
	// Empty means DefaultBasePath; "/" means the root.
	BasePath string
	// ServiceKey, if set, is the bearer credential privileged routes
	// require. If empty, privileged routes are served only to loopback
	// clients.
	ServiceKey string
	// MaxBodyBytes bounds a request body. Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// AllowedOrigins are the browser origins ("https://app.example") that
	// may call the concept routes cross-origin; "*" allows any. Empty
	// allows none.
	AllowedOrigins []string
	// Logger receives errors and, at debug level, one line per request.
	// Nil discards them.
	Logger *slog.Logger
}

// Handler is the HTTP interface of a sessioning.Manager. It is safe for
// concurrent use.
type Handler struct {
	m        *sessioning.Manager
	base     string
	keyHash  *[32]byte
	maxBody  int64
	origins  map[string]bool
	anyOrig  bool
	cop      *http.CrossOriginProtection
	log      *slog.Logger
	mux      *http.ServeMux
	metrics  *metrics
	openapi  []byte
	byName   map[string]*route
	allRoute []string
}

// New returns a handler serving m. It returns an error wrapping
// sessioning.ErrInvalidInput if opts are invalid.
func New(m *sessioning.Manager, opts *Options) (*Handler, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: manager must not be nil", sessioning.ErrInvalidInput)
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	base, err := cleanBase(o.BasePath)
	if err != nil {
		return nil, err
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("%w: max body bytes must be positive", sessioning.ErrInvalidInput)
	}
	h := &Handler{
		m:       m,
		base:    base,
		maxBody: o.MaxBodyBytes,
		origins: make(map[string]bool),
		cop:     http.NewCrossOriginProtection(),
		log:     o.Logger,
		byName:  make(map[string]*route),
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if o.ServiceKey != "" {
		sum := sha256.Sum256([]byte(o.ServiceKey))
		h.keyHash = &sum
	}
	for _, origin := range o.AllowedOrigins {
		if origin == "*" {
			h.anyOrig = true
			continue
		}
		if err := h.cop.AddTrustedOrigin(origin); err != nil {
			return nil, fmt.Errorf("%w: allowed origin %q: want scheme://host[:port]", sessioning.ErrInvalidInput, origin)
		}
		h.origins[origin] = true
	}
	for i := range routes {
		h.byName[routes[i].name] = &routes[i]
	}
	if h.openapi, err = openAPIDocument(base); err != nil {
		return nil, err
	}
	h.metrics = newMetrics(m)
	h.mux = http.NewServeMux()
	h.handle("POST", h.base+"/Sessioning/{name}", h.serveConcept)
	h.handle("GET", "/healthz", h.serveHealth)
	h.handle("GET", "/readyz", h.serveReady)
	h.handle("GET", "/metrics", h.serveMetrics)
	h.handle("GET", h.base+"/openapi.json", h.serveOpenAPI)
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, "other", statusError(http.StatusNotFound, "no such route"))
	})
	return h, nil
}

// cleanBase checks and normalises a base path: "" means the default, "/"
// the root, anything else must be a clean absolute path.
func cleanBase(b string) (string, error) {
	switch {
	case b == "":
		return DefaultBasePath, nil
	case b == "/":
		return "", nil
	case !strings.HasPrefix(b, "/") || path.Clean(b) != b || strings.ContainsAny(b, "{}?# \t"):
		return "", fmt.Errorf("%w: base path %q must be a clean absolute path like /api", sessioning.ErrInvalidInput, b)
	}
	return b, nil
}

// handle registers a route that answers one method (and HEAD for GET) and
// 405 with an Allow header otherwise.
func (h *Handler) handle(method, pattern string, fn http.HandlerFunc) {
	h.allRoute = append(h.allRoute, method+" "+pattern)
	h.mux.HandleFunc(pattern, fn)
}

// Routes returns every route the handler serves as "METHOD /path", with
// {name} standing for the concept names listed by ConceptNames.
func (h *Handler) Routes() []string { return slices.Clone(h.allRoute) }

// ConceptNames returns the names served under {base}/Sessioning/.
func ConceptNames() []string {
	names := make([]string, len(routes))
	for i, r := range routes {
		names[i] = r.name
	}
	return names
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if origin := r.Header.Get("Origin"); origin != "" && h.corsAllowed(origin) {
		hdr := w.Header()
		hdr.Set("Access-Control-Allow-Origin", origin)
		hdr.Add("Vary", "Origin")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			hdr.Set("Access-Control-Allow-Methods", "GET, POST")
			hdr.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			hdr.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) corsAllowed(origin string) bool { return h.anyOrig || h.origins[origin] }

// methodOK answers 405 unless r uses method (GET also allows HEAD).
func (h *Handler) methodOK(w http.ResponseWriter, r *http.Request, label, method string) bool {
	if r.Method == method || method == http.MethodGet && r.Method == http.MethodHead {
		return true
	}
	allow := method
	if method == http.MethodGet {
		allow = "GET, HEAD"
	}
	w.Header().Set("Allow", allow)
	h.fail(w, r, label, statusError(http.StatusMethodNotAllowed, "method %s not allowed; use %s", r.Method, method))
	return false
}

func (h *Handler) serveConcept(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rt := h.byName[r.PathValue("name")]
	if rt == nil {
		h.fail(w, r, "other", statusError(http.StatusNotFound, "no such action or query; see %s/openapi.json", h.base))
		return
	}
	if !h.methodOK(w, r, rt.name, http.MethodPost) {
		return
	}
	result, err := h.call(w, r, rt)
	if err != nil {
		h.fail(w, r, rt.name, err)
	} else {
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, result)
		h.metrics.observe(rt.name, outcomeOK)
	}
	h.metrics.latency(rt.name, time.Since(start))
	if h.log.Enabled(r.Context(), slog.LevelDebug) {
		h.log.LogAttrs(r.Context(), slog.LevelDebug, "request",
			slog.String("route", rt.name), slog.Bool("ok", err == nil),
			slog.Duration("took", time.Since(start)))
	}
}

// call checks the caller, decodes the body and runs the route.
func (h *Handler) call(w http.ResponseWriter, r *http.Request, rt *route) (any, error) {
	if !h.anyOrig {
		if err := h.cop.Check(r); err != nil {
			return nil, statusError(http.StatusForbidden, "cross-origin request from an origin that is not allowed")
		}
	}
	if rt.privileged {
		if err := h.authorize(r); err != nil {
			return nil, err
		}
	}
	in, err := decodeBody(w, r, h.maxBody)
	if err != nil {
		return nil, err
	}
	return rt.serve(r.Context(), h.m, in)
}

// authorize admits a caller of a privileged route.
func (h *Handler) authorize(r *http.Request) error {
	if h.keyHash != nil {
		key, ok := bearer(r.Header.Get("Authorization"))
		sum := sha256.Sum256([]byte(key))
		if !ok || subtle.ConstantTimeCompare(sum[:], h.keyHash[:]) != 1 {
			return statusError(http.StatusUnauthorized, "this route needs the service key: Authorization: Bearer <key>")
		}
		return nil
	}
	if !loopback(r) {
		return statusError(http.StatusUnauthorized, "this route is served only to loopback clients because no service key is configured")
	}
	return nil
}

func bearer(h string) (string, bool) {
	const scheme = "bearer "
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return "", false
	}
	return strings.TrimSpace(h[len(scheme):]), true
}

// loopback reports whether r comes straight from a loopback address. A
// request carrying proxy forwarding headers is not trusted as loopback:
// behind a local reverse proxy every client would otherwise look local.
func loopback(r *http.Request) bool {
	if r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" || r.Header.Get("X-Real-Ip") != "" {
		return false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

func (h *Handler) serveHealth(w http.ResponseWriter, r *http.Request) {
	if h.methodOK(w, r, "healthz", http.MethodGet) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		h.metrics.observe("healthz", outcomeOK)
	}
}

func (h *Handler) serveReady(w http.ResponseWriter, r *http.Request) {
	if !h.methodOK(w, r, "readyz", http.MethodGet) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := h.m.Ready(ctx); err != nil {
		h.fail(w, r, "readyz", fmt.Errorf("readiness: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	h.metrics.observe("readyz", outcomeOK)
}

func (h *Handler) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	if h.methodOK(w, r, "openapi", http.MethodGet) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(h.openapi)
		h.metrics.observe("openapi", outcomeOK)
	}
}

func (h *Handler) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if h.methodOK(w, r, "metrics", http.MethodGet) {
		h.metrics.handler.ServeHTTP(w, r)
	}
}

// ObserveSweep records the result of one expiry sweep; its signature fits
// sessioning.Manager.RunSweeper's report function.
func (h *Handler) ObserveSweep(n int, err error) {
	h.metrics.swept.Add(float64(n))
	if err != nil {
		h.metrics.storeErrors.Inc()
		h.log.Error("expiry sweep failed", slog.String("err", err.Error()))
		return
	}
	if n > 0 {
		h.log.Debug("expiry sweep", slog.Int("removed", n))
	}
}

// fail answers err with the status and body Reply maps it to, counts it
// and logs it if it is the service's fault.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, label string, err error) {
	status, body := Reply(err)
	if status == http.StatusServiceUnavailable {
		h.metrics.storeErrors.Inc()
		h.log.LogAttrs(r.Context(), slog.LevelError, "store failure",
			slog.String("route", label), slog.String("err", err.Error()))
		w.Header().Set("Retry-After", "1")
	}
	if status == http.StatusOK {
		w.Header().Set("Cache-Control", "no-store")
	}
	writeJSON(w, status, body)
	h.metrics.observe(label, outcomeOf(status))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only the handler's own result types are marshalled; none can fail.
		panic(fmt.Sprintf("httpapi: marshal reply: %v", err))
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(b)
}

// errorBody is the wire shape of every failure.
type errorBody struct {
	Error string `json:"error"`
}

// httpError is a failure the handler itself decided on, with its status.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func statusError(status int, format string, args ...any) error {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

// NotFoundMessage is the error text of an ordinary "no such session"
// failure. It never contains the token.
const NotFoundMessage = "Session not found"

// Reply maps an error to the HTTP status and wire body the service
// answers it with:
//   - sessioning.ErrNotFound: 200 {"error": NotFoundMessage}, as the
//     original concept answers an ordinary failure;
//   - sessioning.ErrInvalidInput: 400 with the rule that was broken;
//   - a body over the size limit: 413;
//   - the handler's own refusals (malformed input, credentials, unknown
//     route, method): their own 4xx status;
//   - anything else, a store that is unavailable or failed in any other
//     way: 503 with a generic message, so no internal detail leaks.
func Reply(err error) (int, any) {
	var he *httpError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		return he.status, errorBody{he.msg}
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, errorBody{fmt.Sprintf("request body is larger than %d bytes", mbe.Limit)}
	case errors.Is(err, sessioning.ErrNotFound):
		return http.StatusOK, errorBody{NotFoundMessage}
	case errors.Is(err, sessioning.ErrInvalidInput):
		return http.StatusBadRequest, errorBody{err.Error()}
	case errors.Is(err, sessioning.ErrUnauthorized):
		return http.StatusUnauthorized, errorBody{"unauthorized"}
	default:
		return http.StatusServiceUnavailable, errorBody{"session store unavailable; try again"}
	}
}
