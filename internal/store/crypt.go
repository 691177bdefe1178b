package store

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DataKeySize is the length of a data key: AES-256.
const DataKeySize = 32

// sealMagic starts every encrypted cache value. A value without it was
// written before encryption was configured; it is read as it is and
// encrypted by the next Set or by Rekey.
var sealMagic = []byte("\x00kv1")

// ParseDataKey decodes a data key given as 64 hex digits or as standard or
// URL-safe base64 (with or without padding) of 32 bytes.
func ParseDataKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("the data key is empty")
	}
	if len(s) == 2*DataKeySize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != DataKeySize {
				return nil, fmt.Errorf("the data key decodes to %d bytes, want %d (generate one with: openssl rand -base64 32)", len(b), DataKeySize)
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("the data key is neither 64 hex digits nor base64 of %d bytes (generate one with: openssl rand -base64 32)", DataKeySize)
}

// LoadOrCreateKeyFile reads the data key in path, or creates the file with
// a new random key (mode 0600) when it does not exist. created says which.
// It is the embedded default's answer to a missing store.data_key: the store
// works out of the box, but the key lies next to the data it protects.
func LoadOrCreateKeyFile(path string) (key []byte, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := ParseDataKey(string(b))
		if err != nil {
			return nil, false, fmt.Errorf("data key file %s: %w", path, err)
		}
		return k, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("data key file: %w", err)
	}
	k := make([]byte, DataKeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, false, fmt.Errorf("data key file: %w", err)
	}
	// Written to a temporary file and linked into place: two processes
	// starting at once must not each write a key, and neither may read a
	// half-written file.
	dir, name := filepath.Split(path)
	f, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return nil, false, fmt.Errorf("data key file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
	if err := errors.Join(werr, f.Chmod(0o600), f.Sync(), f.Close()); err != nil {
		return nil, false, fmt.Errorf("data key file %s: %w", path, err)
	}
	if err := os.Link(tmp, path); errors.Is(err, fs.ErrExist) {
		return LoadOrCreateKeyFile(path)
	} else if err != nil {
		return nil, false, fmt.Errorf("data key file: %w", err)
	}
	return k, true, nil
}

// sealer encrypts and decrypts cache values with AES-256-GCM. The record's
// key is the associated data, so a value copied to another key does not
// decrypt. The plaintext starts with the time it was written (unix
// nanoseconds, 8 bytes), which lets retention find old entries without a
// schema change.
type sealer struct {
	cur  cipher.AEAD
	prev cipher.AEAD // may be nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != DataKeySize {
		return nil, fmt.Errorf("the data key has %d bytes, want %d", len(key), DataKeySize)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func newSealer(key, previous []byte) (*sealer, error) {
	cur, err := newAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("store.data_key: %w", err)
	}
	s := &sealer{cur: cur}
	if len(previous) > 0 {
		if s.prev, err = newAEAD(previous); err != nil {
			return nil, fmt.Errorf("store.data_key_previous: %w", err)
		}
	}
	return s, nil
}

func (s *sealer) seal(key string, val []byte, at time.Time) ([]byte, error) {
	nonce := make([]byte, s.cur.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	plain := make([]byte, 8, 8+len(val))
	binary.BigEndian.PutUint64(plain, uint64(at.UnixNano()))
	plain = append(plain, val...)
	out := make([]byte, 0, len(sealMagic)+len(nonce)+len(plain)+s.cur.Overhead())
	out = append(out, sealMagic...)
	out = append(out, nonce...)
	return s.cur.Seal(out, nonce, plain, []byte(key)), nil
}

// errNotSealed marks a value written before encryption was configured.
var errNotSealed = errors.New("not encrypted")

// open returns the value, when it was written, and whether it was sealed
// under the previous key (so Rekey knows what to rewrite).
func (s *sealer) open(key string, b []byte) (val []byte, at time.Time, old bool, err error) {
	if !bytes.HasPrefix(b, sealMagic) {
		return b, time.Time{}, true, errNotSealed
	}
	b = b[len(sealMagic):]
	ns := s.cur.NonceSize()
	if len(b) < ns {
		return nil, time.Time{}, false, errors.New("encrypted value too short")
	}
	plain, err := s.cur.Open(nil, b[:ns], b[ns:], []byte(key))
	if err != nil && s.prev != nil {
		plain, err = s.prev.Open(nil, b[:ns], b[ns:], []byte(key))
		old = true
	}
	if err != nil || len(plain) < 8 {
		return nil, time.Time{}, false, fmt.Errorf("cannot decrypt the value of %q with store.data_key or store.data_key_previous", key)
	}
	at = time.Unix(0, int64(binary.BigEndian.Uint64(plain[:8]))).UTC()
	return plain[8:], at, old, nil
}

// CacheEntry is one raw cache entry as a backend holds it, for Rekey and
// retention. TTL is the remaining time to live; 0 means no expiry.
type CacheEntry struct {
	Key   string
	Value []byte
	TTL   time.Duration
}

// CacheScanner is implemented by both backends: it lists the raw cache
// entries whose key starts with prefix ("" for all).
type CacheScanner interface {
	ScanCache(ctx context.Context, prefix string, fn func(CacheEntry) error) error
}

// Encrypted is a Store whose cache values are encrypted at rest. Claims and
// the ledger pass through unchanged: claim keys are ids and hashes, and the
// ledger holds keyed hashes (SubjectRef, ZaakRef) instead of identifiers.
type Encrypted struct {
	Store
	s   *sealer
	now func() time.Time
}

// Encrypt wraps st so that every cache value is sealed with AES-256-GCM
// under key (32 bytes), with the cache key as associated data. previous,
// when set, is an older key that values may still be sealed under: they
// are read, and rewritten under key by the next Set or by Rekey.
func Encrypt(st Store, key, previous []byte, now func() time.Time) (*Encrypted, error) {
	s, err := newSealer(key, previous)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Encrypted{Store: st, s: s, now: now}, nil
}

// Unwrap returns the backend under the encryption.
func (e *Encrypted) Unwrap() Store { return e.Store }

// Get implements Cache.
func (e *Encrypted) Get(ctx context.Context, key string) ([]byte, bool, error) {
	b, ok, err := e.Store.Get(ctx, key)
	if err != nil || !ok {
		return b, ok, err
	}
	val, _, _, err := e.s.open(key, b)
	if errors.Is(err, errNotSealed) {
		return b, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: %w", err)
	}
	return val, true, nil
}

// Set implements Cache.
func (e *Encrypted) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	b, err := e.s.seal(key, val, e.now())
	if err != nil {
		return fmt.Errorf("store: encrypt %q: %w", key, err)
	}
	return e.Store.Set(ctx, key, b, ttl)
}

// RekeyStats says what Rekey did.
type RekeyStats struct {
	Scanned, Rewritten int
}

// Rekey rewrites every cache entry that is not sealed under the current key
// (sealed under the previous key, or written before encryption) under the
// current key, keeping its remaining time to live. Run it after moving the
// old key to store.data_key_previous; once it reports nothing left to
// rewrite, the previous key can be dropped.
func (e *Encrypted) Rekey(ctx context.Context) (RekeyStats, error) {
	var st RekeyStats
	sc, ok := e.Store.(CacheScanner)
	if !ok {
		return st, fmt.Errorf("store: the %T backend cannot list its cache", e.Store)
	}
	err := sc.ScanCache(ctx, "", func(ce CacheEntry) error {
		st.Scanned++
		val, at, old, err := e.s.open(ce.Key, ce.Value)
		if err != nil && !errors.Is(err, errNotSealed) {
			return err
		}
		if !old {
			return nil
		}
		if at.IsZero() {
			at = e.now()
		}
		b, err := e.s.seal(ce.Key, val, at)
		if err != nil {
			return err
		}
		if err := e.Store.Set(ctx, ce.Key, b, ce.TTL); err != nil {
			return err
		}
		st.Rewritten++
		return nil
	})
	return st, err
}

// DeleteWrittenBefore deletes the cache entries under prefix that were
// written before cutoff, using the write time sealed into each value
// (entries written before encryption have none and are kept). It is how
// retention reaches cache data such as taak state and done markers.
func (e *Encrypted) DeleteWrittenBefore(ctx context.Context, prefix string, cutoff time.Time) (int, error) {
	sc, ok := e.Store.(CacheScanner)
	if !ok {
		return 0, fmt.Errorf("store: the %T backend cannot list its cache", e.Store)
	}
	var keys []string
	err := sc.ScanCache(ctx, prefix, func(ce CacheEntry) error {
		_, at, _, err := e.s.open(ce.Key, ce.Value)
		if err == nil && at.Before(cutoff) {
			keys = append(keys, ce.Key)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := e.Store.Delete(ctx, k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// Sealer encrypts data Koerier keeps outside the store under the same data
// key (bus payloads): AES-256-GCM with ad as associated data. Open passes
// data that was never sealed through unchanged, so messages published
// before encryption was configured are still read.
type Sealer struct {
	s   *sealer
	now func() time.Time
}

// NewSealer builds a Sealer on key and, for reading, previous.
func NewSealer(key, previous []byte) (*Sealer, error) {
	s, err := newSealer(key, previous)
	if err != nil {
		return nil, err
	}
	return &Sealer{s: s, now: time.Now}, nil
}

// Sealer returns a Sealer under the store's data key.
func (e *Encrypted) Sealer() *Sealer { return &Sealer{s: e.s, now: e.now} }

// Seal encrypts val with ad as associated data.
func (s *Sealer) Seal(ad string, val []byte) ([]byte, error) { return s.s.seal(ad, val, s.now()) }

// Open decrypts b sealed with ad; b that was never sealed is returned as
// it is.
func (s *Sealer) Open(ad string, b []byte) ([]byte, error) {
	val, _, _, err := s.s.open(ad, b)
	if errors.Is(err, errNotSealed) {
		return b, nil
	}
	return val, err
}

// batchItemAD is the associated data of a batch item: an item sealed for
// one id cannot be passed off as another.
func batchItemAD(id string) string { return "batch-item:" + id }

// Enqueue implements Batches: a waiting letter or Berichtenbox message holds
// the recipient's address, so its payload is sealed like a cache value.
func (e *Encrypted) Enqueue(ctx context.Context, bucket, id string, payload []byte) (bool, error) {
	b, err := e.s.seal(batchItemAD(id), payload, e.now())
	if err != nil {
		return false, fmt.Errorf("store: encrypt batch item %q: %w", id, err)
	}
	return e.Store.Enqueue(ctx, bucket, id, b)
}

// Batch implements Batches, opening the sealed payloads.
func (e *Encrypted) Batch(ctx context.Context, id string) (Batch, []BatchItem, bool, error) {
	b, items, ok, err := e.Store.Batch(ctx, id)
	if err != nil || !ok {
		return b, items, ok, err
	}
	for i := range items {
		val, _, _, err := e.s.open(batchItemAD(items[i].ID), items[i].Payload)
		switch {
		case errors.Is(err, errNotSealed):
			// Enqueued before encryption: as it is.
		case err != nil:
			return Batch{}, nil, false, fmt.Errorf("store: batch %s item %s: %w", id, items[i].ID, err)
		default:
			items[i].Payload = val
		}
	}
	return b, items, ok, nil
}
