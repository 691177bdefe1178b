package ratelimit

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mijnservices/koerier/internal/clock"
)

// Over one minute of the fake clock the local limiter lets through no more
// than the limit minus the margin, and not much less.
func TestLocalStaysUnderTheLimit(t *testing.T) {
	clk := clock.NewFake(clock.WorkingDay)
	l := NewLocal(Limit{Requests: 300, Per: time.Minute, Margin: 0.02}, clk.Now)
	start := clk.Now()
	allowed := 0
	for clk.Now().Sub(start) < time.Minute {
		wait, err := l.Take(context.Background(), "k")
		if err != nil {
			t.Fatal(err)
		}
		if wait == 0 {
			allowed++
			continue
		}
		clk.Advance(wait)
	}
	if allowed > 300 || allowed < 291 {
		t.Fatalf("%d requests in one minute, want between 97%% and 100%% of 300", allowed)
	}
	if err := l.Slow(context.Background(), "k", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if wait, _ := l.Take(context.Background(), "k"); wait < 29*time.Second {
		t.Fatalf("after Slow(30s) the wait is %v", wait)
	}
	if wait, _ := l.Take(context.Background(), "other"); wait != 0 {
		t.Fatalf("another key waits %v", wait)
	}
}

// Two replicas (two limiter clients on one Redis) share one budget: within
// the first seconds of a limit of 100 per hour, only the burst passes,
// however the calls are spread over the two.
func TestRedisReplicasShareOneBudget(t *testing.T) {
	if c, err := net.DialTimeout("tcp", "127.0.0.1:6379", time.Second); err != nil {
		t.Skip("no Redis on 127.0.0.1:6379")
	} else {
		c.Close()
	}
	prefix := fmt.Sprintf("koerier-test-%d:", rand.Uint32())
	lim := Limit{Requests: 100, Per: time.Hour, Margin: 0.1}
	var replicas []*Redis
	for range 2 {
		c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
		t.Cleanup(func() { c.Close() })
		replicas = append(replicas, NewRedis(c, prefix, lim))
	}
	_, burst := lim.gcra()
	allowed := [2]int{}
	for i := range 200 {
		wait, err := replicas[i%2].Take(context.Background(), "svc")
		if err != nil {
			t.Fatal(err)
		}
		if wait == 0 {
			allowed[i%2]++
		}
	}
	// One emission interval is 36 s at this rate: the test is over long
	// before a second token is due.
	if total := allowed[0] + allowed[1]; total != burst {
		t.Fatalf("replicas let %v through, %d together, want exactly the burst %d", allowed, total, burst)
	}
	if allowed[0] == 0 || allowed[1] == 0 {
		t.Fatalf("one replica got nothing: %v", allowed)
	}
	// A 429 seen by one replica pauses the key for the other too.
	if err := replicas[0].Slow(context.Background(), "svc2", time.Minute); err != nil {
		t.Fatal(err)
	}
	if wait, err := replicas[1].Take(context.Background(), "svc2"); err != nil || wait < 50*time.Second {
		t.Fatalf("other replica waits %v (%v) after a Slow(1m)", wait, err)
	}
}
