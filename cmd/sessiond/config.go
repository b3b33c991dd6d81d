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

	"github.com/sessioning/sessioning/httpapi"
)

// config is sessiond's whole configuration, filled by parseConfig from
// flags, then environment variables, then defaults.
type config struct {
	addr            string
	data            string
	store           string // "" or "bolt": embedded in data; "memory"
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

func (c config) storeName() string {
	if c.store == "" || c.store == "bolt" {
		return "bolt:" + c.data
	}
	return c.store
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
		"directory of the embedded durable store (created if missing)"},
	{"store", []string{"SESSIOND_STORE"}, "bolt",
		"session store: bolt (embedded, durable, in --data) or memory (lost on exit; for tests)"},
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
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "serve":
			args = args[1:]
		case "help":
			return config{}, errHelp
		default:
			return config{}, fmt.Errorf("unknown command %q (want serve; see --help)", args[0])
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
	var cfg config
	var err error
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
	cfg.data = str("data")
	if cfg.data == "" {
		return config{}, errors.New("--data: must not be empty")
	}
	cfg.store = str("store")
	switch cfg.store {
	case "bolt", "memory":
	default:
		_, src := setting("store")
		return config{}, fmt.Errorf("%s: unknown store %q (want bolt or memory)", src, cfg.store)
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

// writeUsage documents every option.
func writeUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: sessiond [serve] [options]

sessiond serves the Sessioning concept over HTTP:
POST {base}/Sessioning/{name} with a JSON object body (see docs/api.md).
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
