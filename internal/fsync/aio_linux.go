//go:build linux

package fsync

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel's asynchronous I/O interface (linux/aio_abi.h).
const (
	iocbCmdFsync  = 2
	iocbFlagResFD = 1 // signal completion on the eventfd in resfd
)

// iocb is struct iocb. aio_key and aio_rw_flags trade places on big-endian
// machines; both are zero here, so one layout serves all.
type iocb struct {
	data   uint64 // aio_data, returned in the completion
	_      uint32 // aio_key
	_      uint32 // aio_rw_flags
	opcode uint16
	_      int16 // aio_reqprio
	fildes uint32
	_      uint64 // aio_buf
	_      uint64 // aio_nbytes
	_      int64  // aio_offset
	_      uint64 // aio_reserved2
	flags  uint32
	resfd  uint32
}

// ioEvent is struct io_event.
type ioEvent struct {
	data uint64
	_    uint64 // obj
	res  int64
	_    int64 // res2
}

// aio is one kernel context with an eventfd for its completions. It runs
// one flush at a time (the Syncer's lock).
type aio struct {
	ctx  uint64   // aio_context_t
	done *os.File // the eventfd, non-blocking, so read through the poller
	efd  int      // done's descriptor, owned by done

	// Counts, for tests (the Syncer's lock orders the writes).
	submitted, reaped, fallbacks atomic.Uint64
}

// newAIO sets up a context for one request at a time.
func newAIO() (*aio, error) {
	var ctx uint64
	if _, _, e := unix.Syscall(unix.SYS_IO_SETUP, 1, uintptr(unsafe.Pointer(&ctx)), 0); e != 0 {
		return nil, fmt.Errorf("io_setup: %w", e)
	}
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		_, _, _ = unix.Syscall(unix.SYS_IO_DESTROY, uintptr(ctx), 0, 0)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	return &aio{ctx: ctx, done: os.NewFile(uintptr(efd), "fsync-completions"), efd: efd}, nil
}

// fsync submits an fsync of f and parks until the kernel reports it done.
// When the kernel refuses the request (a file system without asynchronous
// flushes, say) it flushes directly. broken reports that the context must
// not be used again: a request went in but its completion was not seen.
func (a *aio) fsync(f *os.File) (broken bool, err error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	seq := a.submitted.Load() + 1
	var submitErr error
	if err := rc.Control(func(fd uintptr) {
		cb := iocb{data: seq, opcode: iocbCmdFsync, fildes: uint32(fd), flags: iocbFlagResFD, resfd: uint32(a.efd)}
		cbs := [1]*iocb{&cb}
		_, _, e := unix.Syscall(unix.SYS_IO_SUBMIT, uintptr(a.ctx), 1, uintptr(unsafe.Pointer(&cbs[0])))
		if e != 0 {
			submitErr = e
		}
	}); err != nil {
		return false, err // f is closed
	}
	if submitErr != nil {
		a.fallbacks.Add(1)
		return false, f.Sync()
	}
	a.submitted.Store(seq)
	if err := a.wait(seq, f.Name()); err != nil {
		return true, err
	}
	a.reaped.Add(1)
	return false, nil
}

// wait reaps the completion of request seq, the one in flight. The
// eventfd is only a hint that it may be there: a count left from an
// earlier completion costs another look, never a wrong answer.
func (a *aio) wait(seq uint64, name string) error {
	var ev ioEvent
	var count [8]byte
	for {
		ts := unix.Timespec{}
		n, _, e := unix.Syscall6(unix.SYS_IO_GETEVENTS, uintptr(a.ctx), 1, 1, uintptr(unsafe.Pointer(&ev)), uintptr(unsafe.Pointer(&ts)), 0)
		switch {
		case e == unix.EINTR:
			continue
		case e != 0:
			return fmt.Errorf("io_getevents: %w", e)
		case n == 1 && ev.data != seq:
			return fmt.Errorf("fsync of %s: completion of request %d while waiting for %d", name, ev.data, seq)
		case n == 1 && ev.res < 0:
			return &os.PathError{Op: "fsync", Path: name, Err: unix.Errno(-ev.res)}
		case n == 1:
			return nil
		}
		if _, err := io.ReadFull(a.done, count[:]); err != nil {
			return fmt.Errorf("waiting for fsync of %s: %w", name, err)
		}
	}
}

// close destroys the context and closes the eventfd.
func (a *aio) close() error {
	var err error
	if _, _, e := unix.Syscall(unix.SYS_IO_DESTROY, uintptr(a.ctx), 0, 0); e != 0 {
		err = fmt.Errorf("io_destroy: %w", e)
	}
	return errors.Join(err, a.done.Close())
}
