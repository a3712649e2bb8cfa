package fsync

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func tempFile(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestSync: flushes of written files succeed, asynchronously on Linux,
// from many goroutines at once, and directly after Close.
func TestSync(t *testing.T) {
	s := New()
	if runtime.GOOS == "linux" && !s.Async() {
		t.Fatal("no asynchronous flush on Linux")
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*5)
	for range 8 {
		f := tempFile(t)
		wg.Go(func() {
			for i := range 5 {
				if _, err := f.WriteString("line\n"); err != nil {
					errs <- err
					return
				}
				if err := s.Sync(f); err != nil {
					errs <- err
					return
				}
				if fi, err := f.Stat(); err != nil {
					errs <- err
				} else if fi.Size() != int64(5*(i+1)) {
					errs <- fmt.Errorf("%s is %d bytes after %d lines", f.Name(), fi.Size(), i+1)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if a := s.async; a != nil {
		// Every flush of a regular file went through the kernel context
		// and was waited for.
		if sub, reaped, fb := a.submitted.Load(), a.reaped.Load(), a.fallbacks.Load(); sub != 40 || reaped != 40 || fb != 0 {
			t.Fatalf("%d submitted, %d reaped, %d flushed directly; want 40, 40, 0", sub, reaped, fb)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s.Async() {
		t.Fatal("still asynchronous after Close")
	}
	if err := s.Sync(tempFile(t)); err != nil {
		t.Fatalf("after Close: %v", err)
	}
}

// TestSyncClosedFile: a file that is closed is an error, not a hang.
func TestSyncClosedFile(t *testing.T) {
	s := New()
	defer s.Close()
	f := tempFile(t)
	f.Close()
	if err := s.Sync(f); err == nil {
		t.Fatal("a closed file synced")
	}
	// The Syncer still works afterwards.
	if err := s.Sync(tempFile(t)); err != nil {
		t.Fatal(err)
	}
}

// TestSyncPipe: a file that cannot be flushed is an error, and the Syncer
// still works afterwards.
func TestSyncPipe(t *testing.T) {
	s := New()
	defer s.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	// A pipe cannot be flushed: fsync reports EINVAL, whichever way.
	if err := s.Sync(w); err == nil {
		t.Fatal("a pipe synced")
	}
	if err := s.Sync(tempFile(t)); err != nil {
		t.Fatal(err)
	}
}
