package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/bench"
	"github.com/mijnservices/koerier/internal/sandbox"
	"github.com/mijnservices/koerier/rules"
)

func init() { register(newBenchCmd) }

const benchToken = "Token bench-notificaties-token"

// benchOptions are the flags of koerier bench.
type benchOptions struct {
	N, Concurrency int
	Backend        string // embedded or scaled
	PeersOnly      bool
	Pprof          string
	PprofFakes     string
	JSON           bool
	Rules          string
	Timeout        time.Duration
	AMQPURL        string // scaled: the broker's root URL (a fresh vhost is made on it)
	RedisAddr      string
}

func newBenchCmd() *cobra.Command {
	o := benchOptions{}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure end-to-end throughput: N citizens, N notifications, until Notify has N sends",
		Long: `Starts the sandbox fakes (Open Zaak, Open Klant, Notify NL, ...) on loopback,
seeds --n distinct synthetic inwoners (elfproef-valid BSNs, one zaak with an
initiator rol and an Open Klant partij with an email address each), starts
Koerier on --backend in a child process (this binary re-executed, on a
temporary data dir), posts one status notification per inwoner to its webhook
at --concurrency, and waits until the fake Notify recorded a send for every
one of them.

It prints accepted/s and accept latency, end-to-end events/s (first post to
last Notify send), the rate per quarter of the run, duplicates and missing
sends, the router's CPU-seconds per 1,000 events and its peak RSS.

The router runs in its own process so that its CPU time and memory
(/proc/<pid>/stat and VmHWM) are its own: the fakes and the poster run in
this process and are not counted.

--backend scaled uses RabbitMQ (a fresh vhost made with rabbitmqctl on
--amqp-url) and Redis (--redis, a unique key prefix); both are removed after.
--peers-only runs a minimal in-memory router instead of Koerier: the same
Open Zaak, Open Klant and Notify clients per event, no bus, store or ledger,
which is the ceiling the peers allow on this machine.

The run is on the wall clock; the example rules hold only SMS in quiet
hours, and every bench inwoner prefers email.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := runBench(cmd.Context(), o, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if o.JSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			fmt.Fprint(cmd.OutOrStdout(), res.String())
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVarP(&o.N, "n", "n", 5000, "number of distinct inwoners and notifications")
	f.IntVarP(&o.Concurrency, "concurrency", "c", 16, "concurrent posters")
	f.StringVar(&o.Backend, "backend", "embedded", "embedded (SQLite bus and store) or scaled (RabbitMQ + Redis)")
	f.BoolVar(&o.PeersOnly, "peers-only", false, "run a minimal in-memory router (same peer calls, no bus/store/ledger): the ceiling")
	f.StringVar(&o.Pprof, "pprof", "", "serve net/http/pprof of the router process on this address (e.g. 127.0.0.1:6060)")
	f.StringVar(&o.PprofFakes, "pprof-fakes", "", "serve net/http/pprof of this process (fakes and poster) on this address, to check they are not the bottleneck")
	f.BoolVar(&o.JSON, "json", false, "print the result as JSON")
	f.StringVar(&o.Rules, "rules", "config/rules.example.yaml", "rules file or folder")
	f.DurationVar(&o.Timeout, "timeout", 10*time.Minute, "give up waiting for the sends after this long")
	f.StringVar(&o.AMQPURL, "amqp-url", "amqp://guest:guest@127.0.0.1:5672/", "scaled: RabbitMQ URL (a fresh vhost is created and removed)")
	f.StringVar(&o.RedisAddr, "redis", "127.0.0.1:6379", "scaled: Redis address (a unique key prefix is used and removed)")
	return cmd
}

// benchResult is what one run measured.
type benchResult struct {
	Mode        string  `json:"mode"` // koerier-embedded, koerier-scaled, peers-only
	N           int     `json:"n"`
	Concurrency int     `json:"concurrency"`
	Accepted    int     `json:"accepted"`
	Failed      int     `json:"failed"`
	AcceptedPS  float64 `json:"accepted_per_s"`
	AcceptP50ms float64 `json:"accept_p50_ms"`
	AcceptP99ms float64 `json:"accept_p99_ms"`
	// EndToEndPS is sends / (last Notify send - first post).
	EndToEndPS   float64   `json:"end_to_end_per_s"`
	EndToEndSecs float64   `json:"end_to_end_s"`
	QuartersPS   []float64 `json:"quarters_per_s"`
	Sent         int       `json:"sent_distinct"`
	Duplicates   int       `json:"duplicates"`
	Missing      int       `json:"missing"`
	// RouterCPU is user+system CPU of the router process from the first
	// post to the last send.
	RouterCPUSecs float64 `json:"router_cpu_s"`
	CPUPer1000    float64 `json:"router_cpu_s_per_1000"`
	PeakRSSMB     float64 `json:"router_peak_rss_mb"`
	LoadAvgBefore string  `json:"loadavg_before"`
	LoadAvgAfter  string  `json:"loadavg_after"`
	// PeerCalls are requests per sent event that reached each fake
	// (during the run; the router's start-up is excluded).
	PeerCalls        map[string]float64 `json:"peer_calls_per_event"`
	TimedOut         bool               `json:"timed_out"`
	RouterLog        string             `json:"router_log,omitempty"`
	StatusesNon2xx   int                `json:"statuses_non_2xx"`
	ProcessSeparated bool               `json:"router_in_own_process"`
}

func (r benchResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "koerier bench: %s, n=%d, concurrency=%d (load average before %s, after %s)\n", r.Mode, r.N, r.Concurrency, r.LoadAvgBefore, r.LoadAvgAfter)
	fmt.Fprintf(&b, "accepted          %d of %d (failed %d), %.0f/s, p50 %.1f ms, p99 %.1f ms\n", r.Accepted, r.N, r.Failed, r.AcceptedPS, r.AcceptP50ms, r.AcceptP99ms)
	fmt.Fprintf(&b, "end to end        %.0f events/s (%d sends in %.1f s, first post to last Notify send)\n", r.EndToEndPS, r.Sent, r.EndToEndSecs)
	q := make([]string, len(r.QuartersPS))
	for i, v := range r.QuartersPS {
		q[i] = fmt.Sprintf("%.0f", v)
	}
	fmt.Fprintf(&b, "per quarter       %s events/s\n", strings.Join(q, " / "))
	fmt.Fprintf(&b, "duplicates        %d\nmissing           %d\n", r.Duplicates, r.Missing)
	fmt.Fprintf(&b, "router CPU        %.2f CPU-s per 1,000 events (%.1f CPU-s; router process only, fakes and poster excluded)\n", r.CPUPer1000, r.RouterCPUSecs)
	fmt.Fprintf(&b, "router peak RSS   %.0f MB (VmHWM)\n", r.PeakRSSMB)
	fmt.Fprintf(&b, "peer requests     per event: Open Zaak %.1f, Open Klant %.1f, BRP %.1f, Berichtenbox %.1f, Notify %.1f\n",
		r.PeerCalls["openzaak"], r.PeerCalls["openklant"], r.PeerCalls["brp"], r.PeerCalls["berichtenbox"], r.PeerCalls["notify"])
	if r.TimedOut {
		fmt.Fprintf(&b, "TIMED OUT waiting for the sends\n")
	}
	if r.RouterLog != "" {
		fmt.Fprintf(&b, "router log        %s\n", r.RouterLog)
	}
	return b.String()
}

// benchChild is what the parent hands the router process (in the
// KOERIER_BENCH_ROUTER environment variable, as JSON); the listener is file
// descriptor 3.
type benchChild struct {
	PeersOnly bool          `json:"peers_only"`
	Config    config.Config `json:"config"`
	Pprof     string        `json:"pprof"`
}

const benchChildEnv = "KOERIER_BENCH_ROUTER"

// A bench router process is this binary (or the test binary) re-executed
// with benchChildEnv set: it runs the router and nothing else, so that
// /proc/<pid> of it is the router's CPU and memory alone.
func init() {
	if raw := os.Getenv(benchChildEnv); raw != "" {
		if err := runBenchChild(raw); err != nil {
			fmt.Fprintln(os.Stderr, "koerier bench router:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

func runBench(ctx context.Context, o benchOptions, progress io.Writer) (res benchResult, err error) {
	if o.N <= 0 || o.Concurrency <= 0 {
		return res, fmt.Errorf("bench: --n and --concurrency must be positive")
	}
	if o.Backend != "embedded" && o.Backend != "scaled" {
		return res, fmt.Errorf("bench: --backend %q: want embedded or scaled", o.Backend)
	}
	res = benchResult{N: o.N, Concurrency: o.Concurrency, Mode: "koerier-" + o.Backend, ProcessSeparated: true}
	if o.PeersOnly {
		res.Mode = "peers-only"
	}
	if o.PprofFakes != "" {
		pln, err := net.Listen("tcp", o.PprofFakes)
		if err != nil {
			return res, fmt.Errorf("--pprof-fakes: %w", err)
		}
		defer pln.Close()
		go func() { _ = http.Serve(pln, pprofMux()) }()
	}
	tmp, err := os.MkdirTemp("", "koerier-bench-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(tmp)

	rs, err := rules.Load(o.Rules)
	if err != nil {
		return res, fmt.Errorf("bench: %w", err)
	}
	// Bind the router's port here: the fake Notify must know where to post
	// delivery receipts, and the child inherits the socket.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	defer ln.Close()
	routerURL := "http://" + ln.Addr().String()
	sb, err := sandbox.Start(sandbox.Options{NotifyCallbackURL: routerURL + "/api/v1/callbacks/notify", NotifyTemplates: notifyTemplates(rs)})
	if err != nil {
		return res, err
	}
	defer sb.Close()
	fmt.Fprintf(progress, "seeding %d inwoners...\n", o.N)
	bodies := bench.Seed(sb, o.N, time.Now())

	cfg := config.Default()
	cfg.File = "(bench)"
	cfg.DataDir = filepath.Join(tmp, "data")
	cfg.Server.Listen = ln.Addr().String()
	cfg.Server.NotificatiesTokens = []string{benchToken}
	cfg.Store.SubjectKey = "bench-subject-key"
	cfg.Rules.Path = o.Rules
	noWatch := time.Duration(0)
	cfg.Rules.WatchInterval = &noWatch
	sb.Configure(&cfg)
	// The fake Notify has no rate limit, and the bench measures Koerier,
	// not Notify NL's 3,000 requests a minute per key (50/s: a gemeente
	// that needs more spreads its messages over several services).
	cfg.Notify.RateLimit.Requests = 1_000_000
	// Redis needs a data key; the embedded store would make one itself.
	cfg.Store.DataKey = strings.Repeat("be", 32)
	if o.Backend == "scaled" && !o.PeersOnly {
		cleanup, err := scaledBackend(ctx, &cfg, o)
		if err != nil {
			return res, err
		}
		defer cleanup()
	}
	if err := config.Finish(&cfg); err != nil {
		return res, err
	}

	child, logPath, err := startBenchChild(ln, benchChild{PeersOnly: o.PeersOnly, Config: cfg, Pprof: o.Pprof})
	if err != nil {
		return res, err
	}
	res.RouterLog = logPath
	defer stopBenchChild(child)
	if err := waitReady(ctx, routerURL+"/readyz", 60*time.Second); err != nil {
		return res, fmt.Errorf("bench: router did not become ready (log: %s): %w", logPath, err)
	}
	pid := child.Process.Pid

	sb.OpenZaak.ResetRequests()
	sb.OpenKlant.ResetRequests()
	notifyReqs0, brpReqs0, bbReqs0 := len(sb.Notify.Requests()), len(sb.BRP.Requests()), len(sb.Berichtenbox.Calls())
	res.LoadAvgBefore = bench.LoadAvg()
	cpu0, err := bench.ProcCPU(pid)
	if err != nil {
		return res, err
	}
	start := time.Now()
	var posted, accepted atomic.Int64
	var postSecs atomic.Int64 // nanoseconds the posting took, once done
	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopProgress:
				fmt.Fprintln(progress)
				return
			case <-t.C:
				cpu, _ := bench.ProcCPU(pid)
				el := time.Since(start).Seconds()
				pel := el
				if d := postSecs.Load(); d > 0 {
					pel = time.Duration(d).Seconds()
				}
				sent := sb.Notify.SentCount()
				fmt.Fprintf(progress, "\r%5.0fs  accepted %d/%d (%.0f/s)  Notify sends %d/%d (%.0f/s)  router CPU %.1fs  load %s   ",
					el, accepted.Load(), o.N, float64(accepted.Load())/pel, sent, o.N, float64(sent)/el, (cpu - cpu0).Seconds(), bench.LoadAvg())
			}
		}
	}()
	lp := postAll(ctx, routerURL+"/api/v1/notificaties", bodies, o.Concurrency, &posted, &accepted)
	postSecs.Store(int64(lp.elapsed))
	res.Accepted, res.Failed, res.StatusesNon2xx = lp.accepted, lp.failed, lp.non2xx
	res.AcceptedPS = float64(lp.accepted) / lp.elapsed.Seconds()
	res.AcceptP50ms = float64(bench.Percentile(lp.lat, 0.5).Microseconds()) / 1000
	res.AcceptP99ms = float64(bench.Percentile(lp.lat, 0.99).Microseconds()) / 1000

	// Wait for the sends: every accepted notification gives one email.
	deadline := time.Now().Add(o.Timeout)
	for sb.Notify.SentCount() < lp.accepted && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	res.TimedOut = sb.Notify.SentCount() < lp.accepted
	cpu1, _ := bench.ProcCPU(pid)
	// A little longer, to catch a duplicate that is on its way.
	time.Sleep(500 * time.Millisecond)
	if rss, err := bench.PeakRSS(pid); err == nil {
		res.PeakRSSMB = float64(rss) / (1 << 20)
	}
	close(stopProgress)
	<-progressDone
	res.LoadAvgAfter = bench.LoadAvg()

	var sends []bench.Send
	for _, s := range sb.Notify.Sent() {
		sends = append(sends, bench.Send{Reference: s.Reference, At: s.CreatedAt})
	}
	d := bench.Summarise(sends, o.N, start)
	res.Sent, res.Duplicates, res.Missing, res.QuartersPS = d.Distinct, d.Duplicates, d.Missing, d.Quarters
	if !d.Last.IsZero() {
		res.EndToEndSecs = d.Last.Sub(start).Seconds()
		res.EndToEndPS = float64(d.Distinct) / res.EndToEndSecs
	}
	res.RouterCPUSecs = (cpu1 - cpu0).Seconds()
	if d.Distinct > 0 {
		per := func(n int) float64 { return float64(n) / float64(d.Distinct) }
		res.PeerCalls = map[string]float64{"openzaak": per(len(sb.OpenZaak.Requests())), "openklant": per(len(sb.OpenKlant.Requests())),
			"notify": per(len(sb.Notify.Requests()) - notifyReqs0), "brp": per(len(sb.BRP.Requests()) - brpReqs0),
			"berichtenbox": per(len(sb.Berichtenbox.Calls()) - bbReqs0)}
		res.CPUPer1000 = res.RouterCPUSecs / float64(d.Distinct) * 1000
	}
	return res, nil
}

type postResult struct {
	accepted, failed, non2xx int
	elapsed                  time.Duration
	lat                      []time.Duration
}

// postAll posts every body once, conc at a time, and keeps the latency of
// each accepted one.
func postAll(ctx context.Context, target string, bodies [][]byte, conc int, posted, accepted *atomic.Int64) postResult {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}}
	defer client.CloseIdleConnections()
	var next atomic.Int64
	var mu sync.Mutex
	var res postResult
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			var ok, failed, non2xx int
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) {
					break
				}
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(bodies[i]))
				if err != nil {
					failed++
					continue
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", benchToken)
				t0 := time.Now()
				resp, err := client.Do(req)
				d := time.Since(t0)
				posted.Add(1)
				switch {
				case err != nil:
					failed++
				case resp.StatusCode/100 != 2:
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					failed++
					non2xx++
				default:
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					ok++
					accepted.Add(1)
					lat = append(lat, d)
				}
			}
			mu.Lock()
			res.accepted += ok
			res.failed += failed
			res.non2xx += non2xx
			res.lat = append(res.lat, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	sort.Slice(res.lat, func(i, j int) bool { return res.lat[i] < res.lat[j] })
	return res
}

func startBenchChild(ln net.Listener, c benchChild) (*exec.Cmd, string, error) {
	raw, err := json.Marshal(c)
	if err != nil {
		return nil, "", err
	}
	lf, err := ln.(*net.TCPListener).File()
	if err != nil {
		return nil, "", err
	}
	defer lf.Close()
	// The router's log outlives the run (tmp is removed), for a look
	// after a failure.
	logf, err := os.CreateTemp("", "koerier-bench-router-*.log")
	if err != nil {
		return nil, "", err
	}
	defer logf.Close()
	logPath := logf.Name()
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), benchChildEnv+"="+string(raw))
	cmd.ExtraFiles = []*os.File{lf}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	return cmd, logPath, nil
}

func stopBenchChild(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func waitReady(ctx context.Context, url string, max time.Duration) error {
	deadline := time.Now().Add(max)
	var last error
	for time.Now().Before(deadline) && ctx.Err() == nil {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
		} else {
			last = err
		}
		time.Sleep(50 * time.Millisecond)
	}
	if last == nil {
		last = errors.New("timeout")
	}
	return last
}

// benchDeliveryID mirrors the router's delivery id for the peers-only
// router: same event, channel, recipient and message, same reference.
func benchDeliveryID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "|")))
	return hex.EncodeToString(h[:16])
}
