//go:build !linux

package fsync

import (
	"errors"
	"os"
)

// aio exists only on Linux; elsewhere every Syncer flushes directly.
type aio struct{}

func newAIO() (*aio, error)                 { return nil, errors.New("no asynchronous flush on this system") }
func (*aio) fsync(f *os.File) (bool, error) { return false, f.Sync() }
func (*aio) close() error                   { return nil }
