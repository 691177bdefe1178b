package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
)

func init() { register(newLoadCmd) }

// newLoadCmd is the load tool: it posts synthetic, distinct ZGW status
// notifications to a running Koerier's webhook and reports how many were
// accepted per second and the latency distribution. It only targets the URL
// given (default loopback), and stops after -n requests or -duration.
func newLoadCmd() *cobra.Command {
	var (
		target, auth string
		n, conc      int
		maxDur       time.Duration
	)
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Post synthetic notifications to a running Koerier and report ingest throughput",
		Long: `Posts -n distinct status notifications (kanaal zaken) to --url with
--concurrency workers and prints accepted/s and latency percentiles.
The notifications point at a zaak host that is not on any allow-list, so a
running pipeline records them as rejected: this measures ingest only.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := runLoad(cmd.Context(), target, auth, n, conc, maxDur)
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), res)
			return nil
		},
	}
	cmd.Flags().StringVar(&target, "url", "http://127.0.0.1:8080/api/v1/notificaties", "webhook URL")
	cmd.Flags().StringVar(&auth, "auth", "Token change-me-notificaties", "Authorization header value")
	cmd.Flags().IntVarP(&n, "n", "n", 2000, "number of notifications")
	cmd.Flags().IntVarP(&conc, "concurrency", "c", 16, "concurrent requests")
	cmd.Flags().DurationVar(&maxDur, "duration", time.Minute, "stop after this long")
	return cmd
}

type loadResult struct {
	sent, accepted, failed int64
	elapsed                time.Duration
	lat                    []time.Duration
	statuses               map[int]int64
}

func (r loadResult) String() string {
	p := func(q float64) time.Duration {
		if len(r.lat) == 0 {
			return 0
		}
		return r.lat[int(q*float64(len(r.lat)-1))]
	}
	return fmt.Sprintf("sent %d, accepted %d, failed %d in %s\naccepted/s %.0f\nlatency median %s, p90 %s, p99 %s\nstatuses %v\n",
		r.sent, r.accepted, r.failed, r.elapsed.Round(time.Millisecond),
		float64(r.accepted)/r.elapsed.Seconds(), p(0.5), p(0.9), p(0.99), r.statuses)
}

func runLoad(ctx context.Context, target, auth string, n, conc int, maxDur time.Duration) (loadResult, error) {
	if n <= 0 || conc <= 0 {
		return loadResult{}, fmt.Errorf("load: -n and --concurrency must be positive")
	}
	ctx, cancel := context.WithTimeout(ctx, maxDur)
	defer cancel()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conc}}
	var next atomic.Int64
	var mu sync.Mutex
	res := loadResult{statuses: map[int]int64{}}
	run := time.Now().UnixNano()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			for ctx.Err() == nil {
				i := next.Add(1)
				if i > int64(n) {
					break
				}
				body := fmt.Sprintf(`{"kanaal":"zaken","hoofdObject":"https://load.invalid/zaken/api/v1/zaken/%d","resource":"status","resourceUrl":"https://load.invalid/zaken/api/v1/statussen/%d-%d","actie":"create","aanmaakdatum":"2025-03-15T10:01:07.118204Z","kenmerken":{}}`, i, run, i)
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewBufferString(body))
				if err != nil {
					return
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", auth)
				t0 := time.Now()
				resp, err := client.Do(req)
				d := time.Since(t0)
				mu.Lock()
				res.sent++
				if err != nil {
					res.failed++
				} else {
					resp.Body.Close()
					res.statuses[resp.StatusCode]++
					if resp.StatusCode/100 == 2 {
						res.accepted++
						lat = append(lat, d)
					} else {
						res.failed++
					}
				}
				mu.Unlock()
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	sort.Slice(res.lat, func(i, j int) bool { return res.lat[i] < res.lat[j] })
	return res, nil
}
