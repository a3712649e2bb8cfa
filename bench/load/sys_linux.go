//go:build linux

package load

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// RaiseFileLimit lifts the soft RLIMIT_NOFILE to the hard limit and returns
// the new soft limit: each connection is one open file.
func RaiseFileLimit() (uint64, error) {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &r); err != nil {
		return 0, err
	}
	r.Cur = r.Max
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &r); err != nil {
		return 0, err
	}
	return r.Cur, nil
}

// bindNoPort asks the kernel to choose the source port at connect time rather
// than at bind time, so that a socket bound to a source address can reuse a
// port by the whole 4-tuple (and past TIME_WAIT on loopback).
func bindNoPort(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	}); err != nil {
		return err
	}
	return serr
}

// pollers says whether connections are read by pollers (poll_linux.go).
const pollers = true
