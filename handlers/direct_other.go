//go:build !unix

package handlers

import (
	"net"
	"syscall"
)

// rawConn returns nil: direct writes are for Unix systems only.
func rawConn(net.Conn) syscall.RawConn { return nil }

func writeDirect(syscall.RawConn, [][]byte) ([]byte, bool) { return nil, false }
