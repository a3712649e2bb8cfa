package store

// Test hooks, compiled only into this package's tests.

// QueueLen reports how many messages wait in w's queue.
func QueueLen(w *Writer) int { return len(w.queue) }

// Stopping returns the channel that Close closes first.
func Stopping(w *Writer) <-chan struct{} { return w.stop }
