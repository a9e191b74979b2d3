//go:build !unix

package store

import "os"

// lockFile opens path; systems without flock get no lock (bbolt still
// locks its own file there).
func lockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
}

func lockHolder(string) string { return "" }
