// Command sessiond serves the Sessioning concept over HTTP.
//
// With no configuration it keeps sessions durably in ./sessiond-data and
// listens on 127.0.0.1:8000:
//
//	sessiond            # same as: sessiond serve
//	sessiond --help     # every option and its environment variable
//
// See docs/api.md for the configuration and the routes.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/boltstore"
	"github.com/sessioning/sessioning/httpapi"
	"github.com/sessioning/sessioning/memstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, a second one kills the process at once.
		<-ctx.Done()
		stop()
	}()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "sessiond: %v\n", err)
		os.Exit(1)
	}
}

// run is the whole program: main only adds the process around it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runWith(ctx, args, getenv, stdout, stderr, openStore)
}

// opener opens the store a configuration names.
type opener func(ctx context.Context, cfg config) (sessioning.Store, error)

// storeFile is the name of the embedded store's file in the data dir.
const storeFile = "sessions.db"

// openStore opens the store cfg names: the embedded durable store in
// cfg.data unless cfg.store says otherwise.
func openStore(ctx context.Context, cfg config) (sessioning.Store, error) {
	switch cfg.store {
	case "memory":
		return memstore.New(), nil
	case "", "bolt":
		if err := os.MkdirAll(cfg.data, 0o700); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
		s, err := boltstore.Open(filepath.Join(cfg.data, storeFile), nil)
		if err != nil {
			return nil, fmt.Errorf("open store in %s: %w", cfg.data, err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("unknown store %q", cfg.store)
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

	store, err := open(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	m, err := sessioning.New(store, &sessioning.Options{Lifetime: cfg.lifetime, IdleTimeout: cfg.idleTimeout})
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
		Handler:           h,
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

func newLogger(w io.Writer, cfg config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.logLevel}
	if cfg.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
