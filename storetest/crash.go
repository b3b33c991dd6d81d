package storetest

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessioning/sessioning"
)

// The child process of RunCrash is the test binary itself, re-run with
// these variables set.
const (
	envCrashTest  = "STORETEST_CRASH_TEST"
	envCrashDir   = "STORETEST_CRASH_DIR"
	envCrashRound = "STORETEST_CRASH_ROUND"
)

// Crash settings.
const (
	crashRounds  = 6
	crashWriters = 8
	crashUsers   = 5
)

// RunCrash checks that a durable store keeps every acknowledged write
// across SIGKILL. It re-runs the current test binary as a child process
// that opens the store (h.Open) in one directory and creates and deletes
// sessions from several goroutines, printing each write after the store
// acknowledged it. The parent kills the child with SIGKILL after a number
// of acknowledgements that differs per round, reopens the store, and
// checks that every acknowledged create is present unless its delete was
// started, and that no acknowledged delete has come back. It repeats this
// for several rounds on the same directory.
//
// The test that calls RunCrash must do nothing before it that it cannot
// also do in the child, since the child runs the same test function.
func RunCrash(t *testing.T, h Harness) {
	if os.Getenv(envCrashTest) == t.Name() {
		round, _ := strconv.Atoi(os.Getenv(envCrashRound))
		crashChild(t, h, os.Getenv(envCrashDir), round)
		return
	}
	dir := t.TempDir()
	var (
		created  = map[sessioning.Key]string{} // acknowledged creates: key → user
		deleting = map[sessioning.Key]bool{}   // deletes started
		deleted  = map[sessioning.Key]bool{}   // deletes acknowledged
	)
	for round := range crashRounds {
		kill := 150 + (round*7919)%500 // acknowledgements before SIGKILL
		acks := crashRun(t, dir, round, kill)
		for _, a := range acks {
			switch a.op {
			case 'c':
				created[a.key] = a.user
			case 'x':
				deleting[a.key] = true
			case 'd':
				deleted[a.key] = true
			}
		}
		s := h.Open(t, dir)
		crashCheck(t, s, round, created, deleting, deleted)
		if err := s.Close(); err != nil {
			t.Fatalf("round %d: Close: %v", round, err)
		}
		if t.Failed() {
			return
		}
	}
	t.Logf("%d rounds: %d creates and %d deletes acknowledged", crashRounds, len(created), len(deleted))
}

type ack struct {
	op   byte // c: created, x: delete started, d: deleted
	key  sessioning.Key
	user string
}

// crashRun runs one child until it has printed kill acknowledgements,
// SIGKILLs it, and returns every acknowledgement it printed.
func crashRun(t *testing.T, dir string, round, kill int) []ack {
	t.Helper()
	// Only a safety net against a hung child; the test asserts no time.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run="+runPattern(t.Name()), "-test.count=1")
	cmd.Env = append(os.Environ(),
		envCrashTest+"="+t.Name(),
		envCrashDir+"="+dir,
		envCrashRound+"="+strconv.Itoa(round),
	)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acks []ack
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		a, ok := parseAck(sc.Text())
		if !ok {
			continue
		}
		acks = append(acks, a)
		if !killed && len(acks) >= kill {
			cmd.Process.Kill() // SIGKILL on Unix
			killed = true
		}
	}
	// Lines written before the kill are still read above; a torn last
	// line fails to parse and is ignored, as it was never fully printed.
	err = cmd.Wait()
	if !killed {
		t.Fatalf("round %d: child exited after %d acknowledgements (%v):\n%s", round, len(acks), err, stderr.String())
	}
	return acks
}

// runPattern is a -test.run pattern that matches exactly the test name.
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

func parseAck(line string) (ack, bool) {
	f := strings.Fields(line)
	if len(f) != 4 || f[0] != "ack" || len(f[1]) != 1 {
		return ack{}, false
	}
	var a ack
	b, err := hex.DecodeString(f[2])
	if err != nil || len(b) != len(a.key) {
		return ack{}, false
	}
	a.op = f[1][0]
	copy(a.key[:], b)
	a.user = f[3]
	return a, true
}

func crashCheck(t *testing.T, s sessioning.Store, round int, created map[sessioning.Key]string, deleting, deleted map[sessioning.Key]bool) {
	t.Helper()
	ctx := context.Background()
	lost, back := 0, 0
	want := map[string]map[sessioning.Key]bool{}
	for key, user := range created {
		_, err := s.Get(ctx, key)
		switch {
		case deleted[key]:
			if err == nil {
				back++
			} else if !errors.Is(err, sessioning.ErrNotFound) {
				t.Fatalf("round %d: Get: %v", round, err)
			}
		case deleting[key]:
			// Its delete was cut short: present or not are both fine.
		case errors.Is(err, sessioning.ErrNotFound):
			lost++
		case err != nil:
			t.Fatalf("round %d: Get: %v", round, err)
		default:
			if want[user] == nil {
				want[user] = map[sessioning.Key]bool{}
			}
			want[user][key] = true
		}
	}
	if lost > 0 || back > 0 {
		t.Errorf("round %d: %d acknowledged creates lost, %d acknowledged deletes came back (of %d creates, %d deletes)",
			round, lost, back, len(created), len(deleted))
	}
	// The user index must agree with the records.
	for user, keys := range want {
		recs, err := s.ListUser(ctx, user)
		if err != nil {
			t.Fatalf("round %d: ListUser: %v", round, err)
		}
		listed := map[sessioning.Key]bool{}
		for _, r := range recs {
			listed[r.Key] = true
			if deleted[r.Key] {
				t.Errorf("round %d: ListUser(%s) returns a deleted record", round, user)
			}
		}
		for k := range keys {
			if !listed[k] {
				t.Errorf("round %d: ListUser(%s) misses a present record", round, user)
				break
			}
		}
	}
}

// crashChild is the load the parent kills: creates and deletes from
// several goroutines, each printed once acknowledged. It returns only if
// the store fails.
func crashChild(t *testing.T, h Harness, dir string, round int) {
	s := h.Open(t, dir)
	ctx := context.Background()
	var mu sync.Mutex // one write(2) per line, never interleaved
	say := func(op byte, r sessioning.Record) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(os.Stdout, "ack %c %s %s\n", op, r.Key, r.User)
	}
	var wg sync.WaitGroup
	for w := range crashWriters {
		wg.Go(func() {
			var mine []sessioning.Record
			for i := 0; ; i++ {
				user := fmt.Sprintf("crash%d", (w+i)%crashUsers)
				r := Record(user, round*10_000_000+w*1_000_000+i, time.Hour)
				if err := s.Create(ctx, r); err != nil {
					t.Errorf("Create: %v", err)
					return
				}
				say('c', r)
				mine = append(mine, r)
				if i%3 == 2 {
					d := mine[0]
					mine = mine[1:]
					say('x', d)
					if _, err := s.Delete(ctx, d.Key); err != nil {
						t.Errorf("Delete: %v", err)
						return
					}
					say('d', d)
				}
			}
		})
	}
	wg.Wait()
	s.Close()
}
