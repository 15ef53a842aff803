package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"runtime"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: OWASP's password storage cheat sheet minimum for
// argon2id (19 MiB, 2 iterations, 1 lane). They are written into every hash,
// so raising them later leaves old hashes verifiable.
const (
	argonMemoryKiB  = 19 * 1024
	argonIterations = 2
	argonLanes      = 1
	argonKeyBytes   = 32
	argonSaltBytes  = 16
)

// HashWait is how long a request waits for a password-hashing slot before
// it gives up with ErrRateLimited (a 429 with Retry-After): long enough to
// ride out a burst of legitimate sign-ins (one argon2id takes tens of
// milliseconds), short enough that a flood of guesses queues no work and
// holds no memory.
const HashWait = time.Second

// Hashing bounds how many argon2id computations run at once. Each holds
// argonMemoryKiB (19 MiB) while it runs and keeps a core busy, so without a
// bound every unauthenticated guess in flight adds 19 MiB: 100 concurrent
// bad sign-ins once added 1.4 GB of RSS. With one slot per CPU, hashing
// memory stays under NumCPU × 19 MiB however many requests arrive, and
// throughput is what it was (the CPUs were the limit anyway).
type Hashing struct {
	slots chan struct{}
	wait  time.Duration
}

// NewHashing returns a bound of slots concurrent hashes; a caller waits at
// most wait for a slot.
func NewHashing(slots int, wait time.Duration) *Hashing {
	return &Hashing{slots: make(chan struct{}, max(slots, 1)), wait: wait}
}

// defaultHashing is the process-wide bound every Service shares unless it
// has its own: one slot per CPU.
var defaultHashing = NewHashing(runtime.NumCPU(), HashWait)

// Acquire takes a slot, waiting at most the Hashing's wait; call release
// when the hash is done. Errors: ErrRateLimited (no slot in time; RetryAfter
// is the wait), the context's error.
func (h *Hashing) Acquire(ctx context.Context) (release func(), err error) {
	select {
	case h.slots <- struct{}{}:
		return h.release, nil
	default:
	}
	timer := time.NewTimer(h.wait)
	defer timer.Stop()
	select {
	case h.slots <- struct{}{}:
		return h.release, nil
	case <-timer.C:
		return nil, &Error{Kind: KindRateLimited, Reason: "the server is busy checking passwords: try again shortly", RetryAfter: max(h.wait, time.Second)}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (h *Hashing) release() { <-h.slots }

// hashing is the Service's bound on concurrent argon2id work.
func (s *Service) hashing() *Hashing {
	if s.Hashing != nil {
		return s.Hashing
	}
	return defaultHashing
}

// hash is hashSecret inside a hashing slot: every hash on a request path
// goes through it. Errors: ErrRateLimited, the context's error.
func (s *Service) hash(ctx context.Context, secret string) (string, error) {
	release, err := s.hashing().Acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return hashSecret(secret), nil
}

// hashSecret hashes a password or key secret with argon2id, in the PHC
// string format. On a request path use Service.hash (a hashing slot).
func hashSecret(secret string) string {
	salt := make([]byte, argonSaltBytes)
	if _, err := rand.Read(salt); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	key := argon2.IDKey([]byte(secret), salt, argonIterations, argonMemoryKiB, argonLanes, argonKeyBytes)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonIterations, argonLanes,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// verifySecret reports whether secret matches a hashSecret hash. A malformed
// hash never matches. On a request path it runs in a hashing slot
// (checkPassword).
func verifySecret(encoded, secret string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var memory, iterations uint32
	var lanes uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &iterations, &lanes); err != nil {
		return false
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(secret), salt, iterations, memory, lanes, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is verified against when the principal does not exist, so an
// unknown name costs the same time as a wrong password.
var dummyHash = hashSecret("payrun-no-such-principal")

// randomToken returns n random bytes, URL-safe base64.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// temporaryPasswordAlphabet leaves out look-alike characters (0/O, 1/l/I).
const temporaryPasswordAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"

// newTemporaryPassword returns a 20-character random password (about 116
// bits), shown once.
func newTemporaryPassword() string {
	// Rejection sampling: bytes at or above the largest multiple of the
	// alphabet's size are dropped, so every character is equally likely.
	limit := 256 - 256%len(temporaryPasswordAlphabet)
	out := make([]byte, 0, 20)
	b := make([]byte, 32)
	for len(out) < 20 {
		if _, err := rand.Read(b); err != nil {
			panic(err)
		}
		for _, c := range b {
			if int(c) < limit && len(out) < 20 {
				out = append(out, temporaryPasswordAlphabet[int(c)%len(temporaryPasswordAlphabet)])
			}
		}
	}
	return string(out)
}

// tokenHash is how bearer tokens, invitation and reset tokens are stored:
// sha256, enough for 256-bit random values.
func tokenHash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
