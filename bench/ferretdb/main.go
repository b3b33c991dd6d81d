// Command ferretdb runs FerretDB (v1, SQLite backend), the MongoDB-wire
// server the tests use in-process, as a standalone server for load tests
// of sessiond on the MongoDB store:
//
//	go run ./bench/ferretdb -addr 127.0.0.1:27018 -dir /tmp/ferretdb-data
//	sessiond --store mongodb://127.0.0.1:27018/app
//
// It is a test bed, not a production server: see docs/mongodb.md for what
// FerretDB's SQLite backend does differently from MongoDB. It stops on
// SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:27018", "address to listen on")
	dir := flag.String("dir", "./ferretdb-data", "directory of the SQLite databases (created if missing)")
	logLevel := flag.String("log-level", "warn", "FerretDB's log level: debug, info, warn or error")
	flag.Parse()
	if err := run(*addr, *dir, *logLevel); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: %v\n", err)
		os.Exit(1)
	}
}

func run(addr, dir, logLevel string) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: addr},
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
	})
	if err != nil {
		return err
	}
	fmt.Println("listening on", f.MongoDBURI())
	return f.Run(ctx)
}
