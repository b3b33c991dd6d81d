// Command webapp is a small example site using sessions: a sign-in form
// with a demo account (demo / demo), a page only signed-in users see, a
// page listing your active sessions with buttons to revoke them, and
// sign-out.
//
//	go run ./examples/webapp
//
// serves it on http://127.0.0.1:8080 with sessions kept in memory. With
// -sessiond it uses a remote sessiond instead:
//
//	SESSIOND_KEY=… go run ./examples/webapp -sessiond http://127.0.0.1:8000/api
//
// It serves plain HTTP, so by default it sets the session cookie with
// httpsession's development switch (no Secure flag, no __Host- prefix).
// Behind a TLS-terminating proxy, pass -secure to get the production
// defaults.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/client"
	"github.com/sessioning/sessioning/examples/webapp/app"
	"github.com/sessioning/sessioning/memstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "webapp:", err)
		os.Exit(1)
	}
}

// run serves the site until ctx is done.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("webapp", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	remote := fs.String("sessiond", "", "base URL of a remote sessiond API (e.g. http://127.0.0.1:8000/api); empty keeps sessions in memory")
	secure := fs.Bool("secure", false, "set Secure __Host- cookies (when served over HTTPS); off by default for plain-HTTP localhost")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stdout, nil))

	var svc sessioning.Service
	if *remote != "" {
		c, err := client.New(*remote, getenv("SESSIOND_KEY"), nil)
		if err != nil {
			return err
		}
		svc = c
	} else {
		m, err := sessioning.New(memstore.New(), nil)
		if err != nil {
			return err
		}
		go m.RunSweeper(ctx, time.Minute, nil)
		svc = m
	}
	handler, err := app.New(svc, &app.Config{Insecure: !*secure, Logger: log})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	fmt.Fprintf(stdout, "serving on http://%s (demo account: %s / %s)\n", ln.Addr(), app.DemoUser, app.DemoPassword)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
