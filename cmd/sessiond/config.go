package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"

	"github.com/sessioning/sessioning/httpapi"
)

// config is sessiond's whole configuration, filled by parseConfig from
// flags, then environment variables, then defaults.
type config struct {
	command         string // serve or adopt
	addr            string
	data            string
	dataGiven       bool         // data was set by a flag or the environment
	store           string       // storeEmbedded, storeMemory or a MongoDB connection string
	mongo           *mongoConfig // set when store is a MongoDB connection string
	storeTimeout    time.Duration
	diskReads       bool   // embedded store: no in-memory copy of the records
	adoptLegacy     string // auto, on or off
	basePath        string
	lifetime        time.Duration // negative: none
	idleTimeout     time.Duration // negative: none
	sweepInterval   time.Duration
	shutdownTimeout time.Duration
	serviceKey      string
	corsOrigins     []string
	maxBody         int64
	logFormat       string
	logLevel        slog.Level
}

// Store kinds besides a MongoDB connection string.
const (
	storeEmbedded = "embedded"
	storeMemory   = "memory"
)

// mongoConfig is the MongoDB deployment a configuration names.
type mongoConfig struct {
	uri   string // secret: may hold a password; never log or print it
	db    string
	hosts string // comma-separated host:port list, safe to show
}

// storeName describes the store for the logs, without secrets.
func (c config) storeName() string {
	switch {
	case c.mongo != nil:
		return "mongodb:" + c.mongo.hosts + "/" + c.mongo.db
	case c.store == storeEmbedded:
		return "embedded:" + c.data
	}
	return c.store
}

// isMongoURI reports whether s is meant as a MongoDB connection string.
func isMongoURI(s string) bool {
	return strings.HasPrefix(s, "mongodb://") || strings.HasPrefix(s, "mongodb+srv://")
}

// option is one setting: its flag, the environment variables read when the
// flag is not given (first set wins), its default and its help.
type option struct {
	flag  string
	envs  []string
	def   string
	usage string
}

const defaultAddr = "127.0.0.1:8000"

var options = []option{
	{"addr", []string{"SESSIOND_ADDR"}, defaultAddr,
		"address to listen on, host:port. If neither the flag nor SESSIOND_ADDR is set and PORT is, listen on :$PORT (all interfaces, as platforms that set PORT expect)"},
	{"data", []string{"SESSIOND_DATA"}, "./sessiond-data",
		"directory of the embedded durable store (created if missing); ignored when the store is MongoDB"},
	{"store", []string{"SESSIOND_STORE", "MONGODB_URL"}, storeEmbedded,
		"session store: embedded (durable, in --data), memory (lost on exit; for tests), or a MongoDB connection string mongodb://… or mongodb+srv://… (MONGODB_URL, as the original implementation read it; --data is then ignored)"},
	{"db", []string{"SESSIOND_DB", "DB_NAME"}, "",
		"MongoDB database that holds the collection Sessioning.sessions (DB_NAME, as the original read it); if unset, the database named in the connection string's path (mongodb://host/app)"},
	{"disk-reads", []string{"SESSIOND_DISK_READS"}, "false",
		"embedded store: look sessions up in the store's files instead of keeping a copy in memory (about 450 bytes per session); lookups are then about 2.5 times as expensive"},
	{"store-timeout", []string{"SESSIOND_STORE_TIMEOUT"}, "10s",
		"longest wait for the store: for a reachable MongoDB server at start (then sessiond exits) and for each request's store operations (then it answers 503)"},
	{"adopt-legacy", []string{"SESSIOND_ADOPT_LEGACY"}, "auto",
		"accept and convert the original implementation's plain session ids found in MongoDB: auto (if the collection holds any at start), on or off"},
	{"base-path", []string{"SESSIOND_BASE_PATH"}, httpapi.DefaultBasePath,
		"path prefix of the concept routes: {base}/Sessioning/{name}"},
	{"lifetime", []string{"SESSIOND_LIFETIME"}, "720h",
		"absolute lifetime of a session (Go duration, 0 = none)"},
	{"idle-timeout", []string{"SESSIOND_IDLE_TIMEOUT"}, "168h",
		"a session unused for this long ends (Go duration, 0 = none)"},
	{"sweep-interval", []string{"SESSIOND_SWEEP_INTERVAL"}, "1m",
		"how often expired sessions are removed in the background"},
	{"service-key-file", []string{"SESSIOND_SERVICE_KEY_FILE"}, "",
		"file holding the service key that privileged routes require as 'Authorization: Bearer <key>' (at least 16 characters). SESSIOND_SERVICE_KEY may hold the key itself. Without a key, privileged routes are served only to loopback clients"},
	{"cors-origins", []string{"SESSIOND_CORS_ORIGINS"}, "",
		"comma-separated browser origins allowed to call the API cross-origin (https://app.example), or *"},
	{"max-body", []string{"SESSIOND_MAX_BODY"}, strconv.Itoa(httpapi.DefaultMaxBodyBytes),
		"largest request body accepted, in bytes"},
	{"shutdown-timeout", []string{"SESSIOND_SHUTDOWN_TIMEOUT"}, "30s",
		"how long a shutdown waits for requests in flight"},
	{"log-format", []string{"SESSIOND_LOG_FORMAT"}, "text",
		"log format: text or json"},
	{"log-level", []string{"SESSIOND_LOG_LEVEL"}, "info",
		"log level: debug, info, warn or error"},
}

var errHelp = errors.New("help requested")

// parseConfig reads the configuration. Its errors are one line naming the
// setting and where it came from.
func parseConfig(args []string, getenv func(string) string) (config, error) {
	cfg := config{command: "serve"}
	cmd := cfg.command
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "serve", "adopt":
			cmd, args = args[0], args[1:]
		case "help":
			return config{}, errHelp
		default:
			return config{}, fmt.Errorf("unknown command %q (want serve or adopt; see --help)", args[0])
		}
	}
	fs := flag.NewFlagSet("sessiond", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	vals := make(map[string]*string, len(options))
	for _, o := range options {
		vals[o.flag] = fs.String(o.flag, "", o.usage)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return config{}, errHelp
		}
		return config{}, fmt.Errorf("%v (see --help)", err)
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0))
	}
	given := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	// setting returns an option's value and where it came from.
	setting := func(name string) (string, string) {
		for _, o := range options {
			if o.flag != name {
				continue
			}
			if given[name] {
				return *vals[name], "--" + name
			}
			for _, e := range o.envs {
				if v := getenv(e); v != "" {
					return v, e
				}
			}
			return o.def, "default " + name
		}
		panic("sessiond: no option " + name)
	}
	cfg.command = cmd
	var err error
	var src string
	str := func(name string) string { v, _ := setting(name); return v }
	dur := func(name string, zeroMeansNone bool) time.Duration {
		v, src := setting(name)
		d, perr := time.ParseDuration(v)
		switch {
		case err != nil:
		case perr != nil:
			err = fmt.Errorf("%s: %q is not a duration like 30s, 15m or 720h", src, v)
		case d < 0 || d == 0 && !zeroMeansNone:
			err = fmt.Errorf("%s: must be positive, got %s", src, v)
		case d == 0:
			d = -1 // the library's "none"
		}
		return d
	}

	cfg.addr, _ = setting("addr")
	if !given["addr"] && getenv("SESSIOND_ADDR") == "" && getenv("PORT") != "" {
		port := getenv("PORT")
		if n, perr := strconv.ParseUint(port, 10, 16); perr != nil || n == 0 {
			return config{}, fmt.Errorf("PORT: %q is not a port number", port)
		}
		cfg.addr = ":" + port
	}
	cfg.data, src = setting("data")
	cfg.dataGiven = !strings.HasPrefix(src, "default ")
	if cfg.data == "" {
		return config{}, errors.New("--data: must not be empty")
	}
	cfg.store, src = setting("store")
	switch {
	case cfg.store == storeEmbedded || cfg.store == storeMemory:
	case isMongoURI(cfg.store):
		db, dbSrc := setting("db")
		if cfg.mongo, err = parseMongo(cfg.store, src, db, dbSrc); err != nil {
			return config{}, err
		}
	case strings.Contains(cfg.store, "://"):
		// Possibly a connection string with a password: do not echo it.
		return config{}, fmt.Errorf("%s: unknown store scheme %q (want mongodb:// or mongodb+srv://)", src, cfg.store[:strings.Index(cfg.store, "://")+3])
	default:
		return config{}, fmt.Errorf("%s: unknown store %q (want embedded, memory or a mongodb:// connection string)", src, cfg.store)
	}
	diskReads, src := setting("disk-reads")
	if cfg.diskReads, err = strconv.ParseBool(diskReads); err != nil {
		return config{}, fmt.Errorf("%s: %q is not true or false", src, diskReads)
	}
	cfg.storeTimeout = dur("store-timeout", false)
	cfg.adoptLegacy, src = setting("adopt-legacy")
	switch cfg.adoptLegacy {
	case "auto", "off":
	case "on":
		if cfg.mongo == nil {
			return config{}, fmt.Errorf("%s: on needs a MongoDB store (--store mongodb://… or MONGODB_URL)", src)
		}
	default:
		return config{}, fmt.Errorf("%s: %q is not auto, on or off", src, cfg.adoptLegacy)
	}
	if cmd == "adopt" && cfg.mongo == nil {
		return config{}, errors.New("adopt: needs a MongoDB store (--store mongodb://… or MONGODB_URL)")
	}
	cfg.basePath = str("base-path")
	cfg.lifetime = dur("lifetime", true)
	cfg.idleTimeout = dur("idle-timeout", true)
	cfg.sweepInterval = dur("sweep-interval", false)
	cfg.shutdownTimeout = dur("shutdown-timeout", false)
	if err != nil {
		return config{}, err
	}

	keyFile, src := setting("service-key-file")
	if keyFile != "" {
		b, rerr := os.ReadFile(keyFile)
		if rerr != nil {
			return config{}, fmt.Errorf("%s: cannot read the service key: %v", src, rerr)
		}
		cfg.serviceKey = strings.TrimSpace(string(b))
	} else if k := getenv("SESSIOND_SERVICE_KEY"); k != "" {
		cfg.serviceKey, src = strings.TrimSpace(k), "SESSIOND_SERVICE_KEY"
	}
	if keyFile != "" || cfg.serviceKey != "" {
		if len(cfg.serviceKey) < 16 {
			return config{}, fmt.Errorf("%s: the service key must be at least 16 characters", src)
		}
	}

	if v := str("cors-origins"); v != "" {
		for o := range strings.SplitSeq(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				cfg.corsOrigins = append(cfg.corsOrigins, o)
			}
		}
	}
	v, src := setting("max-body")
	if cfg.maxBody, err = strconv.ParseInt(v, 10, 64); err != nil || cfg.maxBody < 1 {
		return config{}, fmt.Errorf("%s: %q is not a positive number of bytes", src, v)
	}
	v, src = setting("log-format")
	if cfg.logFormat = v; v != "text" && v != "json" {
		return config{}, fmt.Errorf("%s: %q is not a log format (want text or json)", src, v)
	}
	v, src = setting("log-level")
	if err := cfg.logLevel.UnmarshalText([]byte(v)); err != nil {
		return config{}, fmt.Errorf("%s: %q is not a log level (want debug, info, warn or error)", src, v)
	}
	return cfg, nil
}

// parseMongo checks a MongoDB connection string and settles the database
// name: db if given, else the one in the string's path. Its errors never
// contain uri, which may hold a password.
func parseMongo(uri, src, db, dbSrc string) (*mongoConfig, error) {
	cs, err := connstring.ParseAndValidate(uri)
	if err != nil {
		return nil, fmt.Errorf("%s: malformed MongoDB connection string (not shown: it may hold a password)", src)
	}
	if db == "" {
		db, dbSrc = cs.Database, src
	}
	if db == "" {
		return nil, fmt.Errorf("%s: no MongoDB database named: set --db or DB_NAME, or name it in the connection string (mongodb://host/app)", src)
	}
	if strings.ContainsAny(db, "/\\. \"$\x00") {
		return nil, fmt.Errorf("%s: %q is not a MongoDB database name", dbSrc, db)
	}
	return &mongoConfig{uri: uri, db: db, hosts: strings.Join(cs.Hosts, ",")}, nil
}

// writeUsage documents every option.
func writeUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: sessiond [serve] [options]
       sessiond adopt [options]

sessiond serves the Sessioning concept over HTTP:
POST {base}/Sessioning/{name} with a JSON object body (see docs/api.md).

sessiond adopt converts every session of the original implementation in
the MongoDB store (plain session ids) to the hashed form at once, prints
"converted N, skipped M" and exits; the options are those of serve.

Every option can also be set by the environment variable named after it;
a flag wins over the environment, which wins over the default.

Options:
`)
	for _, o := range options {
		fmt.Fprintf(w, "  --%s", o.flag)
		if len(o.envs) > 0 {
			fmt.Fprintf(w, " (env %s)", strings.Join(o.envs, ", "))
		}
		if o.def != "" {
			fmt.Fprintf(w, " [default %s]", o.def)
		}
		fmt.Fprintf(w, "\n      %s\n", o.usage)
	}
	fmt.Fprint(w, `
Signals: SIGTERM or SIGINT stop the service gracefully (requests in flight
finish, then the store is closed); a second signal stops it at once.
`)
}
