package store

import (
	"errors"
	"fmt"
)

// ErrLocked is matched (errors.Is) by a LockedError.
var ErrLocked = errors.New("locked by another process")

// LockedError says that a file this gateway needs for itself is held by
// another process — most often a second gateway on the same host with
// the same data directory — and what to do about it.
type LockedError struct {
	Path   string
	Holder string // "pid 1234 (caddy run …)", or "" when the system does not say
}

func (e *LockedError) Error() string {
	by := "another process"
	if e.Holder != "" {
		by = e.Holder
	}
	return fmt.Sprintf("%s is locked by %s: two gateways on one host need their own store file "+
		"(the global option `consent { store embedded <path> }`, or a data directory per instance "+
		"via XDG_DATA_HOME), or one shared Valkey", e.Path, by)
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }
