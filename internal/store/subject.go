package store

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"

	"github.com/mijnservices/koerier/internal/event"
)

// subjectRefBytes is how much of the HMAC is kept: 128 bits leave no
// practical chance of two subjects colliding while keeping ledger rows short.
const subjectRefBytes = 16

// SubjectRef is the ledger's reference to a recipient: the hex HMAC-SHA256,
// truncated to 16 bytes, of kind and id (e.g. "bsn", "999993653") under key.
// The ledger can then be searched by BSN (compute the ref, look it up)
// without storing the BSN; without the key, a ref cannot be turned back into
// a BSN by trying all nine-digit numbers. The key must be secret and stable:
// a new key makes older records unfindable by subject.
func SubjectRef(key []byte, kind, id string) string {
	m := hmac.New(sha256.New, key)
	// The NUL separator keeps ("bsn", "1…") and ("bs", "n1…") apart.
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil)[:subjectRefBytes])
}

// SubjectRefOf is the ledger's reference to s: the router records it and
// `koerier trail --bsn` computes it, so both must use this one function.
// A bedrijf is keyed by KVK number and vestigingsnummer together.
func SubjectRefOf(key []byte, s event.Subject) string {
	switch {
	case s.BSN != "":
		return SubjectRef(key, "bsn", s.BSN)
	case s.KVK != "":
		return SubjectRef(key, "kvk", s.KVK+"/"+s.Vestigingsnummer)
	case s.RSIN != "":
		return SubjectRef(key, "rsin", s.RSIN)
	case s.PartijURL != "":
		return SubjectRef(key, "partij", s.PartijURL)
	}
	return ""
}
