// Command sessiond serves the Sessioning concept over HTTP.
//
// With no configuration it keeps sessions durably in ./sessiond-data and
// listens on 127.0.0.1:8000:
//
//	sessiond            # same as: sessiond serve
//	sessiond --help     # every option and its environment variable
//
// With MONGODB_URL (or --store mongodb://…) it keeps them in MongoDB, where
// any number of sessiond processes can share them; "sessiond adopt"
// converts the sessions the original implementation left there.
//
// See docs/api.md for the configuration and the routes.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/httpapi"
	"github.com/sessioning/sessioning/memstore"
	"github.com/sessioning/sessioning/mongostore"
	"github.com/sessioning/sessioning/pebblestore"
)

func main() { main1(os.Args[1:]) }

// main1 is main with its arguments, so that tests can run the whole
// process.
func main1(args []string) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, a second one kills the process at once.
		<-ctx.Done()
		stop()
	}()
	if err := run(ctx, args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "sessiond: %v\n", err)
		os.Exit(1)
	}
}

// run is the whole program: main only adds the process around it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runWith(ctx, args, getenv, stdout, stderr, openStore)
}

// opener opens the store a configuration names. legacy is the same store
// when it can hold sessions of the original implementation (MongoDB), else
// nil.
type opener func(ctx context.Context, cfg config, log *slog.Logger) (st sessioning.Store, legacy legacyStore, err error)

// legacyStore is a store that can hold the original implementation's
// sessions: *mongostore.Store.
type legacyStore interface {
	sessioning.Legacy
	HasLegacy(ctx context.Context) (bool, error)
	LegacyIDs(ctx context.Context) iter.Seq2[string, error]
}

// storeDir is the embedded store's directory in the data dir.
const storeDir = "sessions"

// openStore opens the store cfg names: the embedded durable store in
// cfg.data, the memory store, or MongoDB.
func openStore(ctx context.Context, cfg config, log *slog.Logger) (sessioning.Store, legacyStore, error) {
	switch {
	case cfg.mongo != nil:
		// Server selection gives up after the store timeout, with the
		// driver's reason (connection refused, authentication, TLS…); the
		// whole open, indexes included, is bounded too, so that a server
		// that accepts connections but never answers stops sessiond as
		// well.
		ctx, cancel := context.WithTimeout(ctx, 2*cfg.storeTimeout)
		defer cancel()
		s, err := mongostore.Connect(ctx, cfg.mongo.uri, cfg.mongo.db, &mongostore.Options{
			Logger:                 log,
			ServerSelectionTimeout: cfg.storeTimeout,
		})
		if errors.Is(err, sessioning.ErrUnavailable) {
			return nil, nil, fmt.Errorf("MongoDB at %s did not answer within %s (--store-timeout): %s",
				cfg.mongo.hosts, cfg.storeTimeout, oneLine(err))
		}
		if err != nil {
			return nil, nil, fmt.Errorf("MongoDB at %s: %s", cfg.mongo.hosts, oneLine(err))
		}
		return s, s, nil
	case cfg.store == storeMemory:
		return memstore.New(), nil, nil
	case cfg.store == storeEmbedded:
		if err := os.MkdirAll(cfg.data, 0o700); err != nil {
			return nil, nil, fmt.Errorf("data directory: %w", err)
		}
		s, err := pebblestore.Open(filepath.Join(cfg.data, storeDir), &pebblestore.Options{DiskReads: cfg.diskReads})
		if err != nil {
			return nil, nil, fmt.Errorf("open store in %s: %s", cfg.data, oneLine(err))
		}
		return s, nil, nil
	}
	return nil, nil, fmt.Errorf("unknown store %q", cfg.store)
}

// oneLine returns err's message on one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func runWith(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, open opener) error {
	cfg, err := parseConfig(args, getenv)
	if errors.Is(err, errHelp) {
		writeUsage(stdout)
		return nil
	}
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg)

	if cfg.mongo != nil && cfg.dataGiven {
		log.Info("the store is MongoDB: --data is ignored")
	}
	store, legacy, err := open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer store.Close()
	// A store that can hold the original's sessions may hold adopted
	// ones: their old ids keep working whether or not adoption is on.
	mopts := &sessioning.Options{Lifetime: cfg.lifetime, IdleTimeout: cfg.idleTimeout, LegacyIDs: legacy != nil}
	if cfg.command == "adopt" {
		mopts.Legacy = legacy
		m, err := sessioning.New(store, mopts)
		if err != nil {
			return err
		}
		return adoptAll(ctx, cfg, m, legacy, stdout)
	}
	if mopts.Legacy, err = chooseLegacy(ctx, cfg, legacy, log); err != nil {
		return err
	}
	m, err := sessioning.New(store, mopts)
	if err != nil {
		return err
	}
	h, err := httpapi.New(m, &httpapi.Options{
		BasePath:       cfg.basePath,
		ServiceKey:     cfg.serviceKey,
		MaxBodyBytes:   cfg.maxBody,
		AllowedOrigins: cfg.corsOrigins,
		Logger:         log,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           withStoreDeadline(h, cfg.storeTimeout),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	log.Info("sessiond started", "addr", ln.Addr().String(), "store", cfg.storeName(), "base_path", cfg.basePath)
	if cfg.serviceKey == "" {
		log.Warn("no service key configured: privileged routes (create, _listSessions, revoke, revokeAll) are served only to loopback clients; set --service-key-file or SESSIOND_SERVICE_KEY")
	}
	fmt.Fprintf(stdout, "listening on %s\n", ln.Addr())

	sweepCtx, stopSweep := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { m.RunSweeper(sweepCtx, cfg.sweepInterval, h.ObserveSweep) })

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err = <-served:
	case <-ctx.Done():
		log.Info("shutting down: finishing requests in flight")
		sctx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
		err = srv.Shutdown(sctx)
		cancel()
		if err != nil {
			err = fmt.Errorf("shutdown: %w", err)
			srv.Close()
		}
		<-served
	}
	stopSweep()
	wg.Wait()
	if cerr := store.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close store: %w", cerr)
	}
	if err == nil {
		log.Info("stopped")
	}
	return err
}

// chooseLegacy returns the Legacy for the Manager, as --adopt-legacy
// says: auto turns adoption on when the collection holds sessions of the
// original implementation at start. With adoption off, sessions adopted
// earlier still work by their old ids (Options.LegacyIDs).
func chooseLegacy(ctx context.Context, cfg config, legacy legacyStore, log *slog.Logger) (sessioning.Legacy, error) {
	if legacy == nil {
		return nil, nil
	}
	switch cfg.adoptLegacy {
	case "off":
		log.Info("adoption of the original implementation's sessions is off (--adopt-legacy off); sessions adopted earlier still work")
		return nil, nil
	case "auto":
		ctx, cancel := context.WithTimeout(ctx, cfg.storeTimeout)
		defer cancel()
		has, err := legacy.HasLegacy(ctx)
		if err != nil {
			return nil, fmt.Errorf("look for sessions of the original implementation: %s", oneLine(err))
		}
		if !has {
			log.Info("no sessions of the original implementation to adopt; sessions adopted earlier still work")
			return nil, nil
		}
	}
	log.Info("adoption of the original implementation's sessions is on: a plain session id keeps working and is converted to a hashed session (expiry counted from then) the first time it is used; 'sessiond adopt' converts all at once",
		"adopt_legacy", cfg.adoptLegacy)
	return legacy, nil
}

// adoptAll converts every session of the original implementation that
// legacy holds and prints how many it converted and skipped (sessions that
// cannot be used: an id of characters the service never accepts, or no
// valid user). Session ids are secrets and never printed.
func adoptAll(ctx context.Context, cfg config, m *sessioning.Manager, legacy legacyStore, stdout io.Writer) error {
	converted, skipped := 0, 0
	for id, err := range legacy.LegacyIDs(ctx) {
		if err == nil {
			octx, cancel := context.WithTimeout(ctx, cfg.storeTimeout)
			err = m.Adopt(octx, id)
			cancel()
			if errors.Is(err, sessioning.ErrNotFound) {
				skipped++
				continue
			}
		}
		if err != nil {
			return fmt.Errorf("adopt: %s (converted %d, skipped %d before the failure)", oneLine(err), converted, skipped)
		}
		converted++
	}
	fmt.Fprintf(stdout, "converted %d, skipped %d\n", converted, skipped)
	return nil
}

// withStoreDeadline bounds each request's wait for the store: a store that
// does not answer in d (a database server lost mid-request) makes the
// request fail with 503 instead of hanging.
func withStoreDeadline(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

func newLogger(w io.Writer, cfg config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.logLevel}
	if cfg.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
