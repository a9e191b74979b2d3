// Package consent holds a visitor's consent state and its signed cookie
// encoding. The cookie is the only thing read on the hot path: verifying it
// costs one HMAC, no store lookup.
package consent

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/kelisim/kelisim/catalog"
)

// CookieName is the name of the consent cookie.
const CookieName = "kelisim"

// State is what a visitor decided, as carried by the cookie.
type State struct {
	// ID identifies the visitor's consent history (128 random bits, hex).
	ID string
	// Granted are the optional categories consented to.
	Granted catalog.Set
	// Issued is when the decision was made.
	Issued time.Time
	// Policy is a hash of the policy version the decision was made under.
	Policy string
	// Lists is a hash of the processor lists of the granted categories.
	Lists string
	// GPC records that the browser sent Global Privacy Control.
	GPC bool
}

// NewID returns a fresh random consent ID.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

// PolicyHash shortens a policy version string for the cookie.
func PolicyHash(version string) string {
	s := sha256.Sum256([]byte(version))
	return hex.EncodeToString(s[:4])
}

// Codec signs and verifies consent cookies with an HMAC key.
type Codec struct{ key []byte }

// NewCodec returns a codec for secret, which should hold at least 32
// random bytes. Every gateway sharing visitors must use the same secret.
func NewCodec(secret []byte) (*Codec, error) {
	if len(secret) < 16 {
		return nil, errors.New("consent secret too short: want at least 16 bytes")
	}
	k := sha256.Sum256(append([]byte("kelisim consent cookie v1\x00"), secret...))
	return &Codec{key: k[:]}, nil
}

const version = "1"

// Encode returns the signed cookie value for s.
func (c *Codec) Encode(s State) string {
	var b strings.Builder
	b.WriteString(version)
	b.WriteByte('.')
	b.WriteString(s.ID)
	b.WriteByte('.')
	flags := int(s.Granted)
	if s.GPC {
		flags |= 8
	}
	b.WriteString(strconv.Itoa(flags))
	b.WriteByte('.')
	b.WriteString(strconv.FormatInt(s.Issued.Unix(), 36))
	b.WriteByte('.')
	b.WriteString(s.Policy)
	b.WriteByte('.')
	b.WriteString(s.Lists)
	payload := b.String()
	return payload + "." + c.sign(payload)
}

func (c *Codec) sign(payload string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// Errors returned by Decode.
var (
	ErrMalformed = errors.New("malformed consent cookie")
	ErrSignature = errors.New("consent cookie signature does not verify")
)

// Decode verifies v and returns the state it carries.
func (c *Codec) Decode(v string) (State, error) {
	if len(v) > 256 {
		return State{}, ErrMalformed
	}
	i := strings.LastIndexByte(v, '.')
	if i < 0 {
		return State{}, ErrMalformed
	}
	payload, sig := v[:i], v[i+1:]
	if !hmac.Equal([]byte(sig), []byte(c.sign(payload))) {
		return State{}, ErrSignature
	}
	f := strings.Split(payload, ".")
	if len(f) != 6 || f[0] != version || len(f[1]) != 32 {
		return State{}, ErrMalformed
	}
	flags, err := strconv.Atoi(f[2])
	if err != nil || flags < 0 || flags > 15 {
		return State{}, ErrMalformed
	}
	issued, err := strconv.ParseInt(f[3], 36, 64)
	if err != nil {
		return State{}, ErrMalformed
	}
	return State{
		ID:      f[1],
		Granted: catalog.Set(flags & 7),
		GPC:     flags&8 != 0,
		Issued:  time.Unix(issued, 0),
		Policy:  f[4],
		Lists:   f[5],
	}, nil
}
