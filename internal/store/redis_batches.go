package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Batches on Redis: an item is a hash (bucket, payload, batch) under
// batch:item:<id>; an open bucket is a list of item ids; a sealed batch is
// a hash of its facts plus a list of its item ids; every batch is in the
// sorted set batch:all. Each step is one Lua script, so that the fence
// check and the writes are atomic for every replica. The scripts build key
// names from the prefix, which ties them to one Redis node (no Cluster).

var redisEnqueue = redis.NewScript(`
local item = ARGV[1] .. 'batch:item:' .. ARGV[3]
if redis.call('EXISTS', item) == 1 then return 0 end
redis.call('HSET', item, 'bucket', ARGV[2], 'payload', ARGV[4])
redis.call('RPUSH', ARGV[1] .. 'batch:open:' .. ARGV[2], ARGV[3])
return 1
`)

var redisLock = redis.NewScript(`
local lock = ARGV[1] .. 'batch:lock:' .. ARGV[2]
if not redis.call('SET', lock, '0', 'NX', 'PX', ARGV[3]) then return 0 end
local t = redis.call('INCR', ARGV[1] .. 'batch:fence:' .. ARGV[2])
redis.call('SET', lock, t, 'PX', ARGV[3])
return t
`)

var redisUnlock = redis.NewScript(`
local lock = ARGV[1] .. 'batch:lock:' .. ARGV[2]
if redis.call('GET', lock) == ARGV[3] then redis.call('DEL', lock) end
return 0
`)

// ARGV: prefix, bucket, name prefix, max, token, sealed_at (ns), score (ms)
var redisSeal = redis.NewScript(`
local p, bucket = ARGV[1], ARGV[2]
if redis.call('GET', p .. 'batch:fence:' .. bucket) ~= ARGV[5] then return redis.error_reply('FENCED') end
local open = p .. 'batch:open:' .. bucket
local n = redis.call('LLEN', open)
local max = tonumber(ARGV[4])
if max > 0 and n > max then n = max end
if n == 0 then return '' end
local ids = redis.call('LRANGE', open, 0, n - 1)
redis.call('LTRIM', open, n, -1)
local id = ARGV[3] .. '-' .. redis.call('INCR', p .. 'batch:seq:' .. ARGV[3])
local list = p .. 'batch:items:' .. id
for _, item in ipairs(ids) do
	redis.call('HSET', p .. 'batch:item:' .. item, 'batch', id)
	redis.call('RPUSH', list, item)
end
redis.call('HSET', p .. 'batch:meta:' .. id, 'bucket', bucket, 'state', 'sealed', 'items', n, 'sealed_at', ARGV[6])
redis.call('ZADD', p .. 'batch:all', ARGV[7], id)
return id
`)

// ARGV: prefix, id, token, sent_at (ns), retention (ms)
var redisMarkSent = redis.NewScript(`
local p, id = ARGV[1], ARGV[2]
local meta = p .. 'batch:meta:' .. id
local bucket = redis.call('HGET', meta, 'bucket')
if not bucket then return redis.error_reply('NOTFOUND') end
if redis.call('GET', p .. 'batch:fence:' .. bucket) ~= ARGV[3] then return redis.error_reply('FENCED') end
redis.call('HSET', meta, 'state', 'sent', 'sent_at', ARGV[4])
local list = p .. 'batch:items:' .. id
for _, item in ipairs(redis.call('LRANGE', list, 0, -1)) do
	redis.call('PEXPIRE', p .. 'batch:item:' .. item, ARGV[5])
end
redis.call('PEXPIRE', list, ARGV[5])
redis.call('PEXPIRE', meta, ARGV[5])
return 0
`)

func redisScriptErr(err error) error {
	if err != nil && strings.Contains(err.Error(), "FENCED") {
		return ErrFenced
	}
	return err
}

// Enqueue implements Batches.
func (r *Redis) Enqueue(ctx context.Context, bucket, id string, payload []byte) (bool, error) {
	n, err := redisEnqueue.Run(ctx, r.c, nil, r.prefix, bucket, id, payload).Int()
	if err != nil {
		return false, fmt.Errorf("store: redis: enqueue: %w", err)
	}
	return n == 1, nil
}

// OpenItems implements Batches.
func (r *Redis) OpenItems(ctx context.Context, bucket string) (int, error) {
	n, err := r.c.LLen(ctx, r.prefix+"batch:open:"+bucket).Result()
	if err != nil {
		return 0, fmt.Errorf("store: redis: count open items: %w", err)
	}
	return int(n), nil
}

// Lock implements Batches. The lock expires by the Redis server's clock.
func (r *Redis) Lock(ctx context.Context, bucket string, ttl time.Duration) (int64, bool, error) {
	if ttl <= 0 {
		return 0, false, errors.New("store: redis: lock bucket: the ttl must be positive")
	}
	t, err := redisLock.Run(ctx, r.c, nil, r.prefix, bucket, max(ttl.Milliseconds(), 1)).Int64()
	if err != nil {
		return 0, false, fmt.Errorf("store: redis: lock bucket: %w", err)
	}
	return t, t > 0, nil
}

// Unlock implements Batches.
func (r *Redis) Unlock(ctx context.Context, bucket string, token int64) error {
	if err := redisUnlock.Run(ctx, r.c, nil, r.prefix, bucket, token).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("store: redis: unlock bucket: %w", err)
	}
	return nil
}

// Seal implements Batches.
func (r *Redis) Seal(ctx context.Context, bucket, namePrefix string, max int, token int64) (Batch, error) {
	now := r.now().UTC()
	id, err := redisSeal.Run(ctx, r.c, nil, r.prefix, bucket, namePrefix, max, token, now.UnixNano(), now.UnixMilli()).Text()
	if err != nil {
		return Batch{}, fmt.Errorf("store: redis: seal %s: %w", bucket, redisScriptErr(err))
	}
	if id == "" {
		return Batch{}, nil
	}
	b, _, ok, err := r.batchMeta(ctx, id)
	if err != nil || !ok {
		return Batch{}, fmt.Errorf("store: redis: seal %s: read back batch %s: %v", bucket, id, err)
	}
	return b, nil
}

// MarkSent implements Batches. A sent batch and its items expire after the
// ledger retention.
func (r *Redis) MarkSent(ctx context.Context, id string, token int64) error {
	err := redisMarkSent.Run(ctx, r.c, nil, r.prefix, id, token, r.now().UTC().UnixNano(), r.retention.Milliseconds()).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("store: redis: mark batch %s sent: %w", id, redisScriptErr(err))
	}
	return nil
}

func (r *Redis) batchMeta(ctx context.Context, id string) (Batch, []string, bool, error) {
	m, err := r.c.HGetAll(ctx, r.prefix+"batch:meta:"+id).Result()
	if err != nil {
		return Batch{}, nil, false, err
	}
	if len(m) == 0 {
		return Batch{}, nil, false, nil
	}
	b := Batch{ID: id, Bucket: m["bucket"], State: m["state"]}
	b.Items, _ = strconv.Atoi(m["items"])
	if ns, err := strconv.ParseInt(m["sealed_at"], 10, 64); err == nil {
		b.SealedAt = time.Unix(0, ns).UTC()
	}
	if ns, err := strconv.ParseInt(m["sent_at"], 10, 64); err == nil {
		b.SentAt = time.Unix(0, ns).UTC()
	}
	return b, nil, true, nil
}

// Batch implements Batches.
func (r *Redis) Batch(ctx context.Context, id string) (Batch, []BatchItem, bool, error) {
	b, _, ok, err := r.batchMeta(ctx, id)
	if err != nil || !ok {
		if err != nil {
			err = fmt.Errorf("store: redis: read batch: %w", err)
		}
		return Batch{}, nil, false, err
	}
	ids, err := r.c.LRange(ctx, r.prefix+"batch:items:"+id, 0, -1).Result()
	if err != nil {
		return Batch{}, nil, false, fmt.Errorf("store: redis: read batch items: %w", err)
	}
	cmds := make([]*redis.StringCmd, len(ids))
	_, err = r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, it := range ids {
			cmds[i] = p.HGet(ctx, r.prefix+"batch:item:"+it, "payload")
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return Batch{}, nil, false, fmt.Errorf("store: redis: read batch items: %w", err)
	}
	items := make([]BatchItem, 0, len(ids))
	for i, it := range ids {
		payload, err := cmds[i].Bytes()
		if err != nil {
			return Batch{}, nil, false, fmt.Errorf("store: redis: read batch item %s: %w", it, err)
		}
		items = append(items, BatchItem{ID: it, Payload: payload})
	}
	return b, items, true, nil
}

// ListBatches implements Batches.
func (r *Redis) ListBatches(ctx context.Context, bucket, state string) ([]Batch, error) {
	ids, err := r.c.ZRange(ctx, r.prefix+"batch:all", 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("store: redis: list batches: %w", err)
	}
	var out []Batch
	for _, id := range ids {
		b, _, ok, err := r.batchMeta(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("store: redis: list batches: %w", err)
		}
		if !ok {
			// Expired after the retention: forget it here too.
			r.c.ZRem(ctx, r.prefix+"batch:all", id)
			continue
		}
		if (bucket == "" || b.Bucket == bucket) && (state == "" || b.State == state) {
			out = append(out, b)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].SealedAt.Equal(out[j].SealedAt) {
			return out[i].SealedAt.Before(out[j].SealedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}
