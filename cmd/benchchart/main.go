// Command benchchart turns sessionload's JSON lines into a chart and a
// table: an SVG with throughput and p99 latency against the number of
// clients, one line per system and phase, and a Markdown table on stdout.
// Repeated measurements of the same system, phase and clients are
// summarised by their median.
//
//	benchchart -o docs/bench-service.svg results.json > table.md
package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"slices"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "benchchart: %v\n", err)
		os.Exit(1)
	}
}

// result is the part of sessionload's Result the chart uses.
type result struct {
	System  string  `json:"system"`
	Phase   string  `json:"phase"`
	Clients int     `json:"clients"`
	Errors  int     `json:"errors"`
	PerSec  float64 `json:"opsPerSec"`
	P50     float64 `json:"p50ms"`
	P99     float64 `json:"p99ms"`
	Load1   float64 `json:"load1"`
}

type seriesKey struct{ system, phase string }

// point is the median of the runs at one number of clients.
type point struct {
	clients          int
	perSec, p50, p99 float64
	errors, runs     int
	load             float64
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("benchchart", flag.ContinueOnError)
	out := fs.String("o", "bench.svg", "SVG file to write")
	title := fs.String("title", "sessiond over HTTP", "chart title")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("usage: benchchart -o chart.svg results.json…")
	}
	raw := make(map[seriesKey]map[int][]result)
	for _, name := range fs.Args() {
		if err := read(name, raw); err != nil {
			return err
		}
	}
	series := summarise(raw)
	if len(series) == 0 {
		return fmt.Errorf("no results in %v", fs.Args())
	}
	writeTable(stdout, series)
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	writeSVG(f, *title, series)
	return f.Close()
}

func read(name string, raw map[seriesKey]map[int][]result) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var r result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return fmt.Errorf("%s:%d: %v", name, n, err)
		}
		k := seriesKey{r.System, r.Phase}
		if raw[k] == nil {
			raw[k] = make(map[int][]result)
		}
		raw[k][r.Clients] = append(raw[k][r.Clients], r)
	}
	return sc.Err()
}

type series struct {
	key    seriesKey
	points []point
}

var phaseOrder = []string{"create", "_getUser", "delete"}

func summarise(raw map[seriesKey]map[int][]result) []series {
	var out []series
	for k, byClients := range raw {
		s := series{key: k}
		for c, rs := range byClients {
			p := point{clients: c, runs: len(rs)}
			p.perSec = median(rs, func(r result) float64 { return r.PerSec })
			p.p50 = median(rs, func(r result) float64 { return r.P50 })
			p.p99 = median(rs, func(r result) float64 { return r.P99 })
			p.load = median(rs, func(r result) float64 { return r.Load1 })
			for _, r := range rs {
				p.errors += r.Errors
			}
			s.points = append(s.points, p)
		}
		slices.SortFunc(s.points, func(a, b point) int { return cmp.Compare(a.clients, b.clients) })
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b series) int {
		return cmp.Or(cmp.Compare(slices.Index(phaseOrder, a.key.phase), slices.Index(phaseOrder, b.key.phase)),
			cmp.Compare(a.key.system, b.key.system))
	})
	return out
}

func median(rs []result, f func(result) float64) float64 {
	vs := make([]float64, len(rs))
	for i, r := range rs {
		vs[i] = f(r)
	}
	slices.Sort(vs)
	if len(vs)%2 == 1 {
		return vs[len(vs)/2]
	}
	return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
}

// writeTable prints one row per phase and clients, with each system's
// figures and the ratio of the first system to the reference if present.
func writeTable(w io.Writer, ss []series) {
	fmt.Fprintln(w, "| system | phase | clients | req/s | p50 ms | p99 ms | errors | runs | load |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|")
	for _, s := range ss {
		for _, p := range s.points {
			fmt.Fprintf(w, "| %s | %s | %d | %.0f | %.3f | %.3f | %d | %d | %.1f |\n",
				s.key.system, s.key.phase, p.clients, p.perSec, p.p50, p.p99, p.errors, p.runs, p.load)
		}
	}
	ref := make(map[string]map[int]point)
	for _, s := range ss {
		if s.key.system == "reference" {
			ref[s.key.phase] = make(map[int]point)
			for _, p := range s.points {
				ref[s.key.phase][p.clients] = p
			}
		}
	}
	if len(ref) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| system | phase | clients | req/s ÷ reference |")
	fmt.Fprintln(w, "|---|---|--:|--:|")
	for _, s := range ss {
		if s.key.system == "reference" {
			continue
		}
		for _, p := range s.points {
			if r, ok := ref[s.key.phase][p.clients]; ok && r.perSec > 0 {
				fmt.Fprintf(w, "| %s | %s | %d | %.2f |\n", s.key.system, s.key.phase, p.clients, p.perSec/r.perSec)
			}
		}
	}
}

var phaseColour = map[string]string{"create": "#1b7837", "_getUser": "#2166ac", "delete": "#b2182b"}

// writeSVG draws two panels, throughput (linear) and p99 (log), with the
// clients on a log axis.
func writeSVG(w io.Writer, title string, ss []series) {
	const (
		width, height = 900, 420
		panelW        = 360
		panelH        = 260
		top           = 60
	)
	var clients []int
	maxRate, minP99, maxP99 := 0.0, math.Inf(1), 0.0
	for _, s := range ss {
		for _, p := range s.points {
			if !slices.Contains(clients, p.clients) {
				clients = append(clients, p.clients)
			}
			maxRate = max(maxRate, p.perSec)
			if p.p99 > 0 {
				minP99, maxP99 = min(minP99, p.p99), max(maxP99, p.p99)
			}
		}
	}
	slices.Sort(clients)
	rateTop := niceCeil(maxRate)
	logLo, logHi := math.Floor(math.Log10(minP99)), math.Ceil(math.Log10(maxP99))
	if logHi <= logLo {
		logHi = logLo + 1
	}
	xOf := func(left float64, c int) float64 {
		if len(clients) == 1 {
			return left + panelW/2
		}
		lo, hi := math.Log2(float64(clients[0])), math.Log2(float64(clients[len(clients)-1]))
		return left + 20 + (math.Log2(float64(c))-lo)/(hi-lo)*(panelW-40)
	}
	yRate := func(v float64) float64 { return top + panelH - v/rateTop*panelH }
	yP99 := func(v float64) float64 {
		return top + panelH - (math.Log10(v)-logLo)/(logHi-logLo)*panelH
	}

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="16" text-anchor="middle">%s</text>`+"\n", width/2, html.EscapeString(title))
	panels := []struct {
		left  float64
		label string
		y     func(float64) float64
		ticks []float64
		get   func(point) float64
		fmt   func(float64) string
	}{
		{70, "throughput (req/s)", yRate, linTicks(rateTop), func(p point) float64 { return p.perSec }, func(v float64) string { return fmt.Sprintf("%.0fk", v/1000) }},
		{520, "p99 latency (ms, log)", yP99, logTicks(logLo, logHi), func(p point) float64 { return p.p99 }, func(v float64) string { return fmt.Sprintf("%g", v) }},
	}
	for _, pn := range panels {
		fmt.Fprintf(&b, `<text x="%.0f" y="%d" text-anchor="middle" font-size="13">%s</text>`+"\n", pn.left+panelW/2, top-12, pn.label)
		fmt.Fprintf(&b, `<rect x="%.0f" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", pn.left, top, panelW, panelH)
		for _, t := range pn.ticks {
			y := pn.y(t)
			fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#eee"/>`+"\n", pn.left, pn.left+panelW, y, y)
			fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", pn.left-6, y, pn.fmt(t))
		}
		for _, c := range clients {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", xOf(pn.left, c), top+panelH+16, c)
		}
		fmt.Fprintf(&b, `<text x="%.0f" y="%d" text-anchor="middle">concurrent clients</text>`+"\n", pn.left+panelW/2, top+panelH+34)
		for _, s := range ss {
			var pts []string
			for _, p := range s.points {
				if v := pn.get(p); v > 0 {
					pts = append(pts, fmt.Sprintf("%.1f,%.1f", xOf(pn.left, p.clients), pn.y(v)))
				}
			}
			dash := ""
			if s.key.system == "reference" {
				dash = ` stroke-dasharray="5,4"`
			}
			col := cmp.Or(phaseColour[s.key.phase], "#555")
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(pts, " "), col, dash)
			for _, pt := range pts {
				x, y, _ := strings.Cut(pt, ",")
				fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`+"\n", x, y, col)
			}
		}
	}
	// Legend.
	y := top + panelH + 58
	x := 70.0
	for _, s := range ss {
		dash := ""
		if s.key.system == "reference" {
			dash = ` stroke-dasharray="5,4"`
		}
		col := cmp.Or(phaseColour[s.key.phase], "#555")
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%d" y2="%d" stroke="%s" stroke-width="2"%s/>`+"\n", x, x+24, y, y, col, dash)
		fmt.Fprintf(&b, `<text x="%.0f" y="%d" dominant-baseline="middle">%s %s</text>`+"\n", x+30, y, html.EscapeString(s.key.system), html.EscapeString(s.key.phase))
		x += 180
		if x > width-180 {
			x, y = 70, y+20
		}
	}
	b.WriteString("</svg>\n")
	io.WriteString(w, b.String())
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func linTicks(top float64) []float64 {
	var ts []float64
	for i := 0; i <= 5; i++ {
		ts = append(ts, top*float64(i)/5)
	}
	return ts
}

func logTicks(lo, hi float64) []float64 {
	var ts []float64
	for e := lo; e <= hi; e++ {
		ts = append(ts, math.Pow(10, e))
	}
	return ts
}
