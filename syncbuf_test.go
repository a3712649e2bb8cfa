package main

import (
	"bytes"
	"errors"
	"sync"

	"github.com/gorilla/websocket"
)

// syncBuffer collects a server's log output safely across goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func asCloseError(err error, target **websocket.CloseError) bool {
	return errors.As(err, target)
}
