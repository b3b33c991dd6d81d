package storetest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessioning/sessioning"
)

// EnvBenchSessions sets how many sessions Bench preloads; the default is
// one million. A smaller number makes quick runs quick.
const EnvBenchSessions = "SESSIONING_BENCH_SESSIONS"

// Bench load shape.
const (
	benchPerUser    = 5  // sessions per user in the preload
	benchReaders    = 8  // goroutines doing lookups
	benchWriters    = 64 // goroutines doing durable writes
	benchLookupPool = 1 << 17
)

// BenchHarness tells Bench how to open and fill the store under test.
type BenchHarness struct {
	// Open returns a new, open store kept under dir. The store stays open
	// for every run of the benchmark in the process; CloseBench closes it
	// and removes dir.
	Open func(tb testing.TB, dir string) sessioning.Store
	// Load adds recs, whose keys are all free, as fast as the store can;
	// durability does not matter. Nil means Create from many goroutines.
	Load func(tb testing.TB, s sessioning.Store, recs []sessioning.Record)
	// Settle, if set, runs once after the preload, outside the timed
	// part, to bring the store to the state it would reach in service
	// (for an LSM tree: compacted, rather than all in level 0).
	Settle func(tb testing.TB, s sessioning.Store)
}

// benchFixture is a preloaded store, built once per process and benchmark
// name and shared by its -count runs. Runs add the sessions they create,
// and remove only sessions they loaded themselves, so the store keeps at
// least its preloaded size.
type benchFixture struct {
	store   sessioning.Store
	dir     string
	mgr     *sessioning.Manager
	n       int
	lookup  []string // tokens of preloaded sessions, for lookups
	diskMB  float64  // space the store used after the preload
	loadDur time.Duration
	gen     atomic.Int64 // distinguishes the sessions each run loads
}

var (
	benchMu       sync.Mutex
	benchFixtures = map[string]*benchFixture{}
)

// benchToken is a well-formed token derived from s, so that preloaded
// sessions can be looked up through the Manager.
func benchToken(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

var benchMetadata = sessioning.Metadata{
	"ua": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
	"ip": "203.0.113.7",
}

// benchRecord is session i of the set named prefix, with a realistic
// user agent and address, expiring a week after Base.
func benchRecord(prefix string, i int) (sessioning.Record, string) {
	tok := benchToken(prefix + strconv.Itoa(i))
	return sessioning.Record{
		Key:             sessioning.KeyOf(tok),
		Handle:          tok[:16],
		User:            fmt.Sprintf("%s-user%07d", prefix, i/benchPerUser),
		Created:         Base,
		LastSeen:        Base,
		Expires:         Base.Add(7 * 24 * time.Hour),
		AbsoluteExpires: Base.Add(30 * 24 * time.Hour),
		Metadata:        benchMetadata,
	}, tok
}

func benchSessions(tb testing.TB) int {
	n := 1_000_000
	if v := os.Getenv(EnvBenchSessions); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < benchPerUser {
			tb.Fatalf("%s=%q: want a number of at least %d", EnvBenchSessions, v, benchPerUser)
		}
	}
	return n
}

func (h BenchHarness) load(tb testing.TB, s sessioning.Store, recs []sessioning.Record) {
	if h.Load != nil {
		h.Load(tb, s, recs)
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for range 256 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(recs) || failed.Load() != nil {
					return
				}
				if err := s.Create(context.Background(), recs[i]); err != nil {
					failed.Store(&err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		tb.Fatalf("load: %v", *err)
	}
}

func fixture(b *testing.B, h BenchHarness) *benchFixture {
	n := benchSessions(b)
	name := fmt.Sprintf("%s/%d", b.Name(), n)
	benchMu.Lock()
	defer benchMu.Unlock()
	if f := benchFixtures[name]; f != nil {
		return f
	}
	dir, err := os.MkdirTemp("", "sessioning-bench-")
	if err != nil {
		b.Fatal(err)
	}
	s := h.Open(b, dir)
	f := &benchFixture{store: s, dir: dir, n: n}
	benchFixtures[name] = f
	f.mgr, err = sessioning.New(s, &sessioning.Options{Now: func() time.Time { return Base }})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	const chunk = 100_000
	recs := make([]sessioning.Record, 0, min(n, chunk))
	rng := rand.New(rand.NewPCG(1, 2))
	pool := min(n, benchLookupPool)
	for i := range n {
		r, tok := benchRecord("p", i)
		recs = append(recs, r)
		// Reservoir sample of lookup tokens over the whole preload.
		if len(f.lookup) < pool {
			f.lookup = append(f.lookup, tok)
		} else if j := rng.IntN(i + 1); j < pool {
			f.lookup[j] = tok
		}
		if len(recs) == cap(recs) || i == n-1 {
			h.load(b, s, recs)
			recs = recs[:0]
		}
	}
	if h.Settle != nil {
		h.Settle(b, s)
	}
	f.loadDur = time.Since(start)
	f.diskMB = float64(diskUsage(dir)) / 1e6
	b.Logf("preloaded %d sessions in %v: disk %.1f MB, rss %.1f MB", n, f.loadDur.Round(time.Millisecond), f.diskMB, rssMB())
	return f
}

// CloseBench closes the stores Bench opened and removes their files. A
// test binary that runs Bench calls it from TestMain after m.Run.
func CloseBench() {
	benchMu.Lock()
	defer benchMu.Unlock()
	for name, f := range benchFixtures {
		f.store.Close()
		os.RemoveAll(f.dir)
		delete(benchFixtures, name)
	}
}

// diskUsage is the space allocated to the files under dir.
func diskUsage(dir string) int64 {
	var total int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			total += diskBlocks(fi)
		}
		return nil
	})
	return total
}

// rssMB is this process's resident set, in MB (0 where /proc is absent).
func rssMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1e3
		}
	}
	return 0
}

// parallelism is the SetParallelism argument that runs about goroutines
// goroutines.
func parallelism(goroutines int) int {
	return max(1, (goroutines+runtime.GOMAXPROCS(0)-1)/runtime.GOMAXPROCS(0))
}

// Bench benchmarks the store h opens through a sessioning.Manager, on a
// store preloaded with a million sessions (EnvBenchSessions): Create,
// Delete and RevokeAll from 64 goroutines (durable writes), LookupHit and
// LookupMiss from 8. Each sub-benchmark also reports the preload's disk
// use and the process's resident set.
func Bench(b *testing.B, h BenchHarness) {
	f := fixture(b, h)
	ctx := context.Background()
	// report adds the preload's disk use, the resident set, and the
	// process CPU time per operation since cpu0: on a shared machine the
	// last is steadier than ns/op, and 2 cores / cpu-ns/op bounds the
	// throughput of an idle machine.
	report := func(b *testing.B, cpu0 time.Duration) {
		b.ReportMetric(f.diskMB, "MB-disk")
		b.ReportMetric(rssMB(), "MB-rss")
		if c := cpuTime() - cpu0; c > 0 {
			b.ReportMetric(float64(c.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}

	b.Run("Create", func(b *testing.B) {
		b.SetParallelism(parallelism(benchWriters))
		var next atomic.Int64
		cpu0 := cpuTime()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				user := "c-user" + strconv.FormatInt(next.Add(1)%100_000, 10)
				if _, err := f.mgr.Create(ctx, user, benchMetadata); err != nil {
					b.Error(err)
					return
				}
			}
		})
		report(b, cpu0)
	})

	b.Run("LookupHit", func(b *testing.B) {
		b.SetParallelism(parallelism(benchReaders))
		var seed atomic.Uint64
		cpu0 := cpuTime()
		b.RunParallel(func(pb *testing.PB) {
			rng := rand.New(rand.NewPCG(seed.Add(1), 7))
			for pb.Next() {
				if _, err := f.mgr.Lookup(ctx, f.lookup[rng.IntN(len(f.lookup))]); err != nil {
					b.Error(err)
					return
				}
			}
		})
		report(b, cpu0)
	})

	b.Run("LookupMiss", func(b *testing.B) {
		b.SetParallelism(parallelism(benchReaders))
		miss := make([]string, 1024)
		for i := range miss {
			miss[i] = benchToken("miss" + strconv.Itoa(i))
		}
		var seed atomic.Uint64
		cpu0 := cpuTime()
		b.RunParallel(func(pb *testing.PB) {
			rng := rand.New(rand.NewPCG(seed.Add(1), 9))
			for pb.Next() {
				if _, err := f.mgr.Lookup(ctx, miss[rng.IntN(len(miss))]); !errors.Is(err, sessioning.ErrNotFound) {
					b.Errorf("Lookup of a missing session: err = %v", err)
					return
				}
			}
		})
		report(b, cpu0)
	})

	b.Run("Delete", func(b *testing.B) {
		prefix := fmt.Sprintf("d%d-", f.gen.Add(1))
		toks := make([]string, b.N)
		recs := make([]sessioning.Record, b.N)
		for i := range toks {
			recs[i], toks[i] = benchRecord(prefix, i)
		}
		h.load(b, f.store, recs)
		b.SetParallelism(parallelism(benchWriters))
		var next atomic.Int64
		b.ResetTimer()
		cpu0 := cpuTime()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := f.mgr.Delete(ctx, toks[next.Add(1)-1]); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.StopTimer()
		report(b, cpu0)
	})

	b.Run("RevokeAll", func(b *testing.B) {
		prefix := fmt.Sprintf("r%d-", f.gen.Add(1))
		recs := make([]sessioning.Record, b.N*benchPerUser)
		for i := range recs {
			recs[i], _ = benchRecord(prefix, i)
		}
		h.load(b, f.store, recs)
		b.SetParallelism(parallelism(benchWriters))
		var next atomic.Int64
		b.ResetTimer()
		cpu0 := cpuTime()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				user := recs[(next.Add(1)-1)*benchPerUser].User
				if n, err := f.mgr.RevokeAll(ctx, user); err != nil || n != benchPerUser {
					b.Errorf("RevokeAll = %d, %v; want %d", n, err, benchPerUser)
					return
				}
			}
		})
		b.StopTimer()
		report(b, cpu0)
	})
}
