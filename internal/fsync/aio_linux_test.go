package fsync

import (
	"testing"
	"unsafe"
)

// TestKernelLayouts: the structures handed to the kernel have its sizes
// and, for the fields set or read, its offsets (linux/aio_abi.h): a field
// out of place can turn the request into another one that succeeds.
func TestKernelLayouts(t *testing.T) {
	var cb iocb
	var ev ioEvent
	for _, c := range []struct {
		what      string
		got, want uintptr
	}{
		{"sizeof(struct iocb)", unsafe.Sizeof(cb), 64},
		{"iocb.aio_data", unsafe.Offsetof(cb.data), 0},
		{"iocb.aio_lio_opcode", unsafe.Offsetof(cb.opcode), 16},
		{"iocb.aio_fildes", unsafe.Offsetof(cb.fildes), 20},
		{"iocb.aio_flags", unsafe.Offsetof(cb.flags), 56},
		{"iocb.aio_resfd", unsafe.Offsetof(cb.resfd), 60},
		{"sizeof(struct io_event)", unsafe.Sizeof(ev), 32},
		{"io_event.data", unsafe.Offsetof(ev.data), 0},
		{"io_event.res", unsafe.Offsetof(ev.res), 16},
	} {
		if c.got != c.want {
			t.Errorf("%s is %d, the kernel's %d", c.what, c.got, c.want)
		}
	}
}
