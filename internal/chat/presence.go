package chat

import (
	"context"
	"time"

	"github.com/parley-chat/parley/internal/broker"
	"github.com/parley-chat/parley/internal/store"
)

// Presence records which users are in which rooms across the nodes of a
// cluster. The hub calls Join when a user's first connection on this node
// enters a room and Leave when the user's last one here leaves it, one call
// at a time per room and user, in the order they happen.
type Presence interface {
	// Join records the user in room on this node; first reports whether no
	// node had the user there before.
	Join(ctx context.Context, room, user string) (first bool, err error)
	// Leave removes the user from room on this node; last reports whether
	// no node has the user there any more.
	Leave(ctx context.Context, room, user string) (last bool, err error)
	// Members lists the users in room on any node, each once.
	Members(ctx context.Context, room string) ([]string, error)
	// Rooms lists the rooms with members on any node, with user counts.
	Rooms(ctx context.Context) ([]RoomInfo, error)
}

// TypingThrottle is implemented by a Presence that can keep the typing
// throttle for the whole cluster, so a user typing on two nodes is still
// relayed at most once per interval. The hub asks it after its own
// (per node) throttle has let an event through.
type TypingThrottle interface {
	// AllowTyping reports whether a typing event of user in room may be
	// relayed now, and if so starts a new interval of length every. When
	// it cannot tell, it allows.
	AllowTyping(ctx context.Context, room, user string, every time.Duration) bool
}

// storeSource is the broker.Source over the message store.
type storeSource struct{ s store.Store }

func (src storeSource) Newest(ctx context.Context, room string) (int64, error) {
	msgs, err := src.s.History(ctx, room, 0, 1)
	if err != nil || len(msgs) == 0 {
		return 0, err
	}
	return msgs[0].ID, nil
}

func (src storeSource) After(ctx context.Context, room string, after int64, limit int) ([]broker.Event, error) {
	msgs, complete, err := src.s.Since(ctx, room, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]broker.Event, len(msgs))
	for i, m := range msgs {
		// The messages after `after` are consecutive, so each one's Prev is
		// known: the one before it, and `after` for the first when nothing
		// was left out (otherwise 0: unknown).
		var prev int64
		switch {
		case i > 0:
			prev = msgs[i-1].ID
		case complete:
			prev = after
		}
		out[i] = broker.Event{ID: m.ID, Prev: prev, Payload: EncodeNewMessage(m)}
	}
	return out, nil
}
