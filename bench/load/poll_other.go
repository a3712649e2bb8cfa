//go:build !linux

package load

import (
	"errors"
	"net"
)

// pollers says whether connections are read by pollers: outside Linux each
// connection has a reading goroutine.
const pollers = false

// poller exists only on Linux (poll_linux.go).
type poller struct{}

func newPoller() (*poller, error)    { return nil, errors.New("no poller outside Linux") }
func socketFD(net.Conn) (int, bool)  { return 0, false }
func (*poller) add(*Conn, int) error { return errors.New("no poller outside Linux") }
func (*poller) detach(*Conn)         {}
func (*poller) close()               {}
