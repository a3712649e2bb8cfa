//go:build !linux

package load

import "syscall"

// RaiseFileLimit is a no-op outside Linux; it reports a limit of zero.
func RaiseFileLimit() (uint64, error) { return 0, nil }

// bindNoPort does nothing outside Linux.
func bindNoPort(_, _ string, _ syscall.RawConn) error { return nil }
