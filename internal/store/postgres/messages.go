package postgres

import (
	"context"
	"math"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/parley-chat/parley/internal/store"
)

// SaveMessages stores msgs in one transaction and fills in their ids in
// slice order; on any error nothing is stored and the ids are left as they
// were. It locks the rows of the batch's rooms (in name order) before
// drawing ids, so ids increase within a room in commit order across every
// node sharing the database. The whole transaction is one round trip.
func (s *Store) SaveMessages(ctx context.Context, msgs []store.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	rooms := make([]string, 0, 1)
	for _, m := range msgs {
		rooms = append(rooms, m.Room)
	}
	slices.Sort(rooms)
	rooms = slices.Compact(rooms)

	ids := make([]int64, len(msgs))
	last := make([]int64, len(rooms)) // each room's newest id before the batch
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for i, room := range rooms {
			b.Queue(`INSERT INTO rooms (name) VALUES ($1)
				ON CONFLICT (name) DO UPDATE SET last_id = rooms.last_id
				RETURNING last_id`, room).QueryRow(func(row pgx.Row) error {
				return row.Scan(&last[i])
			})
		}
		for i, m := range msgs {
			b.Queue(`INSERT INTO messages (room, sender, body, sent) VALUES ($1, $2, $3, $4) RETURNING id`,
				m.Room, m.From, m.Text, ms(m.Sent)).QueryRow(func(row pgx.Row) error {
				return row.Scan(&ids[i])
			})
		}
		for _, room := range rooms {
			b.Queue(`UPDATE rooms SET last_id = (SELECT MAX(id) FROM messages WHERE room = $1) WHERE name = $1`, room)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return wrap(ctx, err)
	}
	prev := make(map[string]int64, len(rooms))
	for i, room := range rooms {
		prev[room] = last[i]
	}
	for i := range msgs {
		msgs[i].ID, msgs[i].Prev = ids[i], prev[msgs[i].Room]
		prev[msgs[i].Room] = ids[i]
	}
	return nil
}

// History returns up to limit messages of room older than before (the
// newest when before <= 0), oldest first.
func (s *Store) History(ctx context.Context, room string, before int64, limit int) ([]store.Message, error) {
	if limit <= 0 {
		return []store.Message{}, nil
	}
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := s.pool.Query(ctx, `SELECT id, room, sender, body, sent FROM messages
		WHERE room = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, room, before, limit)
	if err != nil {
		return nil, wrap(ctx, err)
	}
	msgs, err := scanNewestFirst(rows)
	if err != nil {
		return nil, wrap(ctx, err)
	}
	return msgs, nil
}

// Since returns the newest limit messages of room with ids above since,
// oldest first, and whether they are all of them.
func (s *Store) Since(ctx context.Context, room string, since int64, limit int) ([]store.Message, bool, error) {
	if limit <= 0 {
		return []store.Message{}, false, nil
	}
	// One row more than asked tells whether anything was left out.
	rows, err := s.pool.Query(ctx, `SELECT id, room, sender, body, sent FROM messages
		WHERE room = $1 AND id > $2 ORDER BY id DESC LIMIT $3`, room, since, limit+1)
	if err != nil {
		return nil, false, wrap(ctx, err)
	}
	msgs, err := scanNewestFirst(rows)
	if err != nil {
		return nil, false, wrap(ctx, err)
	}
	if len(msgs) > limit {
		return msgs[1:], false, nil
	}
	return msgs, true, nil
}

// scanNewestFirst reads rows ordered newest first and returns them oldest
// first. It closes rows.
func scanNewestFirst(rows pgx.Rows) ([]store.Message, error) {
	defer rows.Close()
	msgs := []store.Message{}
	for rows.Next() {
		var m store.Message
		if err := rows.Scan(&m.ID, &m.Room, &m.From, &m.Text, &m.Sent); err != nil {
			return nil, err
		}
		m.Sent = m.Sent.UTC()
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Reverse(msgs)
	return msgs, nil
}
