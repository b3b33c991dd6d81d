// Command sessionload measures a running sessiond over HTTP.
//
// It drives the concept routes with N concurrent clients over keep-alive
// connections in three phases, each bounded by a duration and an
// operation count: create makes sessions, _getUser looks them up (round
// after round), delete ends each of them once. It reports operations per
// second and the p50, p99 and p99.9 latencies. Every reply is checked: a wrong
// status, a wrong user, a missing token or anything but {} from delete
// counts as an error.
//
//	sessionload -url http://127.0.0.1:8000/api -clients 1,8,32,128 -json results.json -label sessiond
//
// With the reference command it serves instead a bare net/http handler
// over a Go map (no durability, no validation, no metrics) speaking the
// same wire format, to measure what the machine and the load tool can do
// at most in the same run:
//
//	sessionload reference -addr 127.0.0.1:8001
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "sessionload: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "reference" {
		return serveReference(ctx, args[1:], stdout)
	}
	if len(args) > 0 && args[0] == "run" {
		args = args[1:]
	}
	fs := flag.NewFlagSet("sessionload", flag.ContinueOnError)
	url := fs.String("url", "http://127.0.0.1:8000/api", "base URL of the service (its base path included)")
	clientsFlag := fs.String("clients", "32", "comma-separated numbers of concurrent clients; the phases run once per number")
	dur := fs.Duration("duration", 10*time.Second, "longest time a phase runs")
	count := fs.Int("n", 200000, "most operations a phase makes")
	keyFile := fs.String("key-file", "", "file with the service key, sent as a bearer token to create")
	label := fs.String("label", "sessiond", "name of the system under test in the report")
	jsonOut := fs.String("json", "", "append results as JSON lines to this file")
	warm := fs.Int("warmup", 2000, "operations per phase made before measuring, to open connections and warm caches")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var clients []int
	for f := range strings.SplitSeq(*clientsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("-clients: %q is not a positive number", f)
		}
		clients = append(clients, n)
	}
	var key string
	if *keyFile != "" {
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			return err
		}
		key = strings.TrimSpace(string(b))
	}
	var out io.Writer = io.Discard
	if *jsonOut != "" {
		f, err := os.OpenFile(*jsonOut, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	fmt.Fprintf(stdout, "%-10s %-9s %7s %8s %6s %9s %8s %8s %8s  load\n", "system", "phase", "clients", "ops", "errors", "ops/s", "p50", "p99", "p99.9")
	for _, n := range clients {
		l := &load{
			base: strings.TrimSuffix(*url, "/") + "/Sessioning/", key: key, clients: n,
			duration: *dur, count: *count,
			http: &http.Client{Transport: &http.Transport{
				MaxIdleConns: n, MaxIdleConnsPerHost: n, MaxConnsPerHost: n,
				DisableCompression: true, IdleConnTimeout: time.Minute,
			}},
		}
		if *warm > 0 {
			if err := l.warmup(ctx, *warm); err != nil {
				return err
			}
		}
		for _, ph := range []phase{phaseCreate, phaseGetUser, phaseDelete} {
			res := l.run(ctx, ph)
			res.System = *label
			fmt.Fprintln(stdout, res)
			b, _ := json.Marshal(res)
			fmt.Fprintf(out, "%s\n", b)
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		l.http.CloseIdleConnections()
	}
	return nil
}

type phase string

const (
	phaseCreate  phase = "create"
	phaseGetUser phase = "_getUser"
	phaseDelete  phase = "delete"
)

// Result is one phase's figures, also written as a JSON line.
type Result struct {
	System   string  `json:"system"`
	Phase    phase   `json:"phase"`
	Clients  int     `json:"clients"`
	Ops      int     `json:"ops"`
	Errors   int     `json:"errors"`
	Seconds  float64 `json:"seconds"`
	PerSec   float64 `json:"opsPerSec"`
	P50      float64 `json:"p50ms"`
	P99      float64 `json:"p99ms"`
	P999     float64 `json:"p999ms"`
	Load1    float64 `json:"load1"`
	Sample   string  `json:"firstError,omitempty"`
	Finished string  `json:"finished"`
}

func (r Result) String() string {
	ms := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) + "ms" }
	s := fmt.Sprintf("%-10s %-9s %7d %8d %6d %9.0f %8s %8s %8s  %.2f", r.System, r.Phase, r.Clients, r.Ops, r.Errors, r.PerSec, ms(r.P50), ms(r.P99), ms(r.P999), r.Load1)
	if r.Sample != "" {
		s += "\n    first error: " + r.Sample
	}
	return s
}

// load is one run of the three phases with a number of clients.
type load struct {
	base     string
	key      string
	clients  int
	duration time.Duration
	count    int
	http     *http.Client

	sessions []session // made by the create phase
}

type session struct{ token, user string }

// outcome of one request: its latency, or an error.
type worker struct {
	lat     []time.Duration
	errs    int
	firstEr string
	made    []session
}

func (l *load) run(ctx context.Context, ph phase) Result {
	var next atomic.Int64
	limit := int64(l.count)
	switch {
	case ph == phaseDelete:
		limit = min(limit, int64(len(l.sessions)))
	case ph == phaseGetUser && len(l.sessions) == 0:
		limit = 0
	}
	ctx, cancel := context.WithTimeout(ctx, l.duration)
	defer cancel()
	workers := make([]*worker, l.clients)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range workers {
		w := &worker{lat: make([]time.Duration, 0, int(limit)/l.clients+1)}
		workers[c] = w
		wg.Go(func() {
			var buf bytes.Buffer
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= limit {
					return
				}
				t0 := time.Now()
				err := l.once(ctx, ph, c, int(i), w, &buf)
				if ctx.Err() != nil {
					return // the phase's time is up; this request does not count
				}
				if err != nil {
					w.errs++
					if w.firstEr == "" {
						w.firstEr = err.Error()
					}
					continue
				}
				w.lat = append(w.lat, time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	res := Result{Phase: ph, Clients: l.clients, Seconds: elapsed.Seconds(), Load1: load1(), Finished: time.Now().UTC().Format(time.RFC3339)}
	var all []time.Duration
	for _, w := range workers {
		all = append(all, w.lat...)
		res.Errors += w.errs
		if res.Sample == "" {
			res.Sample = w.firstEr
		}
		if ph == phaseCreate {
			l.sessions = append(l.sessions, w.made...)
		}
	}
	if ph == phaseDelete {
		l.sessions = nil
	}
	res.Ops = len(all)
	res.PerSec = float64(res.Ops) / elapsed.Seconds()
	slices.Sort(all)
	q := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[min(len(all)-1, int(p*float64(len(all))))]) / 1e6
	}
	res.P50, res.P99, res.P999 = q(0.50), q(0.99), q(0.999)
	return res
}

// warmup makes and deletes sessions so that connections are open and both
// sides are warm before the measured phases.
func (l *load) warmup(ctx context.Context, n int) error {
	saved := l.count
	l.count = n
	defer func() { l.count = saved }()
	for _, ph := range []phase{phaseCreate, phaseGetUser, phaseDelete} {
		if r := l.run(ctx, ph); r.Errors > 0 {
			return fmt.Errorf("warm-up %s: %d errors, first: %s", ph, r.Errors, r.Sample)
		}
	}
	return nil
}

var errWrong = errors.New("wrong answer")

// once makes the i-th request of a phase and checks the reply.
func (l *load) once(ctx context.Context, ph phase, client, i int, w *worker, buf *bytes.Buffer) error {
	switch ph {
	case phaseCreate:
		user := "load-" + strconv.Itoa(client) + "-" + strconv.Itoa(i%64)
		body, err := l.post(ctx, "create", `{"user":"`+user+`"}`, buf)
		if err != nil {
			return err
		}
		var s struct {
			Session string `json:"session"`
			User    string `json:"user"`
		}
		if err := json.Unmarshal(body, &s); err != nil || s.Session == "" || s.User != user {
			return fmt.Errorf("%w: create: %.100s", errWrong, body)
		}
		w.made = append(w.made, session{s.Session, user})
	case phaseGetUser:
		s := l.sessions[i%len(l.sessions)] // every session, round after round
		body, err := l.post(ctx, "_getUser", `{"session":"`+s.token+`"}`, buf)
		if err != nil {
			return err
		}
		if string(body) != `[{"user":"`+s.user+`"}]` {
			return fmt.Errorf("%w: _getUser: %.100s", errWrong, body)
		}
	case phaseDelete:
		body, err := l.post(ctx, "delete", `{"session":"`+l.sessions[i].token+`"}`, buf)
		if err != nil {
			return err
		}
		if string(body) != `{}` {
			return fmt.Errorf("%w: delete: %.100s", errWrong, body)
		}
	}
	return nil
}

// post sends one request and returns the body of a 200 reply.
func (l *load) post(ctx context.Context, name, body string, buf *bytes.Buffer) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.base+name, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if l.key != "" && name == "create" {
		req.Header.Set("Authorization", "Bearer "+l.key)
	}
	res, err := l.http.Do(req)
	if err != nil {
		return nil, err
	}
	buf.Reset()
	_, err = buf.ReadFrom(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: status %d: %.100s", name, res.StatusCode, buf.Bytes())
	}
	return buf.Bytes(), nil
}

// load1 is the one-minute load average, or -1 where it cannot be read.
func load1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f, _, _ := strings.Cut(string(b), " ")
	v, err := strconv.ParseFloat(f, 64)
	if err != nil {
		return -1
	}
	return v
}

// serveReference serves the bare baseline: the same wire format over a Go
// map, with none of sessiond's durability, validation or metrics.
func serveReference(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("sessionload reference", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8001", "address to listen on")
	base := fs.String("base-path", "/api", "path prefix of the routes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var mu sync.RWMutex
	users := make(map[string]string)
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+*base+"/Sessioning/{name}", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ User, Session string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, `{"error":"bad body"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		var out any
		switch r.PathValue("name") {
		case "create":
			var b [32]byte
			rand.Read(b[:])
			tok := base64.RawURLEncoding.EncodeToString(b[:])
			mu.Lock()
			users[tok] = in.User
			mu.Unlock()
			out = map[string]string{"session": tok, "user": in.User}
		case "_getUser":
			mu.RLock()
			u, ok := users[in.Session]
			mu.RUnlock()
			out = []map[string]string{}
			if ok {
				out = []map[string]string{{"user": u}}
			}
		case "delete", "logout":
			mu.Lock()
			_, ok := users[in.Session]
			delete(users, in.Session)
			mu.Unlock()
			out = map[string]string{}
			if !ok {
				out = map[string]string{"error": "Session not found"}
			}
		default:
			http.Error(w, `{"error":"no such route"}`, http.StatusNotFound)
			return
		}
		b, _ := json.Marshal(out)
		w.Write(b)
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(stdout, "listening on %s\n", ln.Addr())
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
