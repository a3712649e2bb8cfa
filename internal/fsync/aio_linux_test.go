package fsync

import (
	"testing"
	"unsafe"
)

// TestKernelLayouts: the structures handed to the kernel have its sizes.
func TestKernelLayouts(t *testing.T) {
	if n := unsafe.Sizeof(iocb{}); n != 64 {
		t.Fatalf("iocb is %d bytes, the kernel's 64", n)
	}
	if n := unsafe.Sizeof(ioEvent{}); n != 32 {
		t.Fatalf("io_event is %d bytes, the kernel's 32", n)
	}
}
