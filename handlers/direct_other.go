//go:build !unix

package handlers

import "net"

// newDirect returns nil: direct writes are for Unix systems only, and the
// connection's writer sends everything.
func newDirect(net.Conn) func([][]byte) ([]byte, bool) { return nil }
