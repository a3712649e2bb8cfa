package cluster

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/internal/testsvc"
)

// failPipelines makes the next n pipelines of a client fail.
type failPipelines struct{ n atomic.Int32 }

func (h *failPipelines) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *failPipelines) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return next
}
func (h *failPipelines) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if h.n.Add(-1) >= 0 {
			return errors.New("injected pipeline failure")
		}
		return next(ctx, cmds)
	}
}

// TestResyncRetriedAfterAFailure: when Redis comes back empty and
// registering the node's members again fails at the beat that re-added
// the node, a later beat registers them (the node is in the register by
// then, so that beat alone would not have known).
func TestResyncRetriedAfterAFailure(t *testing.T) {
	srv := testsvc.StartRedis(t)
	c := open(t, srv.URL(), Options{Heartbeat: time.Hour}) // beats only when the test calls heartbeat
	ctx := bg(t)
	if _, err := c.Presence().Join(ctx, "go", "ann"); err != nil {
		t.Fatal(err)
	}
	if err := c.rdb.FlushAll(ctx).Err(); err != nil { // Redis lost everything
		t.Fatal(err)
	}
	hook := &failPipelines{}
	hook.n.Store(1)
	c.rdb.AddHook(hook)
	if err := c.heartbeat(ctx); err == nil {
		t.Fatal("the beat with the failing resync reported no error")
	}
	if err := c.heartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	members, err := c.Presence().Members(ctx, "go")
	if err != nil || !slices.Equal(members, []string{"ann"}) {
		t.Fatalf("members after the retried resync: %v, %v", members, err)
	}
}
